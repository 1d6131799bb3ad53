"""Removal requests: intake, deadlines, review decisions, withdrawal, audit log, notifications."""
