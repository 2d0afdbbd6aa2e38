"""Blocks of int16 sums of products: the inner loops of the WD 8.6 kernel (informative).

Each output sample of a layer (WD 8.6.1) is a bias plus a sum of products of int16
weights and int16 activations. Two kernels compute many such sums at once:

* :func:`madd_block`, for layers whose output channels come in whole blocks of
  :data:`OUT_BLOCK` (every layer of the shipped parameter set but the last), computes
  :data:`PIXELS` neighbouring output samples of :data:`OUT_BLOCK` channels. With
  AVX-512 the sums stay in 12 vectors of 16 int32 lanes, one lane per output channel:
  each step loads the weights of a pair of input channels for 32 output channels and
  multiplies them with the pair of input samples of each output sample, broadcast to
  every lane (``vpmaddwd`` adds each two neighbouring products). No sum crosses lanes,
  and bias, shift and clip are applied to whole vectors.
* :func:`dot4` computes the sums of four neighbouring output samples of one channel,
  whose inputs lie ``stride`` samples apart in a channels-last row, loading each weight
  once for the four (with AVX-512, 32 pairs per instruction, summed across lanes at
  the end); it serves the other layers.

Both give the same integers as the plain loops, on every machine: integer sums do not
depend on their order, and no partial sum leaves int32. The bound of WD 8.6.2, proved
for every output channel when the parameter set is loaded, is
``|B| + sum |W| * in_max``; every partial sum, a pair from ``vpmaddwd`` included, is a
sum over a subset of the same products, so it lies within the same bound.

Where the processor (as numba targets it) lacks AVX-512BW, and when the JIT is
disabled (``NUMBA_DISABLE_JIT=1``), both run as the plain loops of
:func:`madd_block_loops` and :func:`dot4_loops` (and the layers take :func:`dot4`
only).
"""

from __future__ import annotations

import numpy as np
from llvmlite import binding, ir
from numba import config, njit, types
from numba.extending import intrinsic, overload

LANES = 32
"""int16 products per AVX-512 instruction: the fast path takes runs of this length."""


def _has_avx512bw() -> bool:
    """Whether numba compiles for a processor with AVX-512BW (``vpmaddwd`` on zmm)."""
    if config.DISABLE_JIT:
        return False
    if config.CPU_FEATURES:
        return "+avx512bw" in config.CPU_FEATURES.split(",")
    if config.CPU_NAME not in (None, "host"):
        return False  # a named (portable) target: keep to plain loops
    return bool(binding.get_host_cpu_features().get("avx512bw", False))


FAST = _has_avx512bw()
"""True where :func:`dot4` uses AVX-512; the kernel then pads runs to :data:`LANES`."""


def dot4_loops(x, x0, stride, w, w0, n):  # noqa: ANN001, ANN201 - numba kernel
    """``sum(x[x0 + j*stride + t] * w[w0 + t] for t < n)`` for j = 0..3, in int32."""
    s0 = s1 = s2 = s3 = np.int32(0)
    for t in range(n):
        wt = np.int32(w[w0 + t])
        s0 = np.int32(s0 + np.int32(x[x0 + t]) * wt)
        s1 = np.int32(s1 + np.int32(x[x0 + stride + t]) * wt)
        s2 = np.int32(s2 + np.int32(x[x0 + 2 * stride + t]) * wt)
        s3 = np.int32(s3 + np.int32(x[x0 + 3 * stride + t]) * wt)
    return s0, s1, s2, s3


def dot4(x, x0, stride, w, w0, n):  # noqa: ANN001, ANN201 - numba kernel
    """Four dot products sharing ``w[w0 : w0 + n]`` (see :func:`dot4_loops`).

    Compiled, it is :func:`dot4_avx512` where :data:`FAST` holds (then ``n`` must be
    a multiple of :data:`LANES`), else the loops; run as Python, the loops.
    """
    return dot4_loops(x, x0, stride, w, w0, n)


