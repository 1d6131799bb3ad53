"""Platform integration: registry, check, banks, sweep, actions and webhooks."""
