"""Register-blocked tiles of a conv layer's sums, as numba intrinsics (LLVM IR).

A tile sums, for ``P`` output pixels and ``V`` vectors of consecutive filters at once,
one term per patch element (t < n_terms) into ``P x V`` accumulator vectors that stay
in registers for the whole patch: each weight vector loaded serves the P pixels and each
input loaded (and broadcast to every lane) serves the V vectors of filters. Loops
written in numba keep such accumulators in memory, a load and a store per term; here the
work per patch element is V + P loads and two or three vector operations per
accumulator. Two kinds:

- `make_popcount_tile`: binary layers, ``popcount(x XOR w)`` of packed 64-bit words,
  eight filters per vector. The popcount is LLVM's ``ctpop`` on ``<8 x i64>``: one
  VPOPCNTQ where the CPU has AVX-512 VPOPCNTDQ, otherwise the best sequence LLVM knows
  for the host (numba compiles for the host CPU).
- `make_masked_sum_tile`: the first layer, 16-bit integer pixels summed where a +-1
  weight is +1, sixteen filters per vector, the signs given as the bits of a 16-bit
  word: one masked add per accumulator (with AVX-512; an AND and an add elsewhere), and
  one scalar add per pixel for the sum of all inputs S; the tile stores 2 P - S.

The code is the same on every CPU and the sums are exact integers. Nothing is
bounds-checked: the caller guarantees every address it names exists.
"""

from collections.abc import Callable

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["BITS_PER_WORD_LANE", "MASKED_LANES", "WORD_LANES", "broadcast",
           "make_popcount_tile", "make_masked_sum_tile"]

WORD_LANES = 8  # filters per vector of a popcount tile: 64-bit lanes
MASKED_LANES = 16  # filters per vector of a masked-sum tile: 16-bit lanes
BITS_PER_WORD_LANE = 64
_I32 = ir.IntType(32)


def _data(context, builder, array_type, array):  # type: ignore[no-untyped-def]
    return context.make_array(array_type)(context, builder, array).data


def _intrinsic_function(builder, name: str, vector_type):  # type: ignore[no-untyped-def]
    existing = builder.module.globals.get(name)
    if existing is not None:
        return existing
    return ir.Function(builder.module, ir.FunctionType(vector_type, [vector_type]), name=name)


def broadcast(builder, scalar, vector_type):  # type: ignore[no-untyped-def]
    """LLVM IR: the vector of ``vector_type`` with ``scalar`` in every lane."""
    undef = ir.Constant(vector_type, ir.Undefined)
    one = builder.insert_element(undef, scalar, ir.Constant(_I32, 0))
    mask = ir.Constant(ir.VectorType(_I32, vector_type.count), [0] * vector_type.count)
    return builder.shuffle_vector(one, undef, mask)


