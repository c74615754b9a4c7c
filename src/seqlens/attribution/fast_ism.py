"""Fast ISM: evaluate the local layers at the start of a network only around each substitution.

:class:`LocalPlan` traces a model with ``torch.fx`` and finds the longest chain of position-local
operations that starts at the input: ``nn.Conv1d`` with stride 1 (any padding, dilation,
groups), pointwise functions and modules (activations, batch norm in eval mode, dropout, scalar
arithmetic) and ``nn.MaxPool1d`` / ``nn.AvgPool1d`` without padding. A substitution at position
``p`` changes only a window of each intermediate; each mutant keeps (start, values) of that
window, the window grows by the receptive field of each layer, and its values are computed from
the unmutated sequence's intermediates. At the first non-local operation the window is spliced
into the unmutated intermediate and the rest of the network runs on the batch.

Three shortcuts keep the per-mutant work small:

* a convolution whose input window is one column (the first convolution) needs no convolution:
  its output window is the reference output plus a rank-1 update, the difference of the input
  columns times the kernel (one ``(M, A) @ (A, C * K)`` product for all mutants);
* a max-pool over a short window reads the reference part of each pooling window from prefix and
  suffix running maxima of the reference (computed once per sequence) and takes the max over the
  changed columns only, so a wide pool (e.g. 50) costs the window width, not the pool width;
* other convolutions and pools run on the window gathered with its context from the reference.

The plan checks itself on a few mutants (both edges and the middle) against the model before it
is used and is dropped (naive ISM) if they disagree.
"""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F
from torch import nn

_POINT_MODULES = (nn.ReLU, nn.ReLU6, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish, nn.Sigmoid,
                  nn.Tanh, nn.Softplus, nn.LeakyReLU, nn.Hardtanh, nn.Softsign, nn.Identity,
                  nn.Dropout, nn.BatchNorm1d)
_POINT_FUNCS = {torch.relu, torch.exp, torch.sigmoid, torch.tanh, torch.clamp, torch.clip, torch.abs,
                torch.square, torch.log1p, torch.expm1, F.relu, F.gelu, F.elu, F.softplus, F.silu,
                F.leaky_relu, F.dropout, F.relu6, F.mish, F.selu, torch.nn.functional.hardtanh,
                operator.add, operator.sub, operator.mul, operator.truediv, operator.pow, operator.neg,
                torch.add, torch.sub, torch.mul, torch.pow}
_POINT_METHODS = {"relu", "exp", "sigmoid", "tanh", "clamp", "clip", "abs", "square", "pow", "mul", "add",
                  "sub", "div", "neg", "contiguous", "float"}
# What tracing, planning or a check run of an arbitrary model raises when the plan cannot be made
# (the naive ISM is then used). Interrupts, MemoryError and our own NameErrors still propagate.
_NO_PLAN = (ValueError, TypeError, RuntimeError, AttributeError, NotImplementedError, KeyError,
            IndexError, AssertionError)


