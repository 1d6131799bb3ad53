"""Numba compilation helpers shared by the index kernels.

Kernels are compiled with ``nogil=True`` so several threads can search at once, and with
``cache=True`` so a process does not pay the JIT cost again. When no cache directory is
writable (read-only install and read-only home), numba refuses ``cache=True`` at decoration
time; we then compile without a cache rather than fail the import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
from numba import types
from numba.extending import intrinsic

F = TypeVar("F", bound=Callable[..., Any])


def kernel(fn: F) -> F:
    """Compile ``fn`` with numba in nopython mode, releasing the GIL, cached on disk if possible."""
    try:
        return cast(F, numba.njit(nogil=True, cache=True)(fn))
    except RuntimeError:
        # "cannot cache function ...: no locator available": nowhere writable to cache.
        return cast(F, numba.njit(nogil=True)(fn))


def _popcount(typingctx: Any, x: Any) -> Any:
    if x != types.uint64:
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


# Number of set bits of an unsigned 64-bit integer (LLVM ``ctpop``: one instruction), for use
# inside kernels only.
popcount: Any = intrinsic(_popcount)