def _tile_codegen(n_pixels: int, n_vectors: int, vector_type,  # type: ignore[no-untyped-def]
                  load_weight: Callable, update: Callable, store_type, signed: bool = False,
                  bounded: bool = False, filters_per_start: int = 1):
    """Codegen of ``tile(sums, sums_start, sums_stride, x, x_start, x_step, offsets, w,
    w_start, w_stride, n_terms)``: accumulators ``vector_type``, ``load_weight(builder,
    w_ptr, index, v)`` the v-th weight operand of the row starting at ``index``,
    ``update(builder, acc, spread_x, weight)`` one term, sums stored as ``store_type``
    vectors; ``signed``: each pixel's inputs are also summed (S, a scalar) and the
    stored sums are 2 acc - S. ``bounded``: four more arguments ``lo, hi, tables,
    tables_start``, and instead of its sums each pixel p stores its bits
    ``lo[b + l] <= sum <= hi[b + l]`` (b = ``tables[tables_start + p] + w_start *
    filters_per_start``, lanes l of vector v at b + lanes * v), one bit per lane, into
    the uint8 array ``sums``
    (vector v's ``lanes / 8`` bytes at ``sums_start + p sums_stride + lanes / 8 v``)."""

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        (sums, sums_start, sums_stride, x, x_start, x_step, offsets, w, w_start, w_stride,
         n_terms) = args[:11]
        sums_ptr = _data(context, builder, signature.args[0], sums)
        x_ptr = _data(context, builder, signature.args[3], x)
        offsets_ptr = _data(context, builder, signature.args[6], offsets)
        w_ptr = _data(context, builder, signature.args[7], w)
        zero = ir.Constant(vector_type, None)

        entry = builder.block
        loop = builder.append_basic_block("tile_loop")
        done = builder.append_basic_block("tile_done")
        builder.cbranch(builder.icmp_signed(">", n_terms, ir.Constant(n_terms.type, 0)),
                        loop, done)

        builder.position_at_end(loop)
        t = builder.phi(n_terms.type)
        t.add_incoming(ir.Constant(n_terms.type, 0), entry)
        accs = [[builder.phi(vector_type) for _ in range(n_vectors)]
                for _ in range(n_pixels)]
        for row in accs:
            for acc in row:
                acc.add_incoming(zero, entry)
        element = vector_type.element
        totals = [builder.phi(element) for _ in range(n_pixels)] if signed else []
        for total in totals:
            total.add_incoming(ir.Constant(element, 0), entry)
        offset = builder.load(builder.gep(offsets_ptr, [t]))
        row_start = builder.add(builder.mul(t, w_stride), w_start)
        weights = [load_weight(builder, w_ptr, row_start, v) for v in range(n_vectors)]
        updated, new_totals = [], []
        for p in range(n_pixels):
            index = builder.add(builder.add(x_start, offset),
                                builder.mul(x_step, ir.Constant(x_step.type, p)))
            value = builder.load(builder.gep(x_ptr, [index]))
            if signed:
                new_totals.append(builder.add(totals[p], value))
            spread = broadcast(builder, value, vector_type)
            updated.append([update(builder, accs[p][v], spread, weights[v])
                            for v in range(n_vectors)])
        t_next = builder.add(t, ir.Constant(t.type, 1))
        body_end = builder.block
        t.add_incoming(t_next, body_end)
        for p in range(n_pixels):
            for v in range(n_vectors):
                accs[p][v].add_incoming(updated[p][v], body_end)
        for total, new in zip(totals, new_totals, strict=True):
            total.add_incoming(new, body_end)
        builder.cbranch(builder.icmp_signed("<", t_next, n_terms), loop, done)

        builder.position_at_end(done)
        finals = []
        for p in range(n_pixels):
            for v in range(n_vectors):
                final = builder.phi(vector_type)
                final.add_incoming(zero, entry)
                final.add_incoming(updated[p][v], body_end)
                finals.append((p, v, final))
        sums_of_inputs = []
        for p in range(len(totals)):
            final_total = builder.phi(element)
            final_total.add_incoming(ir.Constant(element, 0), entry)
            final_total.add_incoming(new_totals[p], body_end)
            sums_of_inputs.append(final_total)
        if bounded:
            lo_ptr = _data(context, builder, signature.args[11], args[11])
            hi_ptr = _data(context, builder, signature.args[12], args[12])
            tables_ptr = _data(context, builder, signature.args[13], args[13])
            bound_type = ir.VectorType(context.get_data_type(signature.args[11].dtype),
                                       vector_type.count)
            mask_type = ir.IntType(vector_type.count)
        for p, v, final in finals:
            if signed:  # 2 P - S
                final = builder.sub(builder.add(final, final),
                                    broadcast(builder, sums_of_inputs[p], vector_type))
            if bounded:
                start = builder.add(builder.load(builder.gep(tables_ptr, [builder.add(
                    args[14], ir.Constant(args[14].type, p))])), builder.mul(
                        w_start, ir.Constant(w_start.type, filters_per_start)))
                start = builder.add(start, ir.Constant(start.type, v * vector_type.count))
                low, high = (builder.load(builder.bitcast(builder.gep(pointer, [start]),
                                                          bound_type.as_pointer()), align=1)
                             for pointer in (lo_ptr, hi_ptr))
                if bound_type != vector_type:
                    low, high = builder.sext(low, vector_type), builder.sext(high, vector_type)
                inside = builder.and_(builder.icmp_signed(">=", final, low),
                                      builder.icmp_signed("<=", final, high))
                index = builder.add(
                    builder.add(sums_start, builder.mul(sums_stride,
                                                        ir.Constant(sums_stride.type, p))),
                    ir.Constant(sums_start.type, v * vector_type.count // 8))
                address = builder.bitcast(builder.gep(sums_ptr, [index]),
                                          mask_type.as_pointer())
                builder.store(builder.bitcast(inside, mask_type), address, align=1)
                continue
            index = builder.add(
                builder.add(sums_start, builder.mul(sums_stride,
                                                    ir.Constant(sums_stride.type, p))),
                ir.Constant(sums_start.type, v * vector_type.count))
            address = builder.bitcast(builder.gep(sums_ptr, [index]),
                                      store_type.as_pointer())
            value = final if store_type == vector_type else builder.trunc(final, store_type)
            builder.store(value, address, align=1)
        return context.get_dummy_value()

    return codegen


def _make(name: str, sums_dtype, x_dtype, w_dtype, codegen,  # type: ignore[no-untyped-def]
          bound_dtype=None):
    def operands_fit(sums, x, offsets, w) -> bool:  # type: ignore[no-untyped-def]
        return (isinstance(sums, types.Array) and sums.dtype == sums_dtype
                and isinstance(x, types.Array) and x.dtype == x_dtype
                and isinstance(w, types.Array) and w.dtype == w_dtype
                and isinstance(offsets, types.Array) and offsets.dtype == types.int64)

    def typer(typingctx, sums, sums_start, sums_stride, x, x_start, x_step, offsets, w,
              w_start, w_stride, n_terms):  # type: ignore[no-untyped-def]
        if not operands_fit(sums, x, offsets, w):
            return None
        sig = types.void(sums, types.intp, types.intp, x, types.intp, types.intp, offsets,
                         w, types.intp, types.intp, types.intp)
        return sig, codegen

    def bounded_typer(typingctx, sums, sums_start, sums_stride, x, x_start, x_step,
                      offsets, w, w_start, w_stride, n_terms, lo, hi, tables, tables_start
                      ):  # type: ignore[no-untyped-def]
        if not (operands_fit(sums, x, offsets, w)
                and all(isinstance(b, types.Array) for b in (lo, hi, tables))
                and lo.dtype == bound_dtype and hi.dtype == bound_dtype
                and tables.dtype == types.int64):
            return None
        sig = types.void(sums, types.intp, types.intp, x, types.intp, types.intp, offsets,
                         w, types.intp, types.intp, types.intp, lo, hi, tables, types.intp)
        return sig, codegen

    chosen = typer if bound_dtype is None else bounded_typer
    chosen.__name__ = chosen.__qualname__ = name
    return intrinsic(chosen)


def make_popcount_tile(n_pixels: int, n_vectors: int, *,  # type: ignore[no-untyped-def]
                       bounded: bool = False):
    """The intrinsic ``tile(sums, sums_start, sums_stride, x, x_start, x_step, offsets, w,
    w_start, w_stride, n_terms)`` for P = ``n_pixels`` pixels and 8 V = 8 ``n_vectors``
    filters: for p < P and lane l < 8 V,
    ``sums[sums_start + p sums_stride + l] = sum over t < n_terms of
    popcount(x[x_start + p x_step + offsets[t]] XOR w[w_start + t w_stride + l])``
    (sums int32, x and w uint64, offsets int64, all one-dimensional). ``bounded``: the
    tile takes ``lo, hi`` (int32), ``tables, tables_start`` and stores bits into uint8
    ``sums`` instead (`_tile_codegen`)."""
    vector = ir.VectorType(ir.IntType(64), WORD_LANES)

    def load_weight(builder, w_ptr, row_start, v):  # type: ignore[no-untyped-def]
        index = builder.add(row_start, ir.Constant(row_start.type, v * WORD_LANES))
        return builder.load(builder.bitcast(builder.gep(w_ptr, [index]),
                                            vector.as_pointer()), align=8)

    def update(builder, acc, spread, weight):  # type: ignore[no-untyped-def]
        ctpop = _intrinsic_function(builder, f"llvm.ctpop.v{WORD_LANES}i64", vector)
        return builder.add(acc, builder.call(ctpop, [builder.xor(spread, weight)]))

    codegen = _tile_codegen(n_pixels, n_vectors, vector, load_weight, update,
                            ir.VectorType(_I32, WORD_LANES), bounded=bounded)
    return _make(f"popcount_tile_{n_pixels}x{n_vectors}{'_bits' if bounded else ''}",
                 types.uint8 if bounded else types.int32, types.uint64, types.uint64,
                 codegen, types.int32 if bounded else None)


def make_masked_sum_tile(n_pixels: int, n_vectors: int, *,  # type: ignore[no-untyped-def]
                         bounded: bool = False):
    """The intrinsic ``tile(sums, sums_start, sums_stride, x, x_start, x_step, offsets, w,
    w_start, w_stride, n_terms)`` for P = ``n_pixels`` pixels and 16 V = 16
    ``n_vectors`` filters: for p < P and lane l < 16 V,
    ``sums[sums_start + p sums_stride + l] = sum over t < n_terms of
    s x[x_start + p x_step + offsets[t]]``, s = +1 where bit l % 16 of
    ``w[w_start + t w_stride + l // 16]`` is set, else -1: computed as 2 P - S, P the sum
    where the bit is set, S the sum of all (sums and x int16, arithmetic modulo 2^16:
    exact when the result fits; w uint16 sign words; offsets int64). ``bounded``: the
    tile takes ``lo, hi`` (int16), ``tables, tables_start`` and stores bits into uint8
    ``sums`` instead (`_tile_codegen`)."""
    lanes = MASKED_LANES
    vector = ir.VectorType(ir.IntType(16), lanes)

    def load_weight(builder, w_ptr, row_start, v):  # type: ignore[no-untyped-def]
        index = builder.add(row_start, ir.Constant(row_start.type, v))
        word = builder.load(builder.gep(w_ptr, [index]))
        return builder.bitcast(word, ir.VectorType(ir.IntType(1), lanes))

    def update(builder, acc, spread, positive):  # type: ignore[no-untyped-def]
        return builder.select(positive, builder.add(acc, spread), acc)

    codegen = _tile_codegen(n_pixels, n_vectors, vector, load_weight, update, vector,
                            signed=True, bounded=bounded, filters_per_start=lanes)
    return _make(f"masked_sum_tile_{n_pixels}x{n_vectors}{'_bits' if bounded else ''}",
                 types.uint8 if bounded else types.int16, types.int16, types.uint16,
                 codegen, types.int16 if bounded else None)