class LocalPlan:
    """A traced model split into a local prefix (applied on windows) and the rest."""

    def __init__(self, gm, placeholder, chain, ops, boundary):
        self.gm, self.placeholder, self.chain, self.ops, self.boundary = gm, placeholder, chain, ops, boundary
        self.interp = torch.fx.Interpreter(gm)
        self._ref_key, self._refs, self._aux = None, None, None
        self._static = [_static(op) for op in ops]

    @classmethod
    def build(cls, model: nn.Module, x: torch.Tensor, check: bool = True, min_saving: float = 0.15):
        """The plan for ``model`` (in eval mode), or None when there is nothing local to reuse.

        ``x`` ``(1, A, L)`` or ``(A, L)``: an example sequence; with ``check`` the plan is compared
        with ``model`` on mutants of it (edges and middle) and dropped when they disagree.
        ``min_saving``: the plan is dropped when the local prefix holds less than this fraction of
        the model's matmul/convolution FLOPs (e.g. a transformer after one convolution), where
        splicing would cost more than it saves."""
        try:
            gm = torch.fx.symbolic_trace(model)
        except _NO_PLAN:
            return None
        ph = [n for n in gm.graph.nodes if n.op == "placeholder"]
        if len(ph) != 1:
            return None
        mods = dict(gm.named_modules())
        cur, chain, ops = ph[0], [], []
        while len(cur.users) == 1:
            nxt = next(iter(cur.users))
            op = _local_op(nxt, cur, mods)
            if op is None:
                break
            chain.append(nxt)
            ops.append(op)
            cur = nxt
        if not any(o[0] == "conv" for o in ops):
            return None
        x0 = x[0] if x.ndim == 3 else x
        try:
            plan = cls(gm, ph[0], chain, ops, cur)
            if min_saving > 0 and plan._rest_fraction(model, x0) > 1 - min_saving:
                return None
            if check and not plan._agrees(model, x0):
                return None
        except _NO_PLAN:
            return None
        return plan

    def _rest_fraction(self, model, x):
        """FLOPs of the network after the local prefix over FLOPs of the whole network, counting
        convolutions and matrix products (0 when they cannot be counted)."""
        from torch.utils.flop_counter import FlopCounterMode

        try:
            with torch.no_grad():
                refs, _ = self._reference(x)
                local = 0
                for op, h in zip(self.ops, refs[1:]):
                    if op[0] == "conv":
                        w = op[1].weight
                        local += 2 * w.numel() * h.shape[-1]
                env = {self.placeholder: None, **{n: None for n in self.chain}}
                env[self.boundary] = refs[-1]
                with FlopCounterMode(display=False) as counter:
                    self.interp.run(refs[-1], initial_env=env)
        except _NO_PLAN:
            return 0.0
        rest = counter.get_total_flops()
        return rest / (rest + local) if rest + local else 0.0

    def _agrees(self, model, x):
        A, L = x.shape
        pos = torch.tensor(sorted({0, 1, L // 3, L // 2, L - 2, L - 1} & set(range(L))), device=x.device)
        pos = pos.repeat_interleave(A)
        let = torch.arange(A, device=x.device).repeat(len(pos) // A)
        xm = x[None].repeat(len(pos), 1, 1)
        ar = torch.arange(len(pos), device=x.device)
        xm[ar, :, pos] = 0
        xm[ar, let, pos] = 1
        with torch.no_grad():
            want, got = model(xm), self.run(x, pos, let)
        want, got = _tensors(want), _tensors(got)
        if len(want) != len(got) or not want:
            return False
        for w, g in zip(want, got):
            if g.shape != w.shape:
                return False
            tol = 1e-4 * (1 + float(w.abs().max())) if w.dtype != torch.float64 else 1e-9
            if not bool((g - w).abs().max() <= tol):
                return False
        return True

    def _reference(self, x: torch.Tensor):
        """Intermediates of the unmutated sequence ``x`` ``(A, L)`` and the per-op tables built
        from them (cached for the last x)."""
        # keyed on the tensor object itself (kept alive here, so its memory cannot be reused by
        # another sequence) and its version counter (in-place changes)
        if self._ref_key is not None and self._ref_key[0] is x and self._ref_key[1] == x._version:
            return self._refs, self._aux
        key = (x, x._version)
        h = x[None]
        refs = [h]
        for op in self.ops:
            h = op[1](h)
            refs.append(h)
        self._refs, self._aux, self._ref_key = refs, [None] * len(self.ops), key
        return refs, self._aux

    def run(self, x: torch.Tensor, pos: torch.Tensor, let: torch.Tensor):
        """Model output for mutants of ``x`` ``(A, L)`` with letter ``let[i]`` at ``pos[i]``."""
        refs, aux = self._reference(x)
        M = len(pos)
        A = x.shape[0]
        start = pos.clone()
        V = torch.zeros((M, A, 1), dtype=x.dtype, device=x.device)
        V[torch.arange(M, device=x.device), let, 0] = 1
        for i, op in enumerate(self.ops):
            start, V = _apply_window(op, self._static[i], refs[i][0], refs[i + 1][0], aux, i, start, V)
        RT = refs[-1][0].T
        full = _put_rows(RT.expand(M, -1, -1).contiguous(), start, V.transpose(1, 2))
        full = full.transpose(1, 2).contiguous()
        env = {self.placeholder: None, **{n: None for n in self.chain}}
        env[self.boundary] = full
        return self.interp.run(full, initial_env=env)


def _tensors(y) -> list:
    """The tensors of a model output (one tensor, or every head of a tuple, list or dict); empty
    when any part is not a tensor."""
    ts = list(y.values()) if isinstance(y, dict) else list(y) if isinstance(y, (tuple, list)) else [y]
    return ts if all(isinstance(t, torch.Tensor) for t in ts) else []


def _local_op(node, src, mods):
    """A descriptor of ``node`` if it is position-local in its single tensor input ``src``."""
    others = [a for a in list(node.args[1:]) + list(node.kwargs.values())]
    if node.args and node.args[0] is not src and not (node.op == "call_function" and src in node.args):
        return None
    if any(isinstance(a, torch.fx.Node) for a in others if a is not src):
        return None
    if node.op == "call_module":
        m = mods[node.target]
        if isinstance(m, nn.Conv1d):
            if m.stride != (1,) or m.padding_mode != "zeros":
                return None
            k, d = m.kernel_size[0], m.dilation[0]
            K = d * (k - 1) + 1
            if m.padding == "same":
                left = (K - 1) // 2
                pads = (left, K - 1 - left)
            elif m.padding == "valid":
                pads = (0, 0)
            else:
                pads = (m.padding[0], m.padding[0])
            return ("conv", m, pads, K)
        if isinstance(m, (nn.MaxPool1d, nn.AvgPool1d)):
            k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
            s = m.stride if isinstance(m.stride, int) else (m.stride[0] if m.stride else k)
            p = m.padding if isinstance(m.padding, int) else m.padding[0]
            dil = getattr(m, "dilation", 1)
            dil = dil if isinstance(dil, int) else dil[0]
            if p != 0 or dil != 1 or m.ceil_mode or s > k or getattr(m, "return_indices", False):
                return None
            return ("pool", m, k, s)
        if isinstance(m, nn.BatchNorm1d):
            if m.training or m.running_mean is None:
                return None
            return ("point", _bn_affine(m))
        if isinstance(m, _POINT_MODULES):
            return ("point", lambda t, m=m: m(t))
        return None
    if node.op == "call_function" and node.target in _POINT_FUNCS:
        if node.args[0] is not src:
            if node.target in (operator.sub, operator.truediv, operator.pow) or node.args[-1] is not src:
                return None
        return ("point", _bind(node, src))
    if node.op == "call_method" and node.target in _POINT_METHODS and node.args[0] is src:
        return ("point", _bind(node, src))
    return None


def _bn_affine(m):
    """Batch norm in eval mode as ``x * scale + shift`` (much cheaper than the op on small inputs)."""
    def fn(t):
        scale = torch.rsqrt(m.running_var + m.eps)
        if m.weight is not None:
            scale = scale * m.weight
        shift = -m.running_mean * scale
        if m.bias is not None:
            shift = shift + m.bias
        return torch.addcmul(shift[:, None], t, scale[:, None])

    return fn


def _bind(node, src):
    def fn(t):
        args = [t if a is src else a for a in node.args]
        if node.op == "call_method":
            return getattr(args[0], node.target)(*args[1:], **node.kwargs)
        return node.target(*args, **node.kwargs)

    return fn


def _static(op):
    """Tables of an op that do not depend on the sequence: for a convolution, its kernel as
    ``(C_in, K * C_out)`` with the taps reversed and dilated (rank-1 update, one group only) and
    as ``(C_in * k, C_out)`` (window convolution as one matrix product)."""
    if op[0] != "conv":
        return None
    m, K = op[1], op[3]
    w = m.weight.detach()
    C_out, C_in, k = w.shape
    d = m.dilation[0]
    rank1 = None
    if m.groups == 1:
        Wf = w.new_zeros((C_in, K, C_out))
        Wf[:, K - 1 - torch.arange(k, device=w.device) * d] = w.permute(1, 2, 0)
        rank1 = Wf.reshape(C_in, K * C_out)
    mat = w.permute(1, 2, 0).reshape(C_in * k, C_out).contiguous() if m.groups == 1 else None
    return rank1, mat


def _window_rows(RT, s, width):
    """Rows ``[s, s + width)`` of ``RT`` ``(Lr, C)`` (contiguous) per mutant: ``(M, width, C)``.
    (``index_select`` on an overlapping strided view copies whole rows: much faster than
    advanced indexing.)"""
    Lr, C = RT.shape
    return RT.as_strided((Lr - width + 1, width, C), (C, C, 1)).index_select(0, s)


def _put_rows(win, off, Vt):
    """``win[m, off[m] + j] = Vt[m, j]`` for ``win`` ``(M, Wr, C)`` contiguous and ``Vt``
    ``(M, W, C)``, as one row copy (much faster than ``scatter_`` with an expanded index)."""
    M, Wr, C = win.shape
    W = Vt.shape[1]
    rows = (torch.arange(M, device=win.device)[:, None] * Wr + off[:, None]
            + torch.arange(W, device=win.device)[None])
    win.view(M * Wr, C).index_copy_(0, rows.reshape(-1), Vt.reshape(M * W, C))
    return win


def _context(RT, s, width, start, Vt):
    """``(M, width, C)``: rows ``[s, s + width)`` of the reference ``RT`` (padded with at least
    ``W`` rows after ``s + width``) with the mutant rows ``Vt`` ``(M, W, C)`` (which live at rows
    ``[start, start + W)``, ``start >= s``) written over them; rows of ``Vt`` beyond the window
    are dropped."""
    win = _window_rows(RT, s, width + Vt.shape[1])
    return _put_rows(win, start - s, Vt)[:, :width]


def _cached(aux, i, key, fn):
    if aux[i] is None:
        aux[i] = {}
    if key not in aux[i]:
        aux[i][key] = fn()
    return aux[i][key]


def _conv_rank1(op, Wf, R, Rout, aux, i, start, V):
    """Convolution of a one-column window: reference output plus (new - old column) x kernel."""
    M = V.shape[0]
    pl, K = op[2][0], op[3]
    C_out, L_out = Rout.shape
    Wo = min(K, L_out)
    RoutT = _cached(aux, i, "RoutT", lambda: Rout.T.contiguous())  # reference output (L_out, C_out)
    D = V[:, :, 0] - R[:, start].T  # (M, C_in)
    delta = (D @ Wf).view(M, K, C_out)  # output column u + q gets delta[:, q]
    u = start + pl - (K - 1)
    s = u.clamp(0, L_out - Wo)
    out = _window_rows(RoutT, s, Wo)
    if Wo == K:
        out += delta
        e = (s != u).nonzero()[:, 0]
    else:
        e = torch.arange(M, device=V.device)
    if len(e):  # windows clipped by the sequence ends: shift the update into place
        dp = F.pad(delta[e], (0, 0, K, K))
        idx = (s[e] - u[e] + K)[:, None] + torch.arange(Wo, device=V.device)[None]
        out[e] = _window_rows(RoutT, s[e], Wo) + dp.gather(1, idx[:, :, None].expand(len(e), Wo, C_out))
    return s, out.transpose(1, 2)


def _maxpool_tables(R, k, st):
    """Prefix and suffix running maxima of every pooling window of ``R`` ``(C, L)``, as
    ``(L_out * (k + 1), C)``: row ``o * (k + 1) + t`` holds the max of the first ``t`` columns
    (prefix) or of the columns from ``t`` on (suffix) of window ``o``; -inf when empty."""
    win = R.unfold(1, k, st)  # (C, L_out, k)
    C, L_out, _ = win.shape
    ninf = win.new_full((C, L_out, 1), float("-inf"))
    P = torch.cat([ninf, win.cummax(-1).values], -1)
    S = torch.cat([win.flip(-1).cummax(-1).values.flip(-1), ninf], -1)
    return (P.permute(1, 2, 0).reshape(L_out * (k + 1), C).contiguous(),
            S.permute(1, 2, 0).reshape(L_out * (k + 1), C).contiguous())


def _apply_window(op, static, R, Rout, aux, i, start, V):
    """Propagate mutant windows through op ``i``; ``R`` and ``Rout`` are its unmutated input and
    output ``(C, L)``, ``aux`` the per-sequence tables. Windows ``V`` are ``(M, C, W)``, usually
    views of channel-last ``(M, W, C)`` tensors (the gathers and products below work on rows)."""
    kind = op[0]
    M, _, W = V.shape
    if kind == "point":
        return start, op[1](V)
    L_in = R.shape[-1]
    Vt = V.transpose(1, 2)
    if kind == "conv":
        m, (pl, pr), K = op[1], op[2], op[3]
        if W == 1 and static[0] is not None:
            return _conv_rank1(op, static[0], R, Rout, aux, i, start, V)
        L_out = L_in + pl + pr - K + 1
        Wo = min(W + K - 1, L_out)
        s = (start + pl - (K - 1)).clamp(0, L_out - Wo)
        RT = _cached(aux, i, ("RT", W), lambda: F.pad(R, (pl, pr + W + Wo + K)).T.contiguous())
        win = _context(RT, s, Wo + K - 1, start + pl, Vt)  # (M, Wo + K - 1, C_in)
        if static[1] is not None and Wo <= 8:  # small windows: one matrix product (im2col)
            d = m.dilation[0]
            cols = win.unfold(1, K, 1)[..., ::d]  # (M, Wo, C_in, k)
            out = cols.reshape(M * Wo, -1) @ static[1]
            if m.bias is not None:
                out += m.bias
            return s, out.view(M, Wo, -1).transpose(1, 2)
        win = win.transpose(1, 2).contiguous()  # oneDNN is much slower on channel-last input
        return s, F.conv1d(win, m.weight, m.bias, 1, 0, m.dilation, m.groups)
    m, k, st = op[1], op[2], op[3]
    L_out = (L_in - k) // st + 1
    Wo = min((W + k - 2) // st + 1, L_out)
    s = torch.div(start - k + st, st, rounding_mode="floor").clamp(0, L_out - Wo)
    if isinstance(m, nn.MaxPool1d) and Wo * W <= (Wo - 1) * st + k + W:
        # reference part from the running maxima, changed part from V alone
        Pf, Sf = _cached(aux, i, "max", lambda: _maxpool_tables(R, k, st))
        ar = torch.arange(Wo, device=V.device)
        o = s[:, None] + ar[None]  # (M, Wo)
        ws = o * st
        a = (start[:, None] - ws).clamp(0, k)
        b = (start[:, None] + W - ws).clamp(0, k)
        base = o * (k + 1)
        C = Pf.shape[1]
        ref = torch.maximum(Pf.index_select(0, (base + a).reshape(-1)),
                            Sf.index_select(0, (base + b).reshape(-1))).view(M, Wo, C)
        rel = (start[:, None] - ws)[:, :, None] + torch.arange(W, device=V.device)[None, None]
        outside = ((rel < 0) | (rel >= k))[..., None]  # (M, Wo, W, 1)
        ninf = torch.tensor(float("-inf"), dtype=V.dtype, device=V.device)
        vm = torch.where(outside, ninf, Vt[:, None]).amax(2)  # (M, Wo, C)
        return s, torch.maximum(vm, ref).transpose(1, 2)
    width = (Wo - 1) * st + k
    RT = _cached(aux, i, ("RT", W), lambda: F.pad(R, (0, W + width)).T.contiguous())
    win = _context(RT, s * st, width, start, Vt)  # (M, width, C)
    pools = win.unfold(1, k, st)  # (M, Wo, C, k)
    return s, (pools.amax(-1) if isinstance(m, nn.MaxPool1d) else pools.mean(-1)).transpose(1, 2)
