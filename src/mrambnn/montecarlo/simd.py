"""32-lane vector steps for the compiled kernels, as numba intrinsics (LLVM IR).

Each handles 32 consecutive elements of an integer array at once, with a 32-bit word as
a mask: one bit per element. LLVM turns the ``<32 x i1>`` masks into the CPU's mask
registers where it has them (AVX-512: one compare or one masked blend per 32 elements)
and into plain vector code elsewhere, so the results do not depend on the CPU.

Loops written in numba cannot express these: a compare gives one byte per element and
packing the bytes into bits, or expanding bits into elements, costs several instructions
per element. Bit-packed weight columns are also 8x smaller than int8 ones, so the
weights of a wide network stay in the core's cache.

Every array given must have 32 elements from its start index (the callers pad to a
multiple of 32); nothing is bounds-checked. The start indices let a kernel address one
flat array instead of taking a slice: a slice of an array shared between threads updates
its reference count, one cache line that the cores would pass back and forth.
"""

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["add_signed_bits", "copy_lanes", "sign_changed_bits", "within_bits"]

_LANES = 32


def _block(context, builder, array_type, array, start):  # type: ignore[no-untyped-def]
    """Pointer to the 32 elements array[start:start + 32], as one vector."""
    data = context.make_array(array_type)(context, builder, array).data
    element = builder.gep(data, [start])
    lane = context.get_data_type(array_type.dtype)
    return builder.bitcast(element, ir.VectorType(lane, _LANES).as_pointer())


def _mask(builder, word):  # type: ignore[no-untyped-def]
    return builder.bitcast(word, ir.VectorType(ir.IntType(1), _LANES))


def _bits(builder, mask):  # type: ignore[no-untyped-def]
    return builder.bitcast(mask, ir.IntType(_LANES))


@intrinsic
def add_signed_bits(typingctx, values, start, word):  # type: ignore[no-untyped-def]
    """``values[start + q] += 2`` where bit q of the uint32 ``word`` is set, else ``-= 2``
    (q < 32): a +-1 weight column, bit-packed, added twice to signed integers."""
    if not (isinstance(values, types.Array) and isinstance(values.dtype, types.Integer)):
        return None
    sig = types.void(values, types.intp, types.uint32)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        array, first, bits = args
        pointer = _block(context, builder, signature.args[0], array, first)
        vector_type = pointer.type.pointee
        current = builder.load(pointer, align=1)
        plus = ir.Constant(vector_type, [2] * _LANES)
        minus = ir.Constant(vector_type, [-2] * _LANES)
        step = builder.select(_mask(builder, bits), plus, minus)
        builder.store(builder.add(current, step), pointer, align=1)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def copy_lanes(typingctx, target, target_start, source, source_start
               ):  # type: ignore[no-untyped-def]
    """``target[target_start:][:32] = source[source_start:][:32]`` (the same type)."""
    if not (isinstance(target, types.Array) and target.dtype == getattr(source, "dtype", None)):
        return None
    sig = types.void(target, types.intp, source, types.intp)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        array, first, other, other_first = args
        value = builder.load(
            _block(context, builder, signature.args[2], other, other_first), align=1)
        builder.store(value, _block(context, builder, signature.args[0], array, first),
                      align=1)
        return context.get_dummy_value()

    return sig, codegen


def _pair_mask(name: str, combine, doc: str):  # type: ignore[no-untyped-def]
    """An intrinsic ``name(values, start, other, other_start) -> uint32``: bit q is
    ``combine(builder, values block, other block)`` lane q (two arrays of one integer
    type, 32 elements from each start)."""

    def typer(typingctx, values, start, other, other_start):  # type: ignore[no-untyped-def]
        if not (isinstance(values, types.Array) and isinstance(values.dtype, types.Integer)
                and values.dtype == getattr(other, "dtype", None)):
            return None
        sig = types.uint32(values, types.intp, other, types.intp)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            array, first, second, second_first = args
            v = builder.load(_block(context, builder, signature.args[0], array, first),
                             align=1)
            o = builder.load(
                _block(context, builder, signature.args[2], second, second_first), align=1)
            return _bits(builder, combine(builder, v, o))

        return sig, codegen

    typer.__name__ = typer.__qualname__ = name
    typer.__doc__ = doc
    return intrinsic(typer)


def _within(builder, v, bound):  # type: ignore[no-untyped-def]
    zero = ir.Constant(bound.type, [0] * _LANES)
    return builder.and_(builder.icmp_signed("<=", v, bound),
                        builder.icmp_signed(">=", v, builder.sub(zero, bound)))


def _sign_changed(builder, v, clean):  # type: ignore[no-untyped-def]
    zero = ir.Constant(v.type, [0] * _LANES)
    return builder.xor(builder.icmp_signed("<", v, zero), builder.icmp_signed("<", clean, zero))


within_bits = _pair_mask("within_bits", _within, """within_bits(values, start, bounds,
bounds_start) -> uint32 word, bit q set where ``|values[start + q]| <=
bounds[bounds_start + q]`` (q < 32; a negative bound sets no bit).""")

sign_changed_bits = _pair_mask("sign_changed_bits", _sign_changed, """sign_changed_bits(
values, start, clean, clean_start) -> uint32 word, bit q set where ``values[start + q]``
and ``clean[clean_start + q]`` are on different sides of zero (``>= 0`` against ``< 0``).""")
