"""Blocks of int16 sums of products: the inner loops of the WD 8.6 kernel (informative).

Each output sample of a layer (WD 8.6.1) is a bias plus a sum of products of int16
weights and int16 activations. :func:`madd_block` computes :data:`PIXELS` neighbouring
output samples of one row for 16 or 32 output channels at once. The sums stay in
vectors of int32 lanes, one lane per output channel (16 lanes of a zmm register with
AVX-512, 8 of a ymm register with AVX2, 4 of a 128-bit register elsewhere): each step
loads the weights of a pair of input channels for the block's output channels and
multiplies them with the pair of input samples of each output sample, broadcast to
every lane (``vpmaddwd`` adds each two neighbouring products; where the processor has
AVX-512 VNNI or AVX-VNNI, LLVM fuses it with the addition into ``vpdpwssd``; on other
targets the same operation is written in plain LLVM vector operations, which LLVM
lowers to the target's instructions). No sum crosses lanes, and bias, shift and clip
are applied to whole vectors. The plain loops of :func:`dot4`, four output samples of
one channel that LLVM vectorises on its own, are far slower: a Kodak picture decoded
in 4.9 s with them, against 0.23 s with the generic 128-bit vectors, both compiled
for the baseline x86-64 (SSE2; ``NUMBA_CPU_NAME=x86-64``), and 0.11 s with the AVX2
vectors (a 2-core AMD EPYC, 7 December 2026); they remain the kernel of the Python
form.

Both give the same integers as the text of the clause, on every machine: integer sums
do not depend on their order, and no partial sum leaves int32. The bound of WD 8.6.2,
proved for every output channel when the parameter set is loaded, is
``|B| + sum |W| * in_max``; every partial sum, a pair from ``vpmaddwd`` included, is a
sum over a subset of the same products, so it lies within the same bound.

The vectors are used wherever the JIT is enabled, with the widest instruction set of
the processor as numba targets it (:data:`ISA`); run as Python
(``NUMBA_DISABLE_JIT=1``, or the coverage measurement), both functions are their plain
loops and the layers run :func:`dot4`.
"""

from __future__ import annotations

import numpy as np
from llvmlite import binding, ir
from numba import config, njit, types
from numba.extending import intrinsic, overload

LANES = 32
"""int16 samples in one AVX-512 vector: the padded channel runs are multiples of it
(the other instruction sets read a run as several shorter vectors)."""

PIXELS = 6
"""Output samples of one row that :func:`madd_block` computes together."""

VECTOR = 16
"""Output channels in one block of :func:`madd_block`: the int32 lanes of one zmm
register, or of two ymm registers."""


def _target_isa() -> str | None:
    """``"avx512"`` where numba compiles for a processor with AVX-512BW (``vpmaddwd``
    on zmm), ``"avx2"`` where it has AVX2 (on ymm), ``"generic"`` for any other target
    (128-bit vectors that LLVM lowers to the target's own instructions), None where
    the JIT is off."""
    if config.DISABLE_JIT:
        return None
    if config.CPU_FEATURES:
        features = set(config.CPU_FEATURES.split(","))
    elif config.CPU_NAME not in (None, "host"):
        features = set()  # a named (portable) target: assume no x86 extension
    else:
        features = {f"+{k}" for k, v in binding.get_host_cpu_features().items() if v}
    for isa, feature in (("avx512", "+avx512bw"), ("avx2", "+avx2")):
        if feature in features:
            return isa
    return "generic"


ISA = _target_isa()
"""The instruction set of the vector kernel: ``"avx512"``, ``"avx2"``, ``"generic"``,
or None where the JIT is off."""

FAST = ISA is not None
"""True where the layers run :func:`madd_block` with vectors (and the channel runs are
padded to :data:`LANES`); else they run :func:`dot4`."""

MACHINE_LANES = {"avx512": 16, "avx2": 8, "generic": 4}
"""int32 lanes of one vector register of each instruction set (``"generic"``: the
128 bits of SSE2 and of Arm's NEON)."""

PMADDWD = {"avx512": "llvm.x86.avx512.pmaddw.d.512", "avx2": "llvm.x86.avx2.pmadd.wd"}
"""The LLVM intrinsic of ``vpmaddwd`` of each x86 instruction set; ``"generic"`` spells
it in plain vector operations."""

