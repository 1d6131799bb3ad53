"""Rescind: take down non-consensual intimate imagery and keep it down."""

__version__ = "0.1.0"
