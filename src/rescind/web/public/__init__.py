"""Public pages: the removal request form and the requester's status page (no account)."""