BLOCKS = 2 if ISA == "avx512" else 1
"""Blocks of :data:`VECTOR` output channels that one call of :func:`madd_block`
computes in the layer kernel: two with AVX-512 (12 of its 32 registers hold sums), one
with AVX2 (12 of its 16) and with 128-bit vectors (24 of NEON's 32)."""


def dot4(x, x0, stride, w, w0, n):  # noqa: ANN001, ANN201 - numba kernel
    """``sum(x[x0 + j*stride + t] * w[w0 + t] for t < n)`` for j = 0..3, in int32:
    four dot products sharing their weights."""
    s0 = s1 = s2 = s3 = np.int32(0)
    for t in range(n):
        wt = np.int32(w[w0 + t])
        s0 = np.int32(s0 + np.int32(x[x0 + t]) * wt)
        s1 = np.int32(s1 + np.int32(x[x0 + stride + t]) * wt)
        s2 = np.int32(s2 + np.int32(x[x0 + 2 * stride + t]) * wt)
        s3 = np.int32(s3 + np.int32(x[x0 + 3 * stride + t]) * wt)
    return s0, s1, s2, s3


_dot4_jit = njit(cache=True)(dot4)


@overload(dot4, jit_options={"cache": True})
def _dot4_compiled(x, x0, stride, w, w0, n):  # noqa: ANN001, ANN202
    return lambda x, x0, stride, w, w0, n: _dot4_jit(x, x0, stride, w, w0, n)