@intrinsic
def _dot4_zmm(typingctx, x, x0, stride, w, w0, n):  # noqa: ANN001, ANN202
    """LLVM IR of :func:`dot4` for AVX-512BW: one ``vpmaddwd`` per input per 32 taps.

    A loop over ``n / 32`` steps keeps four vectors of 16 int32 partial sums; each step
    loads 32 weights once and 32 samples of each of the four inputs, and adds the
    pairwise products. The four vectors are summed across lanes at the end.
    """
    sig = types.UniTuple(types.int32, 4)(x, types.intp, types.intp, w, types.intp, types.intp)

    def codegen(context, builder, signature, args):  # noqa: ANN001, ANN202
        xa, ix, st, wa, iw, nn = args
        px = builder.gep(context.make_array(signature.args[0])(context, builder, xa).data, [ix])
        pw = builder.gep(context.make_array(signature.args[3])(context, builder, wa).data, [iw])
        i32 = ir.IntType(32)
        v_i16 = ir.VectorType(ir.IntType(16), LANES)
        v_i32 = ir.VectorType(i32, LANES // 2)
        intp = nn.type
        zero = ir.Constant(v_i32, [0] * (LANES // 2))
        module = builder.module

        def declare(name: str, ret: ir.Type, params: list[ir.Type]) -> ir.Function:
            found = module.globals.get(name)
            return found or ir.Function(module, ir.FunctionType(ret, params), name)

        madd = declare("llvm.x86.avx512.pmaddw.d.512", v_i32, [v_i16, v_i16])
        total = declare("llvm.vector.reduce.add.v16i32", i32, [v_i32])

        def load(base: ir.Value, offset: ir.Value) -> ir.Value:
            ptr = builder.bitcast(builder.gep(base, [offset]), v_i16.as_pointer())
            return builder.load(ptr, align=2)

        entry = builder.block
        loop = builder.append_basic_block("dot4.loop")
        done = builder.append_basic_block("dot4.done")
        builder.cbranch(builder.icmp_signed(">", nn, ir.Constant(intp, 0)), loop, done)

        builder.position_at_end(loop)
        t = builder.phi(intp)
        t.add_incoming(ir.Constant(intp, 0), entry)
        sums = [builder.phi(v_i32) for _ in range(4)]
        weights = load(pw, t)
        nxt = []
        for j, s in enumerate(sums):
            s.add_incoming(zero, entry)
            samples = load(px, builder.add(t, builder.mul(st, ir.Constant(intp, j))))
            nxt.append(builder.add(s, builder.call(madd, [samples, weights])))
        t_next = builder.add(t, ir.Constant(intp, LANES))
        body = builder.block
        t.add_incoming(t_next, body)
        for s, v in zip(sums, nxt):
            s.add_incoming(v, body)
        builder.cbranch(builder.icmp_signed("<", t_next, nn), loop, done)

        builder.position_at_end(done)
        finals = []
        for v in nxt:
            f = builder.phi(v_i32)
            f.add_incoming(zero, entry)
            f.add_incoming(v, body)
            finals.append(f)
        out = [builder.call(total, [f]) for f in finals]
        return context.make_tuple(builder, signature.return_type, out)

    return sig, codegen


@njit(cache=True)
def dot4_avx512(x, x0, stride, w, w0, n):  # noqa: ANN001, ANN201 - numba kernel
    """:func:`dot4` with AVX-512BW; ``n`` a multiple of :data:`LANES`."""
    return _dot4_zmm(x, x0, stride, w, w0, n)


_dot4_loops_jit = njit(cache=True)(dot4_loops)


@overload(dot4, jit_options={"cache": True})
def _dot4_compiled(x, x0, stride, w, w0, n):  # noqa: ANN001, ANN202
    if FAST:
        return lambda x, x0, stride, w, w0, n: dot4_avx512(x, x0, stride, w, w0, n)
    return lambda x, x0, stride, w, w0, n: _dot4_loops_jit(x, x0, stride, w, w0, n)


PIXELS = 6
"""Output samples of one row that :func:`madd_block` computes together."""

OUT_BLOCK = 32
"""Output channels that :func:`madd_block` computes together: two vectors of 16."""


def madd_block_loops(x, x0, cp, row, k, w, w0, wblock, b, s, o0, lo, hi, out, out0, ostride, count):  # noqa: ANN001, ANN201 - numba kernel
    """:data:`OUT_BLOCK` output channels ``o0 ..`` of ``count`` <= :data:`PIXELS`
    neighbouring output samples of one row of WD 8.6.1, written to ``out``.

    Output sample ``p`` of channel ``o0 + j`` is
    ``Clip3(lo, hi, (b[o0 + j] + acc) >> s[o0 + j])`` with
    ``acc = sum(x[x0 + ky*row + p*cp + t] * w[...] for ky < k, t < k*cp)``: the samples
    under kernel row ``ky`` are one run of ``k * cp`` (channels-last, ``cp`` channels a
    position, ``row`` samples a padded row). The weights of channels ``o0 + 16h ..
    o0 + 16h + 15`` start at ``w0 + h * wblock`` in the layout of
    :attr:`refdec.network.IntLayer.vector_weights`: for each kernel row and each pair
    of samples ``t = 2u, 2u + 1``, the two weights of each of the 16 channels. The
    result goes to ``out[out0 + p * ostride + o0 + j]``.
    """
    n = k * cp // 2
    for p in range(count):
        for j in range(OUT_BLOCK):
            h, lane = j // 16, j % 16
            acc = np.int32(0)
            for ky in range(k):
                xs = x0 + ky * row + p * cp
                ws = w0 + h * wblock + ky * n * 32 + 2 * lane
                for u in range(n):
                    for e in range(2):
                        acc = np.int32(
                            acc + np.int32(x[xs + 2 * u + e]) * np.int32(w[ws + 32 * u + e])
                        )
            v = (np.int32(b[o0 + j]) + acc) >> s[o0 + j]
            out[out0 + p * ostride + o0 + j] = min(max(v, lo), hi)


def madd_block(x, x0, cp, row, k, w, w0, wblock, b, s, o0, lo, hi, out, out0, ostride, count):  # noqa: ANN001, ANN201 - numba kernel
    """See :func:`madd_block_loops`; compiled, :func:`madd_block_avx512` where
    :data:`FAST` holds (``cp`` a multiple of :data:`LANES`)."""
    madd_block_loops(x, x0, cp, row, k, w, w0, wblock, b, s, o0, lo, hi, out, out0, ostride, count)


@intrinsic
def _madd_block_zmm(
    typingctx, x, x0, cp, row, k, w, w0, wblock, b, s, o0, lo, hi, out, out0, ostride, count
):  # noqa: ANN001, ANN202
    """LLVM IR of :func:`madd_block` for AVX-512BW, with no sum across lanes.

    The accumulators are :data:`PIXELS` x 2 vectors of 16 int32, one lane per output
    channel. Each step of the inner loop loads the weights of one pair of input
    channels for 32 output channels (two vectors of 16 pairs) and, for each output
    sample, broadcasts its pair of input samples to all lanes (one 32-bit load) and
    adds the pairwise products (``vpmaddwd``). After the loops over the kernel rows
    and the pairs, bias, shift (per lane) and clip are applied to whole vectors and 16
    outputs are stored at a time.
    """
    it = types.intp
    sig = types.void(x, it, it, it, it, w, it, it, b, s, it, it, it, out, it, it, it)

    def codegen(context, builder, signature, args):  # noqa: ANN001, ANN202
        xa, ix0, icp, irow, ik, wa, iw0, iwb, ba, sa, io0, ilo, ihi, oa, iout0, ostr, icount = args

        def data(i: int, a: ir.Value) -> ir.Value:
            return context.make_array(signature.args[i])(context, builder, a).data

        px, pw, pb, ps, po = data(0, xa), data(5, wa), data(8, ba), data(9, sa), data(13, oa)
        intp = ix0.type
        i32 = ir.IntType(32)
        v_i16 = ir.VectorType(ir.IntType(16), LANES)
        v_i32 = ir.VectorType(i32, LANES // 2)
        v_out = ir.VectorType(ir.IntType(16), LANES // 2)
        zero = ir.Constant(v_i32, [0] * (LANES // 2))
        module = builder.module

        def const(v: int) -> ir.Constant:
            return ir.Constant(intp, v)

        def declare(name: str, ret: ir.Type, params: list[ir.Type]) -> ir.Function:
            found = module.globals.get(name)
            return found or ir.Function(module, ir.FunctionType(ret, params), name)

        madd = declare("llvm.x86.avx512.pmaddw.d.512", v_i32, [v_i16, v_i16])

        def load(base: ir.Value, offset: ir.Value, ty: ir.Type) -> ir.Value:
            ptr = builder.bitcast(builder.gep(base, [offset]), ty.as_pointer())
            return builder.load(ptr, align=2)

        def splat(v: ir.Value) -> ir.Value:
            lane0 = builder.insert_element(ir.Constant(v_i32, ir.Undefined), v, ir.Constant(i32, 0))
            return builder.shuffle_vector(lane0, ir.Constant(v_i32, ir.Undefined), zero)

        entry = builder.block
        segment = builder.append_basic_block("madd.kernel_row")
        step = builder.append_basic_block("madd.pair")
        latch = builder.append_basic_block("madd.next_row")
        done = builder.append_basic_block("madd.done")
        pairs = builder.sdiv(builder.mul(ik, icp), const(2))
        builder.branch(segment)

        # Kernel row ky: where its samples and weights start; the sums carry over.
        builder.position_at_end(segment)
        ky = builder.phi(intp)
        ky.add_incoming(const(0), entry)
        carried = [builder.phi(v_i32) for _ in range(2 * PIXELS)]
        x_row = builder.add(ix0, builder.mul(ky, irow))
        w_row = builder.add(iw0, builder.mul(builder.mul(ky, pairs), const(32)))
        builder.branch(step)

        builder.position_at_end(step)
        u = builder.phi(intp)
        u.add_incoming(const(0), segment)
        sums = [builder.phi(v_i32) for _ in range(2 * PIXELS)]
        w_at = builder.add(w_row, builder.mul(u, const(32)))
        weights = [load(pw, w_at, v_i16), load(pw, builder.add(w_at, iwb), v_i16)]
        x_at = builder.add(x_row, builder.mul(u, const(2)))
        nxt = []
        for p in range(PIXELS):
            pair = load(px, builder.add(x_at, builder.mul(icp, const(p))), i32)
            samples = builder.bitcast(splat(pair), v_i16)
            for h in range(2):
                nxt.append(builder.add(sums[2 * p + h], builder.call(madd, [samples, weights[h]])))
        u_next = builder.add(u, const(1))
        u.add_incoming(u_next, step)
        for acc, c, v in zip(sums, carried, nxt):
            acc.add_incoming(c, segment)
            acc.add_incoming(v, step)
        builder.cbranch(builder.icmp_signed("<", u_next, pairs), step, latch)

        builder.position_at_end(latch)
        ky_next = builder.add(ky, const(1))
        ky.add_incoming(ky_next, latch)
        for c, v in zip(carried, nxt):
            c.add_incoming(zero, entry)
            c.add_incoming(v, latch)
        builder.cbranch(builder.icmp_signed("<", ky_next, ik), segment, done)

        # Bias, shift and clip per lane; store the first `count` output samples.
        builder.position_at_end(done)
        lo_v, hi_v = splat(builder.trunc(ilo, i32)), splat(builder.trunc(ihi, i32))
        bias = [
            builder.load(
                builder.bitcast(
                    builder.gep(pb, [builder.add(io0, const(16 * h))]), v_i32.as_pointer()
                ),
                align=4,
            )
            for h in range(2)
        ]
        shift = [
            builder.load(
                builder.bitcast(
                    builder.gep(ps, [builder.add(io0, const(16 * h))]), v_i32.as_pointer()
                ),
                align=4,
            )
            for h in range(2)
        ]
        for p in range(PIXELS):
            store = builder.append_basic_block(f"madd.store{p}")
            after = builder.append_basic_block(f"madd.stored{p}")
            builder.cbranch(builder.icmp_signed(">", icount, const(p)), store, after)
            builder.position_at_end(store)
            for h in range(2):
                v = builder.ashr(builder.add(nxt[2 * p + h], bias[h]), shift[h])
                v = builder.select(builder.icmp_signed("<", v, lo_v), lo_v, v)
                v = builder.select(builder.icmp_signed(">", v, hi_v), hi_v, v)
                at = builder.add(
                    builder.add(iout0, builder.mul(ostr, const(p))), builder.add(io0, const(16 * h))
                )
                ptr = builder.bitcast(builder.gep(po, [at]), v_out.as_pointer())
                builder.store(builder.trunc(v, v_out), ptr, align=2)
            builder.branch(after)
            builder.position_at_end(after)
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True)
def madd_block_avx512(
    x, x0, cp, row, k, w, w0, wblock, b, s, o0, lo, hi, out, out0, ostride, count
):  # noqa: ANN001, ANN201
    """:func:`madd_block` with AVX-512BW."""
    _madd_block_zmm(x, x0, cp, row, k, w, w0, wblock, b, s, o0, lo, hi, out, out0, ostride, count)


_madd_block_loops_jit = njit(cache=True)(madd_block_loops)


@overload(madd_block, jit_options={"cache": True})
def _madd_block_compiled(
    x, x0, cp, row, k, w, w0, wblock, b, s, o0, lo, hi, out, out0, ostride, count
):  # noqa: ANN001, ANN202
    impl = madd_block_avx512 if FAST else _madd_block_loops_jit

    def call(x, x0, cp, row, k, w, w0, wblock, b, s, o0, lo, hi, out, out0, ostride, count):  # noqa: ANN001, ANN202
        impl(x, x0, cp, row, k, w, w0, wblock, b, s, o0, lo, hi, out, out0, ostride, count)

    return call
