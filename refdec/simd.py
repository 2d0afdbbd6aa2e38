"""Four int16 dot products at a time: the inner loop of the WD 8.6 kernel (informative).

Each output sample of a layer (WD 8.6.1) is a bias plus a sum of products of int16
weights and int16 activations. :func:`dot4` computes four such sums that share their
weights: the sums of four neighbouring output samples of one channel, whose inputs lie
``stride`` samples apart in a channels-last row. Loading each weight once for four
outputs, and multiplying 32 pairs per instruction with AVX-512 (``vpmaddwd``, which
adds each two neighbouring products), makes the layer kernel about twice as fast as
the plain loop that LLVM vectorises on its own.

The result is the same integers as the plain loops, on every machine: integer sums do
not depend on their order, and no partial sum leaves int32. The bound of WD 8.6.2,
proved for every output channel when the parameter set is loaded, is
``|B| + sum |W| * in_max``; every partial sum, a pair from ``vpmaddwd`` included, is a
sum over a subset of the same products, so it lies within the same bound.

Where the processor (as numba targets it) lacks AVX-512BW, and when the JIT is
disabled (``NUMBA_DISABLE_JIT=1``), :func:`dot4` runs as the plain loops of
:func:`dot4_loops`.
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