def madd_block(x, x0, cp, row, k, w, w0, b, s, o0, vectors, lo, hi, out, out0, count):  # noqa: ANN001, ANN201 - numba kernel
    """Output channels ``o0 .. o0 + 16 * vectors - 1`` of ``count`` <= :data:`PIXELS`
    neighbouring output samples of one row (WD 8.6.1), written to ``out``.

    The samples under kernel row ``ky`` of output sample ``p`` are the run
    ``x[x0 + ky*row + p*cp :][: k*cp]`` (channels-last with ``cp`` channels a position,
    ``row`` samples a padded row). ``w`` has the layout of
    :attr:`refdec.network.IntLayer.vector_weights`, whose block of 16 channels ``o0 /
    16 + h`` starts at ``w0 + h * k*k*cp*16``: for each kernel row and each pair of
    samples ``t = 2u, 2u + 1`` of its run, the two weights of each of the 16 channels.
    Sample ``p`` of channel ``o = o0 + j`` is ``Clip3(lo, hi, (b[o] + acc) >> s[o])``
    and goes to ``out[out0 + p * ostride + o]``, where ``ostride = len(b)`` is the
    (padded) number of channels of ``out``.
    """
    n = k * cp // 2
    wblock = k * n * 2 * VECTOR
    ostride = len(b)
    for p in range(count):
        for j in range(VECTOR * vectors):
            o, lane = o0 + j, j % VECTOR
            acc = np.int32(0)
            for ky in range(k):
                xs = x0 + ky * row + p * cp
                ws = w0 + (j // VECTOR) * wblock + ky * n * 2 * VECTOR + 2 * lane
                for t in range(2 * n):
                    wt = np.int32(w[ws + 2 * VECTOR * (t // 2) + t % 2])
                    acc = np.int32(acc + np.int32(x[xs + t]) * wt)
            out[out0 + p * ostride + o] = min(max((np.int32(b[o]) + acc) >> s[o], lo), hi)


def _madd_ir(vectors: int, isa: str):  # noqa: ANN202 - returns a numba intrinsic
    """The LLVM IR of :func:`madd_block` for the instruction set ``isa`` (a key of
    :data:`MACHINE_LANES`), for ``vectors`` blocks of 16 output channels.

    The sums of the block are :data:`PIXELS` x ``16 * vectors / lanes`` vectors of
    ``lanes`` int32 lanes. Two nested loops run over the kernel rows and over the pairs
    of samples of a row's run; each step loads the weights of the pair for every vector
    of the block, and for each output sample loads its pair of samples once (32 bits),
    broadcasts it to every lane and adds the pairwise products (``vpmaddwd``). At the
    end, bias, shift (per lane) and clip are applied to whole vectors and each output
    sample's ``16 * vectors`` outputs are stored, for the first ``count`` samples.
    """
    lanes = MACHINE_LANES[isa]
    parts = VECTOR // lanes  # machine vectors in one block of 16 channels
    regs = vectors * parts  # machine vectors of one output sample
    pmaddwd = PMADDWD.get(isa)

    @intrinsic
    def madd_vectors(typingctx, x, x0, cp, row, k, w, w0, b, s, o0, lo, hi, out, out0, count):  # noqa: ANN001, ANN202
        it = types.intp
        sig = types.void(x, it, it, it, it, w, it, b, s, it, it, it, out, it, it)

        def codegen(context, builder, signature, args):  # noqa: ANN001, ANN202
            _, ix0, icp, irow, ik, _, iw0, _, _, io0, ilo, ihi, _, iout0, icount = args
            px, pw, pb, ps, po = (
                context.make_array(signature.args[i])(context, builder, args[i])
                for i in (0, 5, 7, 8, 12)
            )
            ostride = pb.nitems  # len(b): the padded channels of out
            px, pw, pb, ps, po = px.data, pw.data, pb.data, ps.data, po.data
            intp = ix0.type
            i32 = ir.IntType(32)
            v_pairs = ir.VectorType(ir.IntType(16), 2 * lanes)
            v_sums = ir.VectorType(i32, lanes)
            v_out = ir.VectorType(ir.IntType(16), lanes)
            zero = ir.Constant(v_sums, [0] * lanes)
            module = builder.module

            def const(v: int) -> ir.Constant:
                return ir.Constant(intp, v)

            if pmaddwd:
                found = module.globals.get(pmaddwd)
                madd_type = ir.FunctionType(v_sums, [v_pairs, v_pairs])
                intrinsic_fn = found or ir.Function(module, madd_type, pmaddwd)

            def madd(a: ir.Value, b: ir.Value) -> ir.Value:
                """``vpmaddwd``: the sums of the products of neighbouring int16 pairs."""
                if pmaddwd:
                    return builder.call(intrinsic_fn, [a, b])
                # The same in plain vector operations, which any LLVM target lowers
                # (x86 matches this pattern to pmaddwd; NEON to widening multiplies).
                wide = ir.VectorType(i32, 2 * lanes)
                products = builder.mul(builder.sext(a, wide), builder.sext(b, wide))
                undef = ir.Constant(wide, ir.Undefined)
                even, odd = (
                    builder.shuffle_vector(
                        products, undef, ir.Constant(v_sums, list(range(i, 2 * lanes, 2)))
                    )
                    for i in (0, 1)
                )
                return builder.add(even, odd)

            def at(base: ir.Value, offset: ir.Value, ty: ir.Type) -> ir.Value:
                return builder.bitcast(builder.gep(base, [offset]), ty.as_pointer())

            def splat(v: ir.Value) -> ir.Value:
                lane0 = builder.insert_element(
                    ir.Constant(v_sums, ir.Undefined), v, ir.Constant(i32, 0)
                )
                return builder.shuffle_vector(lane0, ir.Constant(v_sums, ir.Undefined), zero)

            entry = builder.block
            kernel_row = builder.append_basic_block("madd.kernel_row")
            pair = builder.append_basic_block("madd.pair")
            next_row = builder.append_basic_block("madd.next_row")
            done = builder.append_basic_block("madd.done")
            pairs = builder.sdiv(builder.mul(ik, icp), const(2))
            wblock = builder.mul(pairs, builder.mul(ik, const(2 * VECTOR)))
            builder.branch(kernel_row)

            # Where kernel row ky's samples and weights start; the sums carry over.
            builder.position_at_end(kernel_row)
            ky = builder.phi(intp)
            ky.add_incoming(const(0), entry)
            carried = [builder.phi(v_sums) for _ in range(PIXELS * regs)]
            x_row = builder.add(ix0, builder.mul(ky, irow))
            w_row = builder.add(iw0, builder.mul(builder.mul(ky, pairs), const(2 * VECTOR)))
            builder.branch(pair)

            builder.position_at_end(pair)
            u = builder.phi(intp)
            u.add_incoming(const(0), kernel_row)
            sums = [builder.phi(v_sums) for _ in range(PIXELS * regs)]
            w_at = builder.add(w_row, builder.mul(u, const(2 * VECTOR)))
            weights = []
            for h in range(regs):
                # Block h // parts of 16 channels, its part h % parts of `lanes` ones.
                part = const(2 * lanes * (h % parts))
                block = builder.add(builder.mul(wblock, const(h // parts)), part)
                weights.append(builder.load(at(pw, builder.add(w_at, block), v_pairs), align=2))
            x_at = builder.add(x_row, builder.mul(u, const(2)))
            nxt = []
            for p in range(PIXELS):
                sample_pair = builder.load(
                    at(px, builder.add(x_at, builder.mul(icp, const(p))), i32), align=2
                )
                samples = builder.bitcast(splat(sample_pair), v_pairs)
                for h in range(regs):
                    product = madd(samples, weights[h])
                    nxt.append(builder.add(sums[p * regs + h], product))
            u_next = builder.add(u, const(1))
            u.add_incoming(u_next, pair)
            for acc, c, v in zip(sums, carried, nxt):
                acc.add_incoming(c, kernel_row)
                acc.add_incoming(v, pair)
            builder.cbranch(builder.icmp_signed("<", u_next, pairs), pair, next_row)

            builder.position_at_end(next_row)
            ky_next = builder.add(ky, const(1))
            ky.add_incoming(ky_next, next_row)
            for c, v in zip(carried, nxt):
                c.add_incoming(zero, entry)
                c.add_incoming(v, next_row)
            builder.cbranch(builder.icmp_signed("<", ky_next, ik), kernel_row, done)

            # Bias, shift and clip per lane; store the first `count` output samples.
            builder.position_at_end(done)
            lo_v, hi_v = splat(builder.trunc(ilo, i32)), splat(builder.trunc(ihi, i32))
            offsets = [builder.add(io0, const(lanes * h)) for h in range(regs)]
            bias = [builder.load(at(pb, o, v_sums), align=4) for o in offsets]
            shift = [builder.load(at(ps, o, v_sums), align=4) for o in offsets]
            for p in range(PIXELS):
                store = builder.append_basic_block(f"madd.store{p}")
                after = builder.append_basic_block(f"madd.stored{p}")
                builder.cbranch(builder.icmp_signed(">", icount, const(p)), store, after)
                builder.position_at_end(store)
                first = builder.add(iout0, builder.mul(ostride, const(p)))
                for h in range(regs):
                    v = builder.ashr(builder.add(nxt[p * regs + h], bias[h]), shift[h])
                    v = builder.select(builder.icmp_signed("<", v, lo_v), lo_v, v)
                    v = builder.select(builder.icmp_signed(">", v, hi_v), hi_v, v)
                    ptr = at(po, builder.add(first, offsets[h]), v_out)
                    builder.store(builder.trunc(v, v_out), ptr, align=2)
                builder.branch(after)
                builder.position_at_end(after)
            return context.get_dummy_value()

        return sig, codegen

    return madd_vectors


_madd_1, _madd_2 = (_madd_ir(1, ISA), _madd_ir(2, ISA)) if FAST else (None, None)


@njit(cache=True)
def madd_block_vectors(x, x0, cp, row, k, w, w0, b, s, o0, vectors, lo, hi, out, out0, count):  # noqa: ANN001, ANN201
    """:func:`madd_block` with the vectors of :data:`ISA` (``cp`` a multiple of
    :data:`LANES`, ``vectors`` 1 or 2)."""
    if vectors == 1:
        _madd_1(x, x0, cp, row, k, w, w0, b, s, o0, lo, hi, out, out0, count)
    else:
        _madd_2(x, x0, cp, row, k, w, w0, b, s, o0, lo, hi, out, out0, count)


_madd_block_jit = njit(cache=True)(madd_block)


@overload(madd_block, jit_options={"cache": True})
def _madd_block_compiled(x, x0, cp, row, k, w, w0, b, s, o0, vectors, lo, hi, out, out0, count):  # noqa: ANN001, ANN202
    impl = madd_block_vectors if FAST else _madd_block_jit

    def call(x, x0, cp, row, k, w, w0, b, s, o0, vectors, lo, hi, out, out0, count):  # noqa: ANN001, ANN202
        impl(x, x0, cp, row, k, w, w0, b, s, o0, vectors, lo, hi, out, out0, count)

    return call
