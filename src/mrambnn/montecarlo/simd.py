"""Vector steps for the compiled kernels, as numba intrinsics (LLVM IR).

Each handles 32 consecutive elements of an integer array at once (64 or 128 for the
wider column adds), with a 32-bit word as a mask: one bit per element. LLVM turns the
``<32 x i1>`` masks into the CPU's mask registers where it has them (AVX-512: one compare
or one masked blend per 32 elements) and into plain vector code elsewhere, so the results
do not depend on the CPU. One step is AVX-512 only, `compress_bits` (the set bits of a
word as indices); kernels call it where `COMPRESS` says the CPU has it, a scalar loop with
the same results elsewhere.

Loops written in numba cannot express these: a compare gives one byte per element and
packing the bytes into bits, or expanding bits into elements, costs several instructions
per element. Bit-packed weight columns are also 8x smaller than int8 ones, so the
weights of a wide network stay in the core's cache.

Every array given must have the step's elements from its start index (the callers pad to
a multiple of 32, and keep 16 spare elements after a compress); nothing is bounds-checked.
The start indices let a kernel address one flat array instead of taking a slice: a slice
of an array shared between threads updates its reference count, one cache line that the
cores would pass back and forth.
"""

from llvmlite import binding, ir
from numba import types
from numba.core import cgutils, config
from numba.extending import intrinsic

from mrambnn.engine.register_tiles import broadcast

__all__ = ["COMPRESS", "add_columns", "add_columns_saturating", "add_columns_saturating_32",
           "add_columns_wide",
           "compress_bits", "reach_bits", "sign_changed_bits"]

_LANES = 32


def _bits(builder, mask):  # type: ignore[no-untyped-def]
    return builder.bitcast(mask, ir.IntType(_LANES))


def _block(context, builder, array_type, array, start, lanes=_LANES
           ):  # type: ignore[no-untyped-def]
    """Pointer to the ``lanes`` elements array[start:start + lanes], as one vector."""
    data = context.make_array(array_type)(context, builder, array).data
    element = builder.gep(data, [start])
    lane = context.get_data_type(array_type.dtype)
    return builder.bitcast(element, ir.VectorType(lane, lanes).as_pointer())


def _add_columns(lanes: int, name: str, saturating: bool = False
                 ):  # type: ignore[no-untyped-def]
    """The `add_columns` intrinsic for ``lanes`` (a multiple of 32) elements; where
    ``saturating``, the columns' sum is added to the clean values last, saturating."""
    word_type = ir.IntType(lanes)

    def typer(typingctx, values, start, clean, clean_start, columns, column_starts, inverts,
              count, word):  # type: ignore[no-untyped-def]
        if not (isinstance(values, types.Array) and isinstance(values.dtype, types.Integer)
                and values.dtype == getattr(clean, "dtype", None)):
            return None
        sig = types.void(values, types.intp, clean, types.intp, columns, column_starts,
                         inverts, types.intp, types.intp)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            target, first, source, source_first, words, word_starts, flips, n, q = args
            vector_type = _block(context, builder, signature.args[0], target, first,
                                 lanes).type.pointee
            lane = vector_type.element
            initial = builder.load(_block(context, builder, signature.args[2], source,
                                          source_first, lanes), align=1)
            # clean - 2 count (or - 2 count alone), then +4 where a column's bit is set
            twice = builder.mul(builder.trunc(n, lane), ir.Constant(lane, 2))
            base = builder.sub(ir.Constant(vector_type, [0] * lanes) if saturating
                               else initial, broadcast(builder, twice, vector_type))
            word_data = context.make_array(signature.args[4])(context, builder, words).data
            start_data = context.make_array(signature.args[5])(context, builder,
                                                               word_starts).data
            flip_data = context.make_array(signature.args[6])(context, builder, flips).data
            entry = builder.block
            loop = builder.append_basic_block("columns")
            done = builder.append_basic_block("columns_done")
            zero = ir.Constant(n.type, 0)
            builder.cbranch(builder.icmp_signed(">", n, zero), loop, done)
            builder.position_at_end(loop)
            t = builder.phi(n.type)
            sums = builder.phi(vector_type)
            t.add_incoming(zero, entry)
            sums.add_incoming(base, entry)
            at = builder.add(builder.load(builder.gep(start_data, [t])), q)
            # the column's words q, q + 1, ... as one integer (little-endian); an invert
            # word of all ones stays all ones when widened
            column = builder.load(builder.bitcast(builder.gep(word_data, [at]),
                                                  word_type.as_pointer()), align=4)
            invert = builder.sext(builder.load(builder.gep(flip_data, [t])), word_type)
            bits = builder.xor(column, invert)
            four = ir.Constant(vector_type, [4] * lanes)
            nothing = ir.Constant(vector_type, [0] * lanes)
            mask = builder.bitcast(bits, ir.VectorType(ir.IntType(1), lanes))
            added = builder.add(sums, builder.select(mask, four, nothing))
            following = builder.add(t, ir.Constant(n.type, 1))
            t.add_incoming(following, loop)
            sums.add_incoming(added, loop)
            builder.cbranch(builder.icmp_signed("<", following, n), loop, done)
            builder.position_at_end(done)
            result = builder.phi(vector_type)
            result.add_incoming(base, entry)
            result.add_incoming(added, loop)
            if saturating:
                add = cgutils.get_or_insert_function(
                    builder.module, ir.FunctionType(vector_type, [vector_type, vector_type]),
                    f"llvm.sadd.sat.v{lanes}i{lane.width}")
                result = builder.call(add, [initial, result])
            builder.store(result, _block(context, builder, signature.args[0], target, first,
                                         lanes), align=1)
            return context.get_dummy_value()

        return sig, codegen

    typer.__name__ = typer.__qualname__ = name
    return typer


