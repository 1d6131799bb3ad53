"""The reviewer console (`/console`): sign-in, queue, case pages, decisions, audit log."""
