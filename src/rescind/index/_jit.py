"""Numba compilation helpers and the few machine operations the index kernels need.

Kernels are compiled with ``nogil=True`` so several threads can search at once (a
single-query entry point keeps the GIL instead, see ``kernel``), and with
``cache=True`` so a process does not pay the JIT cost again. When no cache directory is
writable (read-only install and read-only home), numba refuses ``cache=True`` at decoration
time; we then compile without a cache rather than fail the import (:mod:`rescind.compiled`).

The intrinsics below are for use inside kernels only. They emit one LLVM operation each:
``ctpop``, ``cttz``, ``prefetch`` (into L2), a 32-lane vector compare (AVX-512 or AVX2 on
x86-64; LLVM lowers it to narrower instructions elsewhere) and an address-to-pointer cast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from llvmlite import ir  # type: ignore[import-untyped]
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from rescind.compiled import compile_cached

F = TypeVar("F", bound=Callable[..., Any])

# Lanes of ``lanes_within``: 32 partner chunks (64 bytes, one cache line's worth) per
# comparison: one AVX-512 instruction each where the CPU has AVX512-BITALG (the AMD EPYC
# machine), two AVX2 ones elsewhere; 16 lanes (the form before 2026-12-05) cost ~0.4 us more
# per clustered near-duplicate query there. Arrays it reads must have this many readable
# entries past the last one used (see ``segment.padded_vals``).
LANES = 32

_I1 = ir.IntType(1)
_I8P = ir.IntType(8).as_pointer()
_I16 = ir.IntType(16)
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)


def kernel(fn: F, *, nogil: bool = True) -> F:
    """Compile ``fn`` with numba in nopython mode, releasing the GIL, cached on disk if possible.

    ``nogil=False`` keeps the GIL for the call: right for calls of a few microseconds made by
    a thread that shares its process with other Python threads. Releasing the GIL lets any
    other runnable thread take it, and taking it back then waits until that thread lets go
    (up to the 5 ms switch interval): a convoy that costs far more than the call."""
    return compile_cached(fn, nogil=nogil)


def held_kernel(fn: F) -> F:
    """``kernel(fn, nogil=False)``: compiled, and holding the GIL while it runs."""
    return kernel(fn, nogil=False)


def _popcount(typingctx: Any, x: Any) -> Any:
    if x != types.uint64:
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


# Number of set bits of an unsigned 64-bit integer (one instruction).
popcount: Any = intrinsic(_popcount)


def _trailing_zeros(typingctx: Any, x: Any) -> Any:
    if x != types.uint64:
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        fnty = ir.FunctionType(_I64, [_I64, _I1])
        fn = cgutils.get_or_insert_function(  # type: ignore[no-untyped-call]
            builder.module, fnty, "llvm.cttz.i64"
        )
        return builder.call(fn, [args[0], ir.Constant(_I1, 1)])

    return types.int64(types.uint64), codegen


# Index of the lowest set bit of a non-zero unsigned 64-bit integer.
trailing_zeros: Any = intrinsic(_trailing_zeros)


def _prefetch(typingctx: Any, arr: Any, index: Any) -> Any:
    if not isinstance(arr, types.Array) or arr.ndim != 1 or not isinstance(index, types.Integer):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        address = builder.bitcast(builder.gep(ary.data, [args[1]]), _I8P)
        fnty = ir.FunctionType(ir.VoidType(), [_I8P, _I32, _I32, _I32])
        fn = cgutils.get_or_insert_function(  # type: ignore[no-untyped-call]
            builder.module, fnty, "llvm.prefetch.p0"
        )
        # read, locality 2 (x86 prefetcht1: into L2, not L1), data cache. The L1 tracks few
        # misses at once; sent to L2, the ~800 lines of a clustered query are all in flight:
        # measured on the AMD EPYC machine, a 1M random query 9.8 -> 7.0 us, a clustered
        # near-duplicate 20.5 -> 17.3 us (prefetcht0, the form before, put them in L1)
        builder.call(fn, [address, _I32(0), _I32(2), _I32(1)])
        return context.get_dummy_value()

    return types.void(arr, index), codegen


# Ask for the cache line holding ``arr[index]`` (1-D, C-contiguous) without waiting for it. A
# hint: it never faults, so an index past the end is harmless.
prefetch: Any = intrinsic(_prefetch)


def _splat(builder: Any, value: Any, vty: Any) -> Any:
    undef = ir.Constant(vty, ir.Undefined)
    one = builder.insert_element(undef, value, _I32(0))
    return builder.shuffle_vector(one, undef, ir.Constant(ir.VectorType(_I32, vty.count), None))


def _lanes_within(typingctx: Any, arr: Any, index: Any, query: Any, low: Any, span: Any) -> Any:
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.dtype == types.uint16):
        return None
    if not all(isinstance(t, types.Integer) for t in (index, query, low, span)):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        vty = ir.VectorType(_I16, LANES)
        address = builder.bitcast(builder.gep(ary.data, [args[1]]), vty.as_pointer())
        chunks = builder.load(address, align=2)
        query16 = _splat(builder, builder.trunc(args[2], _I16), vty)
        fn = cgutils.get_or_insert_function(  # type: ignore[no-untyped-call]
            builder.module, ir.FunctionType(vty, [vty]), f"llvm.ctpop.v{LANES}i16"
        )
        dist = builder.call(fn, [builder.xor(chunks, query16)])
        # low <= dist <= low + span, as one unsigned comparison
        above = builder.sub(dist, _splat(builder, builder.trunc(args[3], _I16), vty))
        inside = builder.icmp_unsigned(
            "<=", above, _splat(builder, builder.trunc(args[4], _I16), vty)
        )
        return builder.zext(builder.bitcast(inside, ir.IntType(LANES)), _I64)

    sig = types.uint64(arr, index, query, low, span)
    return sig, codegen


# Bit k of the result is set iff ``low <= popcount(arr[index + k] ^ query) <= low + span`` for
# k < LANES, where ``arr`` is 1-D uint16 and ``query`` holds a 16-bit value: one vector load,
# xor, popcount and compare for 32 partner chunks. Reads ``arr[index : index + LANES]``
# whatever the caller uses of it.
lanes_within: Any = intrinsic(_lanes_within)


def _address_as_pointer(typingctx: Any, address: Any) -> Any:
    if address != types.int64:
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.inttoptr(args[0], _I8P)

    return types.voidptr(types.int64), codegen


# The memory at an address, for ``numba.carray(pointer, shape, dtype)``. Only for addresses of
# arrays that the caller keeps alive for the whole kernel call (see ``plan.SearchPlan``).
address_as_pointer: Any = intrinsic(_address_as_pointer)
