"""Numba compilation shared by the pure libraries (:mod:`rescind.index`, :mod:`rescind.media`).

Functions are compiled in nopython mode and cached on disk, so a process does not pay the JIT
cost again. When no cache directory is writable (read-only install and read-only home), numba
refuses ``cache=True`` at decoration time; they are then compiled per process rather than fail
the import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., Any])


def compile_cached(fn: F, *, nogil: bool = True) -> F:
    """``fn`` compiled by numba (nopython), releasing the GIL unless ``nogil=False``, cached
    on disk when possible."""
    try:
        return cast(F, numba.njit(nogil=nogil, cache=True)(fn))
    except RuntimeError:
        # "cannot cache function ...: no locator available": nowhere writable to cache.
        return cast(F, numba.njit(nogil=nogil)(fn))
