"""DeepLIFT and DeepSHAP (DeepLIFT averaged over dinucleotide-shuffled references).

How it works
------------
The model runs twice under a :class:`torch.overrides.TorchFunctionMode` that sees every torch call,
including functional calls inside a module's ``forward`` (``torch.relu``, ``x @ y``,
``torch.softmax``...): first on the references, recording the inputs of each nonlinear operation,
then on the inputs, replacing the gradient of each nonlinear operation by a DeepLIFT multiplier
built from the recorded reference values. Every multiplier ``m`` satisfies ``m * dx = dy`` exactly,
so by the chain rule the contributions ``multipliers * (x - reference)`` sum to
``f(x) - f(reference)`` (summation-to-delta) for any composition of the supported operations:

* elementwise functions of one tensor (ReLU, exp, sigmoid, tanh, softplus, ELU, GELU, SiLU, clamp,
  powers, log, sqrt, reciprocal, ...): the rescale rule ``(f(x) - f(r)) / (x - r)``, with the
  derivative where ``x ~ r``;
* products of two tensors (``*``, ``@``, ``bmm``, ``einsum``): the exact Shapley split
  ``d(ab) = mean(a) db + da mean(b)``, where ``mean(a) = (a_x + a_r) / 2``; ``a / b`` is
  ``a * (1 / b)``;
* max-type selections (max pooling, adaptive max pooling, ``max``/``amax`` over a dimension):
  ``max(x) - max(r)`` lies between ``x_b - r_b`` and ``x_a - r_a`` (``a``, ``b`` the arg-maxes of
  input and reference), so it is split between ``a`` and ``b`` as a convex combination, with
  multipliers in [0, 1] (the gradient when ``a == b``);
* softmax and log-softmax: ``exp``, a sum, ``1 / s`` and a product, each with its exact rule;
* layer norm: one operation with the rules of its decomposition (centring, mean of squares,
  inverse square root, products);
* scaled dot-product attention, ``nn.MultiheadAttention`` and ``nn.LSTM`` are decomposed into
  the operations above.

Linear operations (convolutions, linear layers, batch norm in eval mode, sums, reshapes, additions
as in residual blocks) keep their gradient. After each run the summation-to-delta error is
measured and a warning is issued when it exceeds ``rtol`` (relative to ``|f(x) - f(r)|``) plus
``atol``.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from seqlens.attribution._utils import (
    args_for,
    as_tensor,
    captum_aliases,
    center_columns,
    check_args,
    check_count,
    eval_mode,
    like,
    model_dtype,
    model_output,
    per_batch_target,
    repeat_target,
    resolve_device,
)
from seqlens.resources import keep_freed_memory

_UNARY = {
    "relu", "relu6", "elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "sigmoid", "tanh",
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal", "abs",
    "__abs__", "square", "sin", "cos", "erf", "leaky_relu", "hardtanh", "hardsigmoid", "hardswish",
    "logsigmoid", "softsign", "tanhshrink", "clamp", "clip", "clamp_min", "clamp_max", "threshold",
    "pow", "__pow__", "__rpow__", "__rtruediv__", "__rdiv__", "float_power",
}
# piecewise linear with slopes 0 and 1 (given number bounds): the rescale quotient is exact
_PIECEWISE = {"relu", "relu6", "clamp", "clip", "clamp_min", "clamp_max", "hardtanh"}
_SELECT = {
    "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
    "max_pool3d_with_indices", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices", "amax", "amin", "max",
    "min",
}
_BILINEAR = {"mul", "multiply", "__mul__", "__rmul__", "__imul__", "matmul", "__matmul__",
             "__rmatmul__", "bmm", "mm", "einsum"}
_DIV = {"div", "divide", "true_divide", "__truediv__", "__itruediv__", "__div__"}
# linear layers computed once per input on the input pass (positional argument names)
_SHARED = {
    "conv1d": ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
    "conv2d": ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
    "linear": ("input", "weight", "bias"),
    "batch_norm": ("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps"),
}


# pass-through operations whose result keeps each row of dim 0 (the input pass follows its
# per-sequence rows through them): same element order, axes other than 0, pointwise with
# broadcasting, reductions over other axes
_SAME_ORDER = {"view", "reshape", "flatten", "unflatten", "unsqueeze", "squeeze", "contiguous", "clone",
               "float", "double", "to", "type", "view_as", "reshape_as", "detach"}
# of those and the axis moves, the ones that never read values (a view, or a copy of a view)
_VIEWS = {"view", "reshape", "flatten", "unflatten", "unsqueeze", "squeeze", "view_as", "reshape_as",
          "detach", "transpose", "swapaxes", "swapdims", "permute"}
# tensor methods and properties that read no values (properties: views or metadata)
_METADATA = {"dim", "ndimension", "size", "numel", "nelement", "stride", "storage_offset", "is_contiguous",
             "is_floating_point", "is_complex", "element_size", "get_device", "__len__", "__get__"}
_DROPOUT = {"dropout", "alpha_dropout", "feature_alpha_dropout", "dropout1d", "dropout2d", "dropout3d"}
_POINTWISE = {"add", "__add__", "__radd__", "sub", "subtract", "__sub__", "__rsub__", "rsub", "neg",
              "negative", "__neg__", "mul", "multiply", "__mul__", "__rmul__", "div", "divide", "true_divide",
              "__truediv__", "__div__", "where", "masked_fill"}
_REDUCE = {"mean", "sum", "amax", "amin", "var", "std", "logsumexp"}
_INPLACE = {"__iadd__", "__isub__", "__imul__", "__itruediv__", "__idiv__", "__ipow__", "__imatmul__",
            "__iand__", "__ior__", "__ixor__", "__ifloordiv__", "__imod__", "__ilshift__", "__irshift__",
            "__setitem__"}


def _dim(d, ndim: int) -> int:
    return d + ndim if d < 0 else d


def _is_t(a) -> bool:
    return isinstance(a, torch.Tensor)


def _small(dx: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    eps = 1e-6 if x.dtype != torch.float64 else 1e-12
    return dx.abs() <= eps * (1 + x.abs())


def _ratio(dy, dx, x, derivative):
    """``dy / dx`` (``dy`` is overwritten), with ``derivative()`` where the quotient is
    ill-conditioned (``|dx| <= eps (1 + |x|)``; tested as a float maximum, cheaper than a boolean
    mask on a large tensor). ``x`` may broadcast to ``dx``."""
    m = dy.div_(dx)
    eps = 1e-6 if x.dtype != torch.float64 else 1e-12
    if float(torch.sub(x.abs().mul_(eps).add_(eps), dx.abs()).max()) >= 0:
        m = torch.where(_small(dx, x), derivative(), m)
    return m


class _Rescale(torch.autograd.Function):
    """Elementwise ``y = fn(x)`` with gradient ``(fn(x) - fn(r)) / (x - r)`` (the derivative where
    ``x ~ r``). ``linear``: ``fn`` is piecewise linear with slopes 0 and 1 (ReLU, clamps): ``x``
    and ``r`` on one piece give exactly 1 or 0 and on two pieces a value in [0, 1], so only
    ``x == r`` needs the derivative. ``rows``: the input's per-sequence rows and ``fn`` of them,
    when ``x`` repeats each ``G`` times (the input pass): the differences and derivatives then
    come from them, broadcast over the ``G`` references (``x``'s values are not read)."""

    @staticmethod
    def forward(ctx, x, r, yr, fn, linear=False, rows=None, G=1):
        src = x if rows is None else rows[0]

        def derivative():  # fn' at x (at the rows, shaped to broadcast over the references)
            with torch.enable_grad():
                xx = src.detach().requires_grad_(True)
                d = torch.autograd.grad(fn(xx).sum(), xx)[0]
            return d if rows is None else d.unsqueeze(1)

        if rows is None:
            y = fn(x)
            dx, dy = x - r, y - yr
        else:  # per (sequence, reference): the rows read once, not once per reference
            xc, yc = rows
            y = yc.new_empty((len(x), *yc.shape[1:]))  # values written when read
            dx = torch.sub(xc.unsqueeze(1), r.view(-1, G, *r.shape[1:]))
            dy = torch.sub(yc.unsqueeze(1), yr.view(-1, G, *yr.shape[1:]))
        if linear:
            m = dy.div_(dx)
            if bool(torch.isnan(m.sum())):  # 0 / 0 where x == r: the derivative
                m = torch.where(dx == 0, derivative(), m)
        else:
            m = _ratio(dy, dx, src if rows is None else src.unsqueeze(1), derivative)
        ctx.save_for_backward(m.view(x.shape))
        return y

    @staticmethod
    def backward(ctx, g):
        (m,) = ctx.saved_tensors
        return m.mul_(g), None, None, None, None, None, None  # (in place: one backward per pass)


def _blas_ready(t):
    """``t`` (a batched matrix), copied when its batch dims do not merge into one and its rows are
    strided (e.g. the keys ``k.transpose(-1, -2)`` of heads split from a ``(N, L, H * D)``
    projection): as the contiguous copy of its transpose, which copies runs of columns and is
    read transposed by the product, instead of matmul's element-by-element transposing copy."""
    if t.dim() < 3 or t.stride(-2) != 1 or t.stride(-1) == 1:
        return t
    shape, strides = t.shape[:-2], t.stride()[:-2]
    if all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(len(shape) - 1)):
        return t  # (batch dims merge: a view)
    return t.mT.contiguous().mT


