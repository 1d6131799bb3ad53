"""Errors a caller of the index can cause, as typed exceptions (all are ``ValueError``)."""

from __future__ import annotations


class HammingIndexError(ValueError):
    """Base class of every error raised by :mod:`rescind.index` for bad input or files."""


class InvalidHashError(HammingIndexError):
    """A hash is not 64 hex characters, or an array is not ``uint8`` of shape ``(n, 32)``."""


class InvalidIdError(HammingIndexError):
    """Ids are not int64 integers, or their count does not match the hashes."""


class InvalidRadiusError(HammingIndexError):
    """The radius is not an integer between 0 and 256."""


class IndexFileError(HammingIndexError):
    """An index file is missing, truncated, corrupt, or of another format or version."""
