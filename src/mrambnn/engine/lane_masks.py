"""A 32-lane range test that gives its answer as the bits of one word, as a numba
intrinsic (LLVM IR): a conv layer's output bits, packed as they are computed.

A loop in numba compares one element at a time and shifts each answer into its word;
here one vector compare per bound gives a ``<32 x i1>`` mask, which LLVM keeps in a mask
register where the CPU has AVX-512 and builds with plain vector code elsewhere.

Every array given must have 32 elements from its start index (callers pad their
buffers); nothing is bounds-checked.
"""

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["between_bits"]

_LANES = 32


def _block(context, builder, array_type, array, start):  # type: ignore[no-untyped-def]
    data = context.make_array(array_type)(context, builder, array).data
    lane = context.get_data_type(array_type.dtype)
    pointer = builder.bitcast(builder.gep(data, [start]),
                              ir.VectorType(lane, _LANES).as_pointer())
    return builder.load(pointer, align=1)


@intrinsic
def between_bits(typingctx, values, start, lo, lo_start, hi, hi_start
                 ):  # type: ignore[no-untyped-def]
    """between_bits(values, start, lo, lo_start, hi, hi_start) -> uint32 word, bit q set
    where ``lo[lo_start + q] <= values[start + q] <= hi[hi_start + q]`` (q < 32; three
    arrays of one signed integer type)."""
    arrays = (values, lo, hi)
    if not all(isinstance(a, types.Array) and isinstance(a.dtype, types.Integer)
               and a.dtype.signed and a.dtype == values.dtype for a in arrays):
        return None
    sig = types.uint32(values, types.intp, lo, types.intp, hi, types.intp)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        v = _block(context, builder, signature.args[0], args[0], args[1])
        low = _block(context, builder, signature.args[2], args[2], args[3])
        high = _block(context, builder, signature.args[4], args[4], args[5])
        inside = builder.and_(builder.icmp_signed(">=", v, low),
                              builder.icmp_signed("<=", v, high))
        return builder.bitcast(inside, ir.IntType(_LANES))

    return sig, codegen