add_columns = intrinsic(_add_columns(_LANES, "add_columns"))
add_columns.__doc__ = """add_columns(values, start, clean, clean_start, columns, column_starts,
inverts, count, word): ``values[start + q] = clean[clean_start + q] + sum_t (+2 if bit q of
columns[column_starts[t] + word] ^ inverts[t] is set, else -2)`` over t < ``count`` (q <
32): ``count`` bit-packed +-1 weight columns (uint32 words), each inverted where
``inverts[t]`` is all ones, added twice to signed integers. The 32 sums stay in one
vector register while the columns are added (one masked add each)."""

add_columns_wide = intrinsic(_add_columns(2 * _LANES, "add_columns_wide"))
add_columns_wide.__doc__ = """add_columns_wide(...): `add_columns` for 64 elements at once,
from the column words ``word`` and ``word + 1`` (one 64-bit load, one mask per column;
the inverts are uint32, all ones or zero)."""

add_columns_saturating = intrinsic(_add_columns(4 * _LANES, "add_columns_saturating", True))
add_columns_saturating_32 = intrinsic(_add_columns(_LANES, "add_columns_saturating_32", True))
add_columns_saturating.__doc__ = """add_columns_saturating(...): `add_columns` for 128 elements
(words ``word`` to ``word + 3``) whose column sum, at most 2 ``count`` either way, fits the
lanes (int8: ``count`` <= 31), added to the clean values saturating: where those are the
margins clipped to the lane type, each new sign is exact and a new value of size
below the type's limit too. `add_columns_saturating_32`: the same for 32 elements."""


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


def _reach(builder, v, bound):  # type: ignore[no-untyped-def]
    zero = ir.Constant(bound.type, [0] * _LANES)
    return builder.and_(builder.icmp_signed("<", v, bound),
                        builder.icmp_signed(">=", v, builder.sub(zero, bound)))


def _sign_changed(builder, v, clean):  # type: ignore[no-untyped-def]
    zero = ir.Constant(v.type, [0] * _LANES)
    return builder.xor(builder.icmp_signed("<", v, zero), builder.icmp_signed("<", clean, zero))


reach_bits = _pair_mask("reach_bits", _reach, """reach_bits(values, start, bounds,
bounds_start) -> uint32 word, bit q set where ``-bounds[bounds_start + q] <= values[start +
q] < bounds[bounds_start + q]`` (q < 32; a bound <= 0 sets no bit): the values whose sign a
change of at most the bound, either way, can turn (from >= 0 below 0 needs a value under
the bound; from < 0 to >= 0, one of at least minus the bound).""")

sign_changed_bits = _pair_mask("sign_changed_bits", _sign_changed, """sign_changed_bits(
values, start, clean, clean_start) -> uint32 word, bit q set where ``values[start + q]``
and ``clean[clean_start + q]`` are on different sides of zero (``>= 0`` against ``< 0``).""")


def _target_has(feature: str) -> bool:
    """Whether the CPU numba compiles for has ``feature`` (LLVM's name): the host's, or
    ``NUMBA_CPU_FEATURES`` where ``NUMBA_CPU_NAME`` is set."""
    if getattr(config, "CPU_NAME", None):
        return f"+{feature}" in (getattr(config, "CPU_FEATURES", None) or "").split(",")
    return bool(binding.get_host_cpu_features().get(feature, False))


# AVX-512's compress (register form): the set bits of a mask word as indices, 16 per
# instruction, no branch. Elsewhere the kernels use a scalar loop (same results).
COMPRESS = _target_has("avx512f")


@intrinsic
def compress_bits(typingctx, word, base, found, count):  # type: ignore[no-untyped-def]
    """compress_bits(word, base, found, count) -> count + popcount(word): ``base + q`` for
    each set bit q of the uint32 ``word``, ascending, written to the int32 array ``found``
    from ``count`` on. 16 elements are stored per half word whatever its bits, so
    ``found`` needs 16 elements past the last index written. Only where `COMPRESS`."""
    if not (isinstance(found, types.Array) and found.dtype == types.int32):
        return None
    sig = types.intp(types.uint32, types.intp, found, types.intp)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        bits, first, array, n = args
        i32 = ir.IntType(32)
        vector_type = ir.VectorType(i32, 16)
        mask_type = ir.VectorType(ir.IntType(1), 16)
        compress = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vector_type, [vector_type, vector_type, mask_type]),
            "llvm.x86.avx512.mask.compress.v16i32")
        data = context.make_array(signature.args[2])(context, builder, array).data
        bits = builder.zext(bits, ir.IntType(32))
        start = builder.trunc(first, i32)
        zero = ir.Constant(vector_type, [0] * 16)
        for half in range(2):
            half_bits = builder.trunc(builder.lshr(bits, ir.Constant(i32, 16 * half)),
                                      ir.IntType(16))
            lanes = builder.add(broadcast(builder, start, vector_type),
                                ir.Constant(vector_type, list(range(16 * half, 16 * half + 16))))
            packed = builder.call(compress, [lanes, zero,
                                             builder.bitcast(half_bits, mask_type)])
            target = builder.bitcast(builder.gep(data, [n]), vector_type.as_pointer())
            builder.store(packed, target, align=4)
            n = builder.add(n, builder.zext(builder.ctpop(half_bits), n.type))
        return n

    return sig, codegen