def _matmul(a, b):
    """``a @ b``; batched products with at most 8 output columns (e.g. attention with 8 dimensions
    per head) as ``(b^T a^T)^T``, which MKL computes 3x faster."""
    if a.dim() >= 3 and b.dim() >= 3:
        a, b = _blas_ready(a), _blas_ready(b)
        if b.shape[-1] <= 8 < a.shape[-2]:
            return (b.mT @ a.mT).mT
    return a @ b


class _Bilinear(torch.autograd.Function):
    """``y = op(a, b)`` for a bilinear ``op``; gradients taken at the mean operands. ``yc``:
    ``y``'s per-sequence rows, when they are known (the input pass; ``y``'s values are then
    written when read), ``rows``: those of ``a`` and ``b`` where they span the batch."""

    @staticmethod
    def forward(ctx, a, b, ar, br, op, yc=None, G=1, rows=(None, None)):
        ctx.op = _matmul if op in (torch.matmul, torch.bmm) else op

        def mean(t, tr, tc):  # (from the input's rows ``tc`` when given)
            if tc is None:
                return torch.add(t, tr).mul_(0.5)
            return torch.add(tc[:, None], tr.view(len(tc), G, *tr.shape[1:])).view(tr.shape).mul_(0.5)

        ctx.save_for_backward(mean(a, ar, rows[0]), mean(b, br, rows[1]))
        return ctx.op(a, b) if yc is None else yc.new_empty((G * len(yc), *yc.shape[1:]))

    @staticmethod
    def backward(ctx, g):
        am, bm = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad[:2]
        rest = (None,) * 6
        if ctx.op is torch.mul:
            def times_g(t, shape):  # (in the saved operand where shapes allow: one backward per pass)
                return t.mul_(g) if t.shape == g.shape else (g * t).sum_to_size(shape)

            return times_g(bm, am.shape) if need_a else None, times_g(am, bm.shape) if need_b else None, *rest
        if ctx.op in (_matmul, torch.mm) and am.dim() >= 2 and bm.dim() >= 2:
            return (_matmul(g, bm.mT).sum_to_size(am.shape) if need_a else None,
                    _matmul(am.mT, g).sum_to_size(bm.shape) if need_b else None, *rest)
        with torch.enable_grad():
            aa = am.detach().requires_grad_(ctx.needs_input_grad[0])
            bb = bm.detach().requires_grad_(ctx.needs_input_grad[1])
            wrt = [t for t in (aa, bb) if t.requires_grad]
            grads = list(torch.autograd.grad(ctx.op(aa, bb), wrt, g)) if wrt else []
        ga = grads.pop(0) if ctx.needs_input_grad[0] else None
        gb = grads.pop(0) if ctx.needs_input_grad[1] else None
        return ga, gb, *rest


class _Select(torch.autograd.Function):
    """Max-type selection ``y = fn(x)`` (e.g. max pooling) with an exact routed DeepLIFT rule.

    For each output, with ``a`` the arg-max of the input and ``b`` that of the reference,
    ``dx_b <= dy = x_a - r_b <= dx_a`` (because ``x_a >= x_b`` and ``r_b >= r_a``), so ``dy`` is the
    convex combination ``lam dx_a + (1 - lam) dx_b`` with
    ``lam = (x_a - x_b) / ((x_a - x_b) + (r_b - r_a))``: position ``a`` gets multiplier ``lam``
    and ``b`` gets ``1 - lam``, both in [0, 1] (well conditioned in float32). When ``a == b`` this
    is the gradient. ``r_a`` and ``x_b`` come from forward-mode derivatives (the derivative of a
    max in a direction is the direction's value at the arg-max)."""

    @staticmethod
    def forward(ctx, x, r, fn):
        ctx.fn = fn
        ctx.save_for_backward(x, r)
        return fn(x)

    @staticmethod
    def backward(ctx, g):
        from torch.func import jvp, vjp

        x, r = ctx.saved_tensors
        fn = ctx.fn
        with torch.enable_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.func's internal jit use
            yx, r_a = jvp(fn, (x,), (r,))
            yr, x_b = jvp(fn, (r,), (x,))
            gap_x = (yx - x_b).clamp(min=0)  # x_a - x_b
            gap_r = (yr - r_a).clamp(min=0)  # r_b - r_a
            den = gap_x + gap_r
            lam = torch.where(den > 0, gap_x / torch.where(den > 0, den, torch.ones_like(den)),
                              torch.ones_like(den))
            _, back_x = vjp(fn, x)
            _, back_r = vjp(fn, r)
            (mx,) = back_x(g * lam)
            (mr,) = back_r(g * (1 - lam))
        return mx + mr, None, None


class _MaxPool(torch.autograd.Function):
    """Max pooling with :class:`_Select`'s routed rule, from the arg-max indices of the input
    (``ia``) and of the reference (``ib``): ``r_a`` and ``x_b`` are gathers, the backward two
    scatter-adds (for overlapping windows too). ``pooled``: the pooling of the input's
    per-sequence rows, when ``x`` repeats each ``G`` times (the input pass)."""

    @staticmethod
    def forward(ctx, x, r, ib, with_indices, pooled=None, G=1):
        rf, ibf = r.flatten(2), ib.flatten(2)
        if pooled is None:
            y, ia = with_indices(x)
            iaf = ia.flatten(2)
            gap_x = (y.flatten(2) - x.flatten(2).gather(2, ibf)).clamp_(min=0)  # x_a - x_b
        else:  # from the input's rows (``y``'s values are written when read)
            yc, iac, xc = pooled
            y, ia = yc.new_empty((len(x), *yc.shape[1:])), iac.repeat_interleave(G, 0)
            iaf = ia.flatten(2)
            n, c = xc.shape[:2]
            xb = xc.flatten(2)[:, None].expand(n, G, c, -1).gather(3, ibf.view(n, G, c, -1))
            gap_x = xb.neg_().add_(yc.flatten(2)[:, None]).clamp_(min=0).view(len(x), c, -1)
        gap_r = (rf.gather(2, ibf) - rf.gather(2, iaf)).clamp_(min=0)  # r_b - r_a
        lam = (gap_x / (gap_x + gap_r)).nan_to_num_(nan=1.0)  # 0 / 0: a == b (or ties): the gradient
        ctx.save_for_backward(lam, iaf, ibf)
        ctx.shape = x.shape
        ctx.mark_non_differentiable(ia)
        return y, ia

    @staticmethod
    def backward(ctx, g, _):
        lam, iaf, ibf = ctx.saved_tensors
        gf = g.flatten(2)
        gx = gf.new_zeros((*ctx.shape[:2], iaf.new_empty(ctx.shape[2:]).numel()))
        gx.scatter_add_(2, iaf, gf * lam).scatter_add_(2, ibf, gf - gf * lam)
        return gx.view(ctx.shape), None, None, None, None, None


def _window(name, rest, kw):
    """The window ``k`` of a 1-d max pooling over adjacent windows (stride = kernel, no padding,
    dilation or ceil mode), else None."""
    names = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
    p = {**dict(zip(names, rest)), **kw}
    if name != "max_pool1d" or set(p) - set(names):
        return None

    def one(v):
        return v[0] if isinstance(v, (tuple, list)) and len(v) == 1 else v

    k, stride = one(p.get("kernel_size")), one(p.get("stride"))
    if isinstance(stride, (tuple, list)) and not stride:
        stride = None
    if not isinstance(k, int) or stride not in (None, k) or one(p.get("padding", 0)) != 0 \
            or one(p.get("dilation", 1)) != 1 or p.get("ceil_mode", False):
        return None
    return k


def _pool_indices(x, k):
    """``max_pool1d_with_indices(x, k)`` (first arg-max of each window) from a plain max pooling
    and one more: each position holding its window's maximum scores ``k - (its place in the
    window)``, so the windows' maximum score names the first arg-max (the index kernel is 10x
    slower than a pooling)."""
    F = torch.nn.functional
    y = F.max_pool1d(x, k)
    n, c, lp = y.shape
    rank = torch.arange(k, 0, -1, dtype=x.dtype, device=x.device).repeat(lp)
    # (compared with the repeated maxima into floats: 3x faster than into bools, or than a
    # comparison broadcast along windows of k)
    xs = x[..., :lp * k]
    hit = torch.eq(xs, y.repeat_interleave(k, -1), out=xs.new_empty(xs.shape)).mul_(rank)
    first = F.max_pool1d(hit, k).neg_().add_(torch.arange(k, (lp + 1) * k, k, dtype=x.dtype, device=x.device))
    return y, first.long()


# max-pool functions -> the same pooling returning (values, flat arg-max indices)
_WITH_INDICES = {
    "max_pool1d": "max_pool1d_with_indices", "max_pool2d": "max_pool2d_with_indices",
    "max_pool3d": "max_pool3d_with_indices", "adaptive_max_pool1d": "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d": "adaptive_max_pool2d_with_indices",
    **{f"{k}_with_indices": f"{k}_with_indices" for k in ("max_pool1d", "max_pool2d", "max_pool3d",
                                                          "adaptive_max_pool1d", "adaptive_max_pool2d")},
}


def _softmax_lse(x, dim):
    """``(softmax(x), logsumexp(x))`` along ``dim`` (the latter with ``dim`` kept). Exponentials
    relative to the row means (a sum: 5x cheaper than a maximum over short rows), or to the row
    maxima when a row spans more than exp's range (its sum overflows; sums are >= 1)."""
    m = x.mean(dim, keepdim=True)
    e = torch.sub(x, m).exp_()
    s = e.sum(dim, keepdim=True)
    if not bool(torch.isfinite(s).all()):
        m = x.amax(dim, keepdim=True)
        e = torch.sub(x, m, out=e).exp_()
        s = e.sum(dim, keepdim=True)
    return e.div_(s), s.log_().add_(m)


# the softmax rule's one-sided form needs r - x below this (beyond, the input's softmax may have
# underflowed where the reference's has not)
_ONE_SIDED = 20.0


class _Softmax(torch.autograd.Function):
    """Softmax along ``dim`` with the exact decomposed DeepLIFT rule.

    Softmax is ``y = e q`` with ``e = exp(x - c)`` (rescale rule: multiplier ``m_e``), ``q = 1 / s``,
    ``s = sum(e)`` (``dq = -q_x q_r ds`` exactly) and the Shapley product rule (``dy = e_bar dq +
    q_bar de``, bars: means of input and reference), so the multipliers of ``x`` are
    ``m_e (g q_bar - q_x q_r sum(g e_bar))`` for any common ``c``. With ``c`` the input's
    log-normaliser ``lse_x``: ``e_x = y_x``, ``q_x = 1``, ``e_r = y_r / rho``, ``q_r = rho``,
    ``rho = exp(lse_x - lse_r)``, so they are ``a (g - sum(g b))`` with, per element,
    ``a = (1 + rho) / 2 m_e`` and ``b = w y_x + (1 - w) y_r``, ``w = rho / (1 + rho) =
    sigmoid(lse_x - lse_r)``. ``m_e = y_x expm1(r - x) / (r - x)`` (no cancellation) where
    ``r - x <= 20`` everywhere, else ``max(y_x, y_r / rho) (1 - exp(-|x - r|)) / |x - r|`` (no
    overflow).
    ``fx``: the input's softmax and log-normaliser (per sequence when ``G > 1``)."""

    @staticmethod
    def forward(ctx, x, r, yr, lse_r, fx, dim, G=1, xc=None):
        ctx.dim = dim
        yx, lse_x = fx
        out = yx
        if G > 1:  # per (sequence, reference): input's rows broadcast against the references'
            n = len(yx)
            out = yx.new_empty(x.shape)  # values written when read
            yx, lse_x, x = yx[:, None], lse_x[:, None], xc[:, None]
            yr, lse_r, r = (t.view(n, G, *t.shape[1:]) for t in (yr, lse_r, r))
        delta = lse_x - lse_r
        w = torch.sigmoid(delta)
        half = torch.sigmoid(delta.neg_()).reciprocal_().mul_(0.5)  # (1 + rho) / 2
        t = torch.sub(r, x)
        if float(t.max()) <= _ONE_SIDED:
            a = torch.expm1(t).div_(t).nan_to_num_(nan=1.0)  # 0 / 0 where x == r: the derivative
            a.mul_(torch.mul(yx, half, out=t))
        else:
            t.abs_().neg_()
            a = torch.expm1(t).div_(t).nan_to_num_(nan=1.0)
            top = torch.mul(yr, w.reciprocal().mul_(0.5), out=t)
            a.mul_(torch.maximum(torch.mul(yx, half), top, out=top))
        ctx.save_for_backward(a.view(out.shape), torch.lerp(yr, yx, w, out=t).view(out.shape))
        return out

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        s = torch.linalg.vecdot(g, b, dim=ctx.dim).unsqueeze(ctx.dim)
        # (into b, read no more: one backward per pass)
        return torch.sub(g, s, out=b).mul_(a), None, None, None, None, None, None, None


class _LogSoftmax(torch.autograd.Function):
    """Log-softmax along ``dim``: ``(x - c) - log(s)`` with the rescale rule of ``exp`` and of
    ``log``."""

    @staticmethod
    def forward(ctx, x, r, dim):
        ctx.dim = dim
        ctx.save_for_backward(x, r)
        return torch.log_softmax(x, dim)

    @staticmethod
    def backward(ctx, g):
        dim = ctx.dim
        x, r = ctx.saved_tensors
        c = torch.maximum(x.amax(dim, keepdim=True), r.amax(dim, keepdim=True))
        ex, er = torch.exp(x - c), torch.exp(r - c)
        sx, sr = ex.sum(dim, keepdim=True), er.sum(dim, keepdim=True)
        ds = sx - sr
        small_s = _small(ds, sx)
        safe_ds = torch.where(small_s, torch.ones_like(ds), ds)
        m_e = _ratio(ex - er, x - r, x, lambda: ex)
        m_l = torch.where(small_s, 1 / sx, (torch.log(sx) - torch.log(sr)) / safe_ds)
        g_s = -(g.sum(dim, keepdim=True)) * m_l
        return g + g_s * m_e, None, None


def _conv_padding(padding, weight, dilation, dims: int):
    """Explicit symmetric padding per spatial dim, or None ('same' that pads unevenly)."""
    def per_dim(v):
        return tuple(v) if isinstance(v, (tuple, list)) else (v,) * dims

    dilation = per_dim(dilation)
    if padding == "valid":
        return (0,) * dims
    if padding == "same":
        total = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
        return None if any(t % 2 for t in total) else tuple(t // 2 for t in total)
    return per_dim(padding)


def _layer(name, x, p):
    """The linear layer ``name`` (``_SHARED``, parameters ``p``) applied to ``x``; a 1-d
    convolution with few input channels x taps (a first layer on one-hot input) as one matrix
    product over the unfolded windows, which oneDNN is 2.5-3x slower at."""
    F = torch.nn.functional
    if name == "linear":
        return F.linear(x, p["weight"], p["bias"])
    if name == "batch_norm":
        return F.batch_norm(x, p["running_mean"], p["running_var"], p["weight"], p["bias"], False, 0.0,
                            p["eps"])
    w = p["weight"]
    if name == "conv1d" and p["groups"] == 1 and x.dim() == 3 and w.shape[1] * w.shape[2] <= _COLS_MAX:
        (pad,), (dil,), (stride,) = p["padding_t"], p["dilation_t"], p["stride_t"]
        C, K = w.shape[1:]
        win = F.pad(x, (pad, pad)).unfold(2, dil * (K - 1) + 1, stride)[..., ::dil]  # (N, C, L', K)
        N, _, L = win.shape[:3]
        y = (w.reshape(len(w), C * K) @ win.permute(1, 3, 0, 2).reshape(C * K, N * L)).view(len(w), N, L)
        if p["bias"] is not None:
            y += p["bias"][:, None, None]
        return y.transpose(0, 1)
    conv = F.conv1d if name == "conv1d" else F.conv2d
    return conv(x, w, p["bias"], p["stride"], p["padding"], p["dilation"], p["groups"])


# a 1-d convolution with at most this many input channels x taps runs as a matrix product
_COLS_MAX = 96


# linear row-wise operations whose result on tensors with values not written yet is left so too
# (their gradient needs no values): sums and differences, scaling by a number, means and sums
_LINEAR = {"add", "__add__", "__radd__", "sub", "subtract", "__sub__", "__rsub__", "rsub", "neg", "negative",
           "__neg__", "mul", "multiply", "__mul__", "__rmul__", "div", "divide", "true_divide", "__truediv__",
           "__div__", "mean", "sum"}


class _LinearRows(torch.autograd.Function):
    """A linear operation in ``_LINEAR`` on the input pass whose result's values are written when
    read (``yc``: its per-sequence rows); the backward is its (value-free) gradient."""

    @staticmethod
    def forward(ctx, name, spec, yc, G, *tensors):
        ctx.name, ctx.spec, ctx.shapes = name, spec, [t.shape for t in tensors]
        return yc.new_empty((G * len(yc), *yc.shape[1:]))

    @staticmethod
    def backward(ctx, g):
        name, (sign, scale, dims, keepdim), shapes = ctx.name, ctx.spec, ctx.shapes
        if name in ("mean", "sum"):
            (shape,) = shapes
            if not keepdim:
                for d in sorted(_dim(d, len(shape)) for d in dims):
                    g = g.unsqueeze(d)
            g = g.expand(shape)
            if name == "mean":
                g = g / math.prod(shape[_dim(d, len(shape))] for d in dims)
            return None, None, None, None, g
        need = ctx.needs_input_grad[4:]
        return (None, None, None, None, *((g * (sg * scale) if sg * scale != 1 else g).sum_to_size(sh)
                                          if n else None for sg, sh, n in zip(sign, shapes, need)))


class _Shared(torch.autograd.Function):
    """A convolution or linear layer whose input holds ``G`` equal consecutive rows per group
    (the input pass: each sequence repeated once per reference): ``yc``, its output on one row
    per group (the full output's values are written by :class:`DeepLiftMode` when read); the
    backward is the layer's input gradient on every row (no second forward)."""

    @staticmethod
    def forward(ctx, x, yc, G, name, p):
        ctx.name, ctx.p, ctx.size = name, p, x.shape[2:]
        return yc.new_empty((len(x), *yc.shape[1:]))  # values written when read

    @staticmethod
    def backward(ctx, g):
        p = ctx.p
        if ctx.name == "linear":
            return g @ p["weight"], None, None, None, None
        if ctx.name == "batch_norm":
            scale = torch.rsqrt(p["running_var"] + p["eps"])
            if p["weight"] is not None:
                scale = scale * p["weight"]
            return g * scale.view(-1, *([1] * (g.dim() - 2))), None, None, None, None
        # the input gradient as a transposed convolution (it reads no input values: the input's
        # may not be written yet), its output padding restoring the input's length; with few
        # input channels x taps (as _layer's forward) one matrix product and K shifted sums
        w, size = p["weight"], ctx.size
        if ctx.name == "conv1d" and p["groups"] == 1 and p["stride_t"] == [1] \
                and w.shape[1] * w.shape[2] <= _COLS_MAX:
            (pad,), (dil,) = p["padding_t"], p["dilation_t"]
            O, C, K = w.shape
            N, _, Lo = g.shape
            cols = torch.matmul(w.reshape(O, C * K).T, g).view(N, C, K, Lo)
            gx = g.new_zeros((N, C, size[0] + 2 * pad))
            for k in range(K):
                gx[..., k * dil:k * dil + Lo] += cols[:, :, k]
            return gx[..., pad:pad + size[0]], None, None, None, None
        extra = [n - ((m - 1) * s - 2 * q + d * (k - 1) + 1) for n, m, s, q, d, k in zip(
            size, g.shape[2:], p["stride_t"], p["padding_t"], p["dilation_t"], w.shape[2:])]
        F = torch.nn.functional
        conv_t = F.conv_transpose1d if w.dim() == 3 else F.conv_transpose2d
        gx = conv_t(g, w, None, p["stride_t"], p["padding_t"], extra, p["groups"], p["dilation_t"])
        return gx, None, None, None, None


class DeepLiftMode(TorchFunctionMode):
    """Records reference values (``phase="reference"``) or applies DeepLIFT rules using them
    (``phase="input"``). Used by :func:`deep_lift`; see the module doc."""

    def __init__(self, group: int = 1):
        super().__init__()
        self.phase = "reference"
        self.records: list = []
        self.pos = 0
        self.group = group  # the input pass repeats each input this many times in a row
        # input pass: id(tensor) -> (tensor, its per-sequence rows) for tensors known to repeat
        # each row of dim 0 ``group`` times (followed from the input through row-wise operations)
        self._rows: dict = {}
        self.n_rows = 0
        # storage -> (full tensor, its per-sequence rows) for full tensors whose values are written
        # only when something reads them (see _full): most are only ever read through their rows
        self._unfilled: dict = {}

    def start_input(self, x=None):
        """Switch to the input pass; ``x``: the input, whose rows repeat ``group`` times."""
        self.phase, self.pos = "input", 0
        if x is not None and self.group > 1:
            self.n_rows = len(x)
            self._share(x, x[::self.group])

    def _share(self, full, rows):
        """Note that ``full`` repeats each of ``rows`` ``group`` times along dim 0; returns ``full``."""
        self._rows[id(full)] = (full, rows)
        return full

    def _c(self, t):
        """The per-sequence rows of ``t`` when it is known to repeat them, else None."""
        e = self._rows.get(id(t)) if _is_t(t) else None
        return e[1] if e is not None and e[0] is t else None

    def _lazy(self, rows, full=None):
        """A full tensor (``full``, or a new one) repeating each of ``rows`` ``group`` times whose
        values are written when read (:meth:`_full`)."""
        if full is None:
            full = rows.new_empty((self.n_rows, *rows.shape[1:]))
        self._unfilled[full.untyped_storage().data_ptr()] = (full, rows)
        return self._share(full, rows)

    def _full(self, t):
        """``t`` with its values (written from its rows now when they were left for later)."""
        if self._unfilled and _is_t(t):
            e = self._unfilled.pop(t.untyped_storage().data_ptr(), None)
            if e is not None:  # (through .data: not an in-place change to autograd)
                e[0].data.copy_(e[1].repeat_interleave(self.group, 0))
        return t

    def _fill(self, args, kwargs):
        """Values for every tensor among ``args`` and ``kwargs`` (and in their lists)."""
        if self._unfilled:
            for a in (*args, *kwargs.values()):
                for t in (a if isinstance(a, (list, tuple)) else (a,)):
                    self._full(t)

    def _record(self, *tensors):
        self.records.append(tuple(t.detach() if _is_t(t) else t for t in tensors))

    def _next(self, *tensors):
        if self.pos >= len(self.records):
            raise RuntimeError("DeepLIFT: the model ran more nonlinear operations on the input than "
                               "on the reference (data-dependent control flow is not supported)")
        rec = self.records[self.pos]
        self.pos += 1
        for t, s in zip(tensors, rec):
            if _is_t(t) and _is_t(s) and t.shape != s.shape:
                raise RuntimeError(f"DeepLIFT: operation {self.pos} saw shape {tuple(t.shape)} on the "
                                   f"input but {tuple(s.shape)} on the reference")
        return rec

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.phase == "reference":  # no gradient needed (modules still see grad mode on)
            with torch.no_grad():
                return self._dispatch(func, args, kwargs)
        return self._dispatch(func, args, kwargs)

    def _dispatch(self, func, args, kwargs):
        name = getattr(func, "__name__", None)
        try:
            if name in _SHARED and self.group > 1 and self.phase == "input":
                return self._shared(name, args, kwargs)
            if name == "conv1d" and name in _SHARED and self.phase == "reference":
                x, p = self._layer_params(name, args, kwargs)
                return _layer(name, x, p)
            if name in _UNARY:
                return self._unary(func, args, kwargs)
            if name in _SELECT:
                return self._select(func, name, args, kwargs)
            if name in _BILINEAR:
                return self._bilinear(func, name, args, kwargs)
            if name in _DIV and len(args) > 1 and _is_t(args[1]) and _is_t(args[0]) \
                    and "rounding_mode" not in kwargs:
                with self:
                    return args[0] * torch.reciprocal(args[1])
            if name in ("softmax", "log_softmax"):
                return self._softmax(func, name, args, kwargs)
            if name in ("maximum", "minimum"):
                return self._minmax2(name == "maximum", args[0], args[1])
            if name == "layer_norm":
                return self._layer_norm(*args, **kwargs)
            if name == "scaled_dot_product_attention":
                with self:
                    return _sdpa(*args, **kwargs)
            if name == "multi_head_attention_forward":
                with self:
                    return _mha_forward(*args, **kwargs)
            if name == "lstm" and len(args) >= 9 and isinstance(args[1], (tuple, list)):
                with self:
                    return _lstm(*args[:9])
            if name == "glu":
                with self:
                    x = args[0]
                    dim = kwargs.get("dim", args[1] if len(args) > 1 else -1)
                    a, b = x.chunk(2, dim)
                    return a * torch.sigmoid(b)
        except _PassThrough:
            pass
        if not (self._rows and self.phase == "input"):
            return func(*args, **kwargs)
        return self._pass_through(func, name, args, kwargs)

    # --- the input pass's per-sequence rows ----------------------------------------------------
    def _pass_through(self, func, name, args, kwargs):
        """An operation without a rule on the input pass, on the full tensors (given their values
        first; a view of values not written yet stays so), its rows followed."""
        if name in _INPLACE or name and name.endswith("_") and not name.endswith("__") or "out" in kwargs:
            for full, rows in self._unfilled.values():  # changed in place: values everywhere,
                full.data.copy_(rows.repeat_interleave(self.group, 0))  # nothing followed
            self._unfilled.clear()
            self._rows.clear()
            return func(*args, **kwargs)
        if name in _METADATA:
            return func(*args, **kwargs)
        x = args[0] if args else None
        if name in _DROPOUT and self._c(x) is not None \
                and not kwargs.get("training", args[2] if len(args) > 2 else True):
            return x  # (eval: the input itself)
        if name in _LINEAR and self._unfilled:
            out = self._linear_rows(func, name, args, kwargs)
            if out is not None:
                return out
        if name in _VIEWS and self._c(x) is not None:
            ptr = x.untyped_storage().data_ptr()
            out = func(*args, **kwargs)
            rows = self._rows_of(func, name, args, kwargs, out) if _is_t(out) and out.dim() else None
            if rows is not None and out.shape[0] == self.n_rows and rows.shape[1:] == out.shape[1:]:
                if ptr in self._unfilled and out.untyped_storage().data_ptr() != ptr:
                    return self._lazy(rows, out)  # a copy of values not written yet
                return self._share(out, rows)
            if ptr in self._unfilled:  # a view that loses the rows: values first
                self._full(x)
                out = func(*args, **kwargs)
            return out
        self._fill(args, kwargs)
        out = func(*args, **kwargs)
        self._follow(func, name, args, kwargs, out)
        return out

    def _follow(self, func, name, args, kwargs, out):
        """After a pass-through operation on full tensors: when its result repeats each row
        because its inputs do, note its per-sequence rows (the same operation on theirs)."""
        if isinstance(out, (tuple, list)) and name in ("chunk", "split", "unbind", "tensor_split"):
            x = args[0] if args else None
            c = self._c(x)
            dim = kwargs.get("dim", args[2] if len(args) > 2 else 0) if name != "unbind" else \
                kwargs.get("dim", args[1] if len(args) > 1 else 0)
            if c is not None and isinstance(dim, int) and _dim(dim, x.dim()) != 0:
                for o, oc in zip(out, func(c, *args[1:], **kwargs)):
                    self._share(o, oc)
            return
        if not _is_t(out) or out.dim() == 0 or out.shape[0] != self.n_rows:
            return
        try:
            rows = self._rows_of(func, name, args, kwargs, out)
        except (RuntimeError, TypeError, ValueError, IndexError):
            rows = None
        if rows is not None and rows.shape[1:] == out.shape[1:]:
            self._share(out, rows)

    def _linear_rows(self, func, name, args, kwargs):
        """A ``_LINEAR`` operation on at least one tensor whose values are not written yet, left
        so too (see :class:`_LinearRows`), or None."""
        tensors = [t for t in (*args, *kwargs.values()) if _is_t(t)]
        if not any(t.untyped_storage().data_ptr() in self._unfilled for t in tensors) \
                or not all(torch.is_floating_point(t) for t in tensors):
            return None
        if name in ("mean", "sum"):
            dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
            dims = dim if isinstance(dim, (tuple, list)) else (dim,)
            keepdim = kwargs.get("keepdim", args[2] if len(args) > 2 else False)
            if len(tensors) != 1 or dim is None or not all(isinstance(d, int) for d in dims) \
                    or set(kwargs) - {"dim", "keepdim"} or len(args) > 3:
                return None
            spec = ((1,), 1.0, tuple(dims), bool(keepdim))
        else:
            if len(tensors) == 1:  # with numbers: a scale (sums with a number are not linear)
                if name in ("neg", "negative", "__neg__"):
                    spec = ((-1,), 1.0, (), False)
                elif len(args) == 2 and not kwargs and isinstance(args[1], (int, float)) and not \
                        isinstance(args[1], bool) and name not in ("__rtruediv__",) and (
                        name in ("mul", "multiply", "__mul__", "__rmul__") or
                        name in ("div", "divide", "true_divide", "__truediv__", "__div__") and args[1] != 0):
                    v = float(args[1])
                    spec = ((1,), v if "mul" in name else 1 / v, (), False)
                else:
                    return None
            elif len(tensors) == 2 and len(args) == 2 and set(kwargs) <= {"alpha"} \
                    and name not in ("mul", "multiply", "__mul__", "__rmul__", "div", "divide", "true_divide",
                                     "__truediv__", "__div__"):
                alpha = float(kwargs.get("alpha", 1))
                minus = name in ("sub", "subtract", "__sub__")
                flip = name in ("__rsub__", "rsub")
                spec = ((-alpha, 1) if flip else (1, -alpha if minus else alpha), 1.0, (), False)
            else:
                return None
        try:
            rows = self._rows_of(func, name, args, kwargs, None)
        except (RuntimeError, TypeError, ValueError, IndexError):
            return None
        if rows is None or not rows.dim():
            return None
        return self._lazy(rows, _LinearRows.apply(name, spec, rows, self.group, *tensors))

    def _rows_of(self, func, name, args, kwargs, out):
        """The per-sequence rows of the result of ``func`` (``out``, or None when it was not
        computed on the full tensors) when they follow from its inputs' rows, else None."""
        x = args[0] if args else None
        if name in _SAME_ORDER or name in _DROPOUT:
            c = self._c(x)
            if c is None or x.dim() == 0:
                return None
            if name in _DROPOUT and kwargs.get("training", args[2] if len(args) > 2 else True):
                return None
            if out is None:
                return c if name in _DROPOUT else func(c, *args[1:], **kwargs)
            if x.shape[0] != out.shape[0]:
                return None
            return c.reshape(len(c), *out.shape[1:]).to(dtype=out.dtype, device=out.device)
        if name in ("transpose", "swapaxes", "swapdims"):
            c = self._c(x)
            dims = [kwargs.get(k, a) for k, a in zip(("dim0", "dim1"), args[1:3])]
            if c is None or len(dims) != 2 or 0 in (_dim(d, x.dim()) for d in dims):
                return None
            return c.transpose(*dims)
        if name == "permute":
            c = self._c(x)
            dims = args[1] if len(args) == 2 and isinstance(args[1], (tuple, list)) else args[1:]
            dims = kwargs.get("dims", dims)
            if c is None or not dims or _dim(dims[0], x.dim()) != 0:
                return None
            return c.permute(*dims)
        if name == "__getitem__":
            c, idx = self._c(x), args[1]
            idx = idx if isinstance(idx, tuple) else (idx,)
            if c is None or not idx or any(_is_t(i) or isinstance(i, (list, tuple)) for i in idx):
                return None
            first = idx[0]
            if first is Ellipsis:
                if sum(i is not None and i is not Ellipsis for i in idx) >= x.dim():
                    return None
            elif first != slice(None):
                return None
            return c[args[1]]
        if name in _POINTWISE:
            ndim = max((t.dim() for t in (*args, *kwargs.values()) if _is_t(t)), default=0)
            mapped = self._rowwise(ndim, args, kwargs)
            return None if mapped is None else func(*mapped[0], **mapped[1])
        if name in _REDUCE:
            c = self._c(x)
            dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
            dims = dim if isinstance(dim, (tuple, list)) else (dim,)
            if c is None or dim is None or any(not isinstance(d, int) or _dim(d, x.dim()) == 0 for d in dims):
                return None
            return func(c, *args[1:], **kwargs)
        if name in ("cat", "concat", "concatenate", "stack") and args and isinstance(args[0], (tuple, list)):
            parts = [self._c(t) for t in args[0]]
            dim = kwargs.get("dim", args[1] if len(args) > 1 else 0)
            if not parts or any(c is None for c in parts) or not isinstance(dim, int) \
                    or _dim(dim, parts[0].dim() + (name == "stack")) == 0:
                return None
            return func(parts, *args[1:], **kwargs)
        return None

    def _rowwise(self, ndim, args, kwargs):
        """The arguments of an operation broadcasting to ``ndim`` dims with each tensor that
        spans dim 0 replaced by its per-sequence rows; None when one of them is not known."""
        found = False

        def row(t):
            nonlocal found
            if not _is_t(t) or t.dim() < ndim or t.shape[0] == 1:
                return self._full(t)  # broadcast over dim 0 (or not a tensor)
            c = self._c(t)
            if c is None:
                raise _PassThrough
            found = True
            return c

        try:
            mapped = [row(a) for a in args], {k: row(v) for k, v in kwargs.items()}
        except _PassThrough:
            return None
        return mapped if found else None

    # --- rules -------------------------------------------------------------------------------
    def _shared(self, name, args, kwargs):
        """A convolution, linear layer or batch norm (eval) on the input pass, computed once per
        group of equal rows (see :class:`_Shared`) when its input has them and its parameters
        are leaves."""
        x, p = self._layer_params(name, args, kwargs)
        G = self.group
        if x.dim() < 2 or x.shape[0] % G:
            raise _PassThrough
        rows = self._c(x)
        # not followed: every row equal to the first of its group? (not so where the leading dim is
        # not the batch, e.g. sequence-first layouts, or a model that mixes its batch)
        if rows is None:
            self._full(x)
            if not torch.equal(x.view(-1, G, *x.shape[1:]), x[::G, None].expand(-1, G, *x.shape[1:])):
                raise _PassThrough
            rows = x[::G]
        with torch.no_grad():
            yc = _layer(name, rows, p)
        return self._lazy(yc, _Shared.apply(x, yc, G, name, p))

    def _layer_params(self, name, args, kwargs):
        """``(input, parameters)`` of a linear layer in ``_SHARED`` whose parameters are leaves
        (and whose padding is symmetric), else ``_PassThrough``."""
        p = {"weight": None, "bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1,
             **dict(zip(_SHARED[name], args)), **kwargs}
        x = p.pop("input")
        params = [p[k] for k in ("weight", "bias", "running_mean", "running_var") if p.get(k) is not None]
        if not _is_t(x) or not all(_is_t(t) and t.grad_fn is None for t in params):
            raise _PassThrough
        if name == "batch_norm" and (p.get("training") or p.get("running_var") is None):
            raise _PassThrough
        w = p["weight"]
        if name in ("conv1d", "conv2d"):
            dims = w.dim() - 2
            pad = _conv_padding(p["padding"], w, p["dilation"], dims)
            if pad is None or x.dim() != dims + 2:
                raise _PassThrough

            def per_dim(v):
                return list(v) if isinstance(v, (tuple, list)) else [v] * dims

            p.update(stride_t=per_dim(p["stride"]), padding_t=list(pad), dilation_t=per_dim(p["dilation"]))
        return x, p

    def _unary(self, func, args, kwargs):
        idx = [i for i, a in enumerate(args) if _is_t(a)]
        if len(idx) != 1 or any(_is_t(v) for v in kwargs.values()):
            raise _PassThrough
        i = idx[0]
        x = args[i]
        if not torch.is_floating_point(x):
            raise _PassThrough
        rest = [a for j, a in enumerate(args) if j == i or not isinstance(a, bool)]
        kw = {k: v for k, v in kwargs.items() if k != "inplace"}

        def fn(t):
            a = list(rest)
            a[i] = t
            return func(*a, **kw)

        if self.phase == "reference":
            y = fn(x)
            self._record(x, y)
            return y
        r, yr = self._next(x)
        name = getattr(func, "__name__", None)
        linear = name in _PIECEWISE  # (bounds are numbers: x is the one tensor argument)
        xc = self._c(x)
        if xc is None:
            return _Rescale.apply(self._full(x), r, yr, fn, linear)
        with torch.no_grad():
            yc = fn(xc)
        return self._lazy(yc, _Rescale.apply(x, r, yr, fn, linear, (xc, yc), self.group))

    def _select(self, func, name, args, kwargs):
        x = args[0]
        if not _is_t(x) or not torch.is_floating_point(x):
            raise _PassThrough
        if name in ("max", "min") and (len(args) > 1 and _is_t(args[1]) or _is_t(kwargs.get("other"))):
            other = args[1] if len(args) > 1 else kwargs["other"]
            return self._minmax2(name == "max", x, other)
        rest, kw = args[1:], dict(kwargs)
        if name in _WITH_INDICES and x.dim() >= 3:
            return self._maxpool(name, x, rest, kw)
        self._full(x)

        def full(t):
            return func(t, *rest, **kw)

        def fn(t):
            out = full(t)
            return out[0] if isinstance(out, tuple) else out

        out = full(x)
        if self.phase == "reference":
            self._record(x)
            return out
        (r,) = self._next(x)
        y = _Select.apply(x, r, fn)
        if isinstance(out, tuple):
            return type(out)((y, *out[1:])) if type(out) is not tuple else (y, *out[1:])
        return y

    def _maxpool(self, name, x, rest, kw):
        import torch.nn.functional as F

        wants = bool(kw.pop("return_indices", False)) or name.endswith("_with_indices")
        k = _window(name, rest, kw) if x.dim() == 3 else None
        pool = getattr(F, _WITH_INDICES[name])

        def with_indices(t):
            return pool(t, *rest, **kw) if k is None else _pool_indices(t, k)

        if self.phase == "reference":
            y, idx = with_indices(x)
            self._record(x, idx)
            return (y, idx) if wants else y
        r, ib = self._next(x)
        xc = self._c(x)
        if xc is None:
            y, ia = _MaxPool.apply(self._full(x), r, ib, with_indices)
            return (y, ia) if wants else y
        with torch.no_grad():
            yc, iac = with_indices(xc)
        y, ia = _MaxPool.apply(x, r, ib, with_indices, (yc, iac, xc), self.group)
        self._lazy(yc, y)
        return (y, self._share(ia, iac)) if wants else y

    def _minmax2(self, is_max, a, b):
        with self:
            return b + torch.relu(a - b) if is_max else a - torch.relu(a - b)

    def _bilinear(self, func, name, args, kwargs):
        if name == "einsum":
            eq, ops = args[0], args[1:]
            if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
                ops = tuple(ops[0])
            if len(ops) != 2 or not all(_is_t(o) for o in ops):
                raise _PassThrough
            a, b = ops

            def op(u, v):
                return torch.einsum(eq, u, v)
        else:
            if len(args) < 2:
                other = kwargs.get("other")
                if other is None:
                    raise _PassThrough
                args = (args[0], other)
            a, b = args[0], args[1]
            if not (_is_t(a) and _is_t(b)) or not (torch.is_floating_point(a) and torch.is_floating_point(b)):
                raise _PassThrough
            base = {"__rmatmul__": "__matmul__", "__imul__": "mul"}.get(name, name)
            if name == "__rmatmul__":
                a, b = b, a
            if base in ("mul", "multiply", "__mul__", "__rmul__"):
                op = torch.mul
            elif base in ("matmul", "__matmul__"):
                op = torch.matmul
            else:
                op = getattr(torch, base)
        if self.phase == "reference":
            self._record(a, b)
            return _matmul(a, b) if op in (torch.matmul, torch.bmm) else op(a, b)
        ar, br = self._next(a, b)
        rows = self._bilinear_rows(op, a, b) if self._rows else None
        if rows is None:
            self._fill((a, b), {})
            return _Bilinear.apply(a, b, ar, br, op)
        own = tuple(None if c is t else c for c, t in zip(rows, (a, b)))  # operands' own rows
        for c, t in zip(own, (a, b)):
            if c is None:
                self._full(t)
        with torch.no_grad():
            yc = _matmul(*rows) if op in (torch.matmul, torch.bmm) else op(*rows)
        return self._lazy(yc, _Bilinear.apply(a, b, ar, br, op, yc, self.group, own))

    def _bilinear_rows(self, op, a, b):
        """The operands of ``op(a, b)`` that give its per-sequence rows (each operand spanning
        the batch replaced by its own), or None."""
        if op is torch.mul:
            m = self._rowwise(max(a.dim(), b.dim()), (a, b), {})
            return None if m is None else m[0]
        if op not in (torch.matmul, torch.bmm, torch.mm) or a.dim() < 2 or b.dim() < 1:
            return None
        if a.dim() >= 3 and b.dim() == a.dim():  # batched: dim 0 is the batch in both
            m = self._rowwise(a.dim(), (a, b), {})
            return None if m is None else m[0]
        if b.dim() < a.dim() or a.dim() == 2:  # rows of a times one matrix (or vector)
            ac = self._c(a)
            return None if ac is None else (ac, b)
        if b.dim() >= 3 and a.dim() < b.dim():  # one matrix times each batch entry of b
            bc = self._c(b)
            return None if bc is None else (a, bc)
        return None

    def _softmax(self, func, name, args, kwargs):
        x = args[0]
        dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
        if dim is None or not _is_t(x):
            raise _PassThrough
        xc = self._c(x)
        dtype = kwargs.get("dtype")
        if dtype is not None:
            x = self._full(x).to(dtype)
            xc = None if xc is None else xc.to(dtype)
        if name == "log_softmax":
            self._full(x)
            if self.phase == "reference":
                self._record(x)
                return torch.log_softmax(x, dim)
            (r,) = self._next(x)
            return _LogSoftmax.apply(x, r, dim)
        if self.phase == "reference":
            y, lse = _softmax_lse(x, dim)
            self._record(x, y, lse)
            return y
        r, yr, lse_r = self._next(x)
        if xc is not None and _dim(dim, x.dim()) == 0:
            xc = None
        if xc is None:
            self._full(x)
        with torch.no_grad():
            fx = _softmax_lse(x if xc is None else xc, dim)
        if xc is None:
            return _Softmax.apply(x, r, yr, lse_r, fx, dim)
        return self._lazy(fx[0], _Softmax.apply(x, r, yr, lse_r, fx, dim, self.group, xc))

    def _layer_norm(self, x, normalized_shape, weight=None, bias=None, eps=1e-5, *_, **__):
        """Layer norm with the rules of its decomposition as one operation (:class:`_LayerNorm`)."""
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        dims = tuple(range(-len(normalized_shape), 0))
        if not _is_t(x) or not torch.is_floating_point(x) or any(
                _is_t(t) and t.grad_fn is not None for t in (weight, bias)):
            raise _PassThrough
        if self.phase == "reference":
            xc, ve, sr, y = _layer_norm_parts(x, dims, weight, bias, eps)
            self._record(x, xc, ve, sr)
            return y
        _, xc_r, ve_r, s_r = self._next(x)
        rows = self._c(x)
        with torch.no_grad():
            src = self._full(x) if rows is None else rows
            xc, ve, sx, y = _layer_norm_parts(src, dims, weight, bias, eps)
        G = 1 if rows is None else self.group

        def pairs(t, tr):  # (t per pair, or the rows broadcast over the references; tr per pair)
            return (t, tr) if G == 1 else (t.unsqueeze(1), tr.view(len(t), G, *tr.shape[1:]))

        xcm = torch.add(*pairs(xc, xc_r)).mul_(0.5).view(xc_r.shape)  # mean operands
        sm = torch.add(*pairs(sx, s_r)).mul_(0.5).view(s_r.shape)
        dv = torch.sub(*pairs(ve, ve_r))
        ds = torch.sub(*pairs(sx, s_r))
        # rsqrt's rescale multiplier, its derivative -s^3 / 2 where the quotient is ill-conditioned
        ms = _ratio(ds, dv, pairs(ve, ve_r)[0], lambda: pairs(sx.pow(3).mul_(-0.5), s_r)[0]).view(s_r.shape)
        if G == 1:
            return _LayerNorm.apply(x, weight, xcm, sm, ms, dims, y)
        return self._lazy(y, _LayerNorm.apply(x, weight, xcm, sm, ms, dims, y, G))


class _PassThrough(Exception):
    pass


def _layer_norm_parts(x, dims, weight, bias, eps):
    """``(x - mean, var + eps, (var + eps)^(-1/2), layer norm)`` over ``dims``."""
    xc = x - x.mean(dims, keepdim=True)
    ve = (xc * xc).mean(dims, keepdim=True).add_(eps)
    s = torch.rsqrt(ve)
    y = xc * s
    if weight is not None:
        y.mul_(weight)
    if bias is not None:
        y.add_(bias)
    return xc, ve, s, y


class _LayerNorm(torch.autograd.Function):
    """Layer norm ``y = xc s w + b`` (``xc = x - mean(x)``, ``s = (mean(xc^2) + eps)^(-1/2)``)
    with the rules of that decomposition: the Shapley product rule of ``xc xc`` and ``xc s``
    (mean operands ``xcm``, ``sm``: input and reference averaged) and the rescale rule of the
    inverse square root (multiplier ``ms``); centring, means, ``w`` and ``b`` are linear. ``yc``:
    the output's values (per sequence when ``G > 1``: the full output's are written when read)."""

    @staticmethod
    def forward(ctx, x, weight, xcm, sm, ms, dims, yc, G=1):
        ctx.dims = dims
        ctx.save_for_backward(xcm, sm, ms, weight)
        return yc if G == 1 else yc.new_empty((G * len(yc), *yc.shape[1:]))

    @staticmethod
    def backward(ctx, g):
        xcm, sm, ms, w = ctx.saved_tensors
        dims = ctx.dims
        g0 = g if w is None else g * w
        n = math.prod(xcm.shape[d] for d in dims)
        gv = (g0 * xcm).sum(dims, keepdim=True).mul_(ms).mul_(2 / n)  # through xc^2's mean and s
        gxc = g0.mul(sm).add_(xcm * gv)
        return gxc.sub_(gxc.mean(dims, keepdim=True)), None, None, None, None, None, None, None


def _sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
          enable_gqa=False):
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale
    Lq, Lk = query.shape[-2], key.shape[-2]
    if is_causal:
        causal = torch.ones(Lq, Lk, dtype=torch.bool, device=query.device).tril()
        scores = scores.masked_fill(~causal, float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    return torch.softmax(scores, dim=-1) @ value


def _lstm(x, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
    """``torch.lstm`` (as called by ``nn.LSTM``, unpacked input, eval mode) step by step, so that
    its sigmoids, tanhs and products get their DeepLIFT rules."""
    import torch.nn.functional as F

    D = 2 if bidirectional else 1
    per = 4 if has_biases else 2
    if len(params) != num_layers * D * per:
        raise _PassThrough  # projections (proj_size) are not decomposed
    unbatched = x.dim() == 2
    if unbatched:
        x = x[None] if batch_first else x[:, None]
    if not batch_first:
        x = x.transpose(0, 1)
    h0, c0 = hx
    if h0.dim() == 2:
        h0, c0 = h0[:, None], c0[:, None]
    L = x.shape[1]
    inp, hn, cn = x, [], []
    for layer in range(num_layers):
        outs = []
        for d in range(D):
            k = (layer * D + d) * per
            w_ih, w_hh = params[k], params[k + 1]
            b_ih, b_hh = (params[k + 2], params[k + 3]) if has_biases else (None, None)
            h, c = h0[layer * D + d], c0[layer * D + d]
            xs = F.linear(inp, w_ih, b_ih)
            seq = [None] * L
            for t in (range(L) if d == 0 else reversed(range(L))):
                i, f, g, o = (xs[:, t] + F.linear(h, w_hh, b_hh)).chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                seq[t] = h
            outs.append(torch.stack(seq, 1))
            hn.append(h)
            cn.append(c)
        inp = torch.cat(outs, -1) if D == 2 else outs[0]
    out = inp if batch_first else inp.transpose(0, 1)
    hn, cn = torch.stack(hn), torch.stack(cn)
    if unbatched:
        out = out[0] if batch_first else out[:, 0]
        hn, cn = hn[:, 0], cn[:, 0]
    return out, hn, cn


def _mha_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                 is_causal=False):
    """``F.multi_head_attention_forward`` written with decomposable operations (eval mode)."""
    import torch.nn.functional as F

    if bias_k is not None or add_zero_attn or static_k is not None or static_v is not None:
        raise NotImplementedError("DeepLIFT: MultiheadAttention with bias_k/add_zero_attn/static "
                                  "keys is not supported")
    unbatched = query.dim() == 2
    if unbatched:
        query, key, value = query[:, None], key[:, None], value[:, None]
    Lq, N, E = query.shape
    Lk = key.shape[0]
    hd = E // num_heads
    if use_separate_proj_weight:
        wq, wk, wv = q_proj_weight, k_proj_weight, v_proj_weight
    else:
        wq, wk, wv = in_proj_weight.chunk(3)
    bq = bk = bv = None
    if in_proj_bias is not None:
        bq, bk, bv = in_proj_bias.chunk(3)
    q, k, v = F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def heads(t, length):
        return t.reshape(length, N * num_heads, hd).transpose(0, 1)

    q, k, v = heads(q, Lq), heads(k, Lk), heads(v, Lk)
    scores = (q @ k.transpose(-2, -1)) / (hd ** 0.5)
    if is_causal and attn_mask is None:
        attn_mask = ~torch.ones(Lq, Lk, dtype=torch.bool, device=q.device).tril()
    if attn_mask is not None:
        if attn_mask.dim() == 3:
            attn_mask = attn_mask.reshape(N * num_heads, Lq, Lk)
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    if key_padding_mask is not None:
        kpm = key_padding_mask.reshape(N, 1, 1, Lk).expand(N, num_heads, 1, Lk).reshape(N * num_heads, 1, Lk)
        if kpm.dtype == torch.bool:
            scores = scores.masked_fill(kpm, float("-inf"))
        else:
            scores = scores + kpm
    w = torch.softmax(scores, dim=-1)
    out = (w @ v).transpose(0, 1).reshape(Lq, N, E)
    out = F.linear(out, out_proj_weight, out_proj_bias)
    weights = None
    if need_weights:
        weights = w.reshape(N, num_heads, Lq, Lk)
        if average_attn_weights:
            weights = weights.mean(1)
    if unbatched:
        out = out[:, 0]
        weights = weights[0] if weights is not None else None
    return out, weights


def _contributions(model, x, refs, target, activation, args=(), group: int = 1):
    """Multipliers and output deltas for inputs ``x`` and references ``refs`` (same shape); the
    extra inputs ``args`` (row-aligned) are the same in both passes. ``group``: ``x`` repeats
    each input this many times in a row (its convolutions and linear layers then run once per
    input)."""
    mode = DeepLiftMode(group)
    with torch.enable_grad():
        rr = refs.detach().clone().requires_grad_(True)  # same code paths as the input pass
        with mode:
            out_r = model_output(model, rr, target, activation, args).detach()
        xx = x.detach().clone().requires_grad_(True)
        mode.start_input(xx)
        with mode:
            out_x = mode._full(model_output(model, xx, target, activation, args))
        (mult,) = torch.autograd.grad(out_x.sum(), xx)
    if mode.pos != len(mode.records):
        raise RuntimeError("DeepLIFT: the model ran fewer nonlinear operations on the input than on "
                           "the reference (data-dependent control flow is not supported)")
    return mult, out_x.detach(), out_r


def _pair_bytes(model, r, target, activation, args=()) -> int:
    """Bytes per row of the largest activation that DeepLIFT records, from a reference pass over
    the one row ``r`` ``(1, A, L)``."""
    mode = DeepLiftMode()
    with torch.enable_grad(), mode:
        model_output(model, r.detach().clone().requires_grad_(True), target, activation, args)
    return max((t.numel() * t.element_size() for rec in mode.records for t in rec
                if _is_t(t) and t.dim() and t.shape[0] == 1), default=0)


# on CPU, a pass holds at most about this many bytes in its largest activation (passes whose
# activations stay in the caches run the rules' elementwise work 1.3-2x faster, measured on
# ResidualBind and cnn_attention at one thread; 5 MB: ResidualBind 400 bp one sequence per pass,
# 10% faster than two)
_PASS_BYTES = 5 << 20


def _delta_failures(attr_sum, delta, rtol, atol) -> tuple[int, float]:
    """(number of pairs whose contributions miss ``f(x) - f(r)`` by more than ``rtol |delta| +
    atol``, the largest ``|sum - delta|``)."""
    err = (attr_sum - delta).abs()
    bad = err > rtol * delta.abs() + atol
    return int(bad.sum()), float(err.max()) if len(err) else 0.0


def _warn_delta(model, n_bad: int, n: int, worst: float) -> None:
    """One warning line for a failed summation-to-delta check."""
    hint = ("the model is TorchScript, whose operations DeepLIFT's rules cannot see (load its Python "
            "module instead)" if isinstance(model, torch.jit.ScriptModule) else
            "the model uses an operation without a DeepLIFT rule, or the values are numerically unstable")
    warnings.warn(f"DeepLIFT: contributions do not sum to f(x) - f(reference) for {n_bad} of {n} "
                  f"input/reference pairs (max |sum - delta| = {worst:.3g}); {hint}",
                  RuntimeWarning, stacklevel=3)


@captum_aliases(baselines="references")
def deep_lift_shap(model: nn.Module, X, target=0, activation=None, references=None, n_shuffles: int = 20,
                   hypothetical: bool = False, correct: bool = False, args=None, alphabet=None,
                   batch_size: int = 32, rtol: float = 1e-3, atol: float = 1e-5,
                   return_delta: bool = False, device=None, random_state=None, verbose: bool = False):
    """DeepSHAP: DeepLIFT averaged over references (by default ``n_shuffles`` dinucleotide shuffles
    of each sequence).

    Parameters
    ----------
    X : ``(N, A, L)`` one-hot (numpy or tensor).
    references : None (dinucleotide shuffles), ``"zeros"``, ``"shuffle"``, ``(A, L)``,
        ``(N, A, L)`` or ``(N, R, A, L)``.
    hypothetical : return hypothetical contributions ``(N, A, L)``: for each letter ``b`` at
        position ``l``, the contribution letter ``b`` would have there,
        ``m[b, l] - sum_a m[a, l] r[a, l]``, averaged over references (their value at the observed
        letter is the actual contribution of that position).
    correct : apply gradient correction to the multipliers first.
    args : extra model inputs, each ``(N, ...)``; the same for a sequence and its references.
    alphabet : the alphabet when it has not 4, 20 or 21 letters.
    batch_size : at most this many sequences per pass (each expands to ``R`` input/reference
        pairs); on CPU fewer when the largest activation of a pass would exceed about 5 MB
        (cache-sized passes are faster; the values do not depend on it).
    rtol, atol : tolerance of the summation-to-delta check: one ``RuntimeWarning`` line naming the
        largest ``|sum - delta|`` when ``|sum(contributions) - (f(x) - f(r))| > rtol |f(x) - f(r)| +
        atol`` for any pair (e.g. an operation without a rule, or a TorchScript model).
    return_delta : also return ``(N, R)`` ``sum(contributions) - (f(x) - f(r))``.

    Returns
    -------
    ``(N, A, L)`` contributions ``multipliers * (x - r)`` averaged over references (the same kind
    as ``X``), and the deltas when ``return_delta``.
    """
    from seqlens.attribution.gradients import _baselines

    check_count("n_shuffles", n_shuffles)
    check_count("batch_size", batch_size)
    device = resolve_device(device)
    T = as_tensor(X, alphabet=alphabet)
    extra = check_args(args, len(T))
    if references is None:
        references = "shuffle"
    R = _baselines(T, references, n_shuffles, random_state)
    nref = R.shape[1]
    out, deltas = [], []
    n_bad, worst = 0, 0.0
    pbar = None
    if verbose:
        from tqdm.auto import tqdm

        pbar = tqdm(total=len(T), desc="deepshap")
    step = batch_size
    if device.type == "cpu":
        keep_freed_memory()  # each pass allocates and frees tens of MB
    with eval_mode(model, device):
        dtype = model_dtype(model)
        if device.type == "cpu" and len(T) > 1:  # cache-sized passes, from one row's activations
            per_pair = _pair_bytes(model, R[0, :1].to(device, dtype), per_batch_target(target, slice(0, 1)),
                                   activation, args_for(extra, slice(0, 1), 1, device, dtype))
            step = max(1, min(batch_size, _PASS_BYTES // max(per_pair * nref, 1)))
        step = -(-len(T) // -(-len(T) // step)) if len(T) else 1  # equal passes (no short last one)
        start = 0
        while start < len(T):
            sl = slice(start, min(start + step, len(T)))
            x = T[sl].to(device, dtype)
            n, a, l = x.shape
            xr = x[:, None].expand(n, nref, a, l).reshape(n * nref, a, l)
            rr = R[sl].to(device, dtype).reshape(n * nref, a, l)
            tgt = repeat_target(per_batch_target(target, sl), nref)
            mult, fx, fr = _contributions(model, xr, rr, tgt, activation,
                                          args_for(extra, sl, nref, device, dtype), group=nref)
            contrib = mult * (xr - rr)
            total = contrib.reshape(n * nref, -1).sum(-1).double()
            bad, err = _delta_failures(total, (fx - fr).double(), rtol, atol)
            n_bad, worst = n_bad + bad, max(worst, err)
            deltas.append((total - (fx - fr).double()).reshape(n, nref).cpu())
            if correct:
                mult = center_columns(mult)
                contrib = mult * (xr - rr)
            if hypothetical:
                contrib = mult - (mult * rr).sum(1, keepdim=True)
            out.append(contrib.reshape(n, nref, a, l).mean(1).detach().cpu())
            start = sl.stop
            if pbar is not None:
                pbar.update(n)
    if pbar is not None:
        pbar.close()
    if n_bad:
        _warn_delta(model, n_bad, len(T) * nref, worst)
    res = like(torch.cat(out), X)
    if return_delta:
        d = torch.cat(deltas)
        return res, like(d, X)
    return res


@captum_aliases(baselines="reference")
def deep_lift(model: nn.Module, X, target=0, activation=None, reference="zeros", hypothetical: bool = False,
              correct: bool = False, args=None, alphabet=None, batch_size: int = 64, rtol: float = 1e-3,
              atol: float = 1e-5, return_delta: bool = False, device=None, random_state=None,
              verbose: bool = False):
    """DeepLIFT (rescale rule) against a single reference per sequence: ``"zeros"`` (default),
    ``"shuffle"`` (one dinucleotide shuffle), ``"uniform"``, ``(A, L)`` or ``(N, A, L)``.
    Returns ``(N, A, L)`` contributions summing to ``f(x) - f(reference)``; see
    :func:`deep_lift_shap` for the other arguments."""
    return deep_lift_shap(model, X, target=target, activation=activation, references=reference,
                          n_shuffles=1, hypothetical=hypothetical, correct=correct, args=args,
                          alphabet=alphabet, batch_size=batch_size, rtol=rtol, atol=atol,
                          return_delta=return_delta, device=device, random_state=random_state,
                          verbose=verbose)


deepshap = deep_lift_shap
