"""Fast ISM: evaluate the local layers at the start of a network only around each substitution.

:class:`LocalPlan` traces a model with ``torch.fx`` and finds the position-local part of its graph
that starts at the input: ``nn.Conv1d`` with stride 1 (any padding, dilation, groups), pointwise
functions and modules (activations, batch norm in eval mode, dropout, scalar arithmetic),
``nn.MaxPool1d`` / ``nn.AvgPool1d`` without padding, and elementwise sums, products, maxima of two
local values of one shape (residual connections of dilated stacks, gates). A substitution at
position ``p`` changes only a window of each intermediate; each mutant keeps (start, values) of
that window, the window grows by the receptive field of each layer (two windows are joined over
their union), and its values are computed from the unmutated sequence's intermediates. Where the
rest of the network reads a local value, its window is spliced into the unmutated intermediate
and the rest runs on the batch.

Three shortcuts keep the per-mutant work small:

* a convolution whose input window is one column (the first convolution) needs no convolution:
  its output window is the reference output plus a rank-1 update, the difference of the input
  columns times the kernel (one ``(M, A) @ (A, C * K)`` product for all mutants);
* a max-pool over a short window reads the reference part of each pooling window from prefix and
  suffix running maxima of the reference (computed once per sequence) and takes the max over the
  changed columns only, so a wide pool (e.g. 50) costs the window width, not the pool width;
* other convolutions and pools run on the window gathered with its context from the reference.

The plan is dropped (naive ISM) when its estimated cost per mutant is not clearly below the
model's (e.g. dilated windows that grow to the whole sequence), and when it disagrees with the
model on a few check mutants (both edges and the middle).
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
# elementwise ops of two local values (residual sums, gates)
_BINARY_FUNCS = {operator.add, operator.sub, operator.mul, operator.truediv, torch.add, torch.sub, torch.mul,
                 torch.maximum, torch.minimum}
_BINARY_METHODS = {"add", "sub", "mul", "div"}
# What tracing, planning or a check run of an arbitrary model raises when the plan cannot be made
# (the naive ISM is then used). Interrupts, MemoryError and our own NameErrors still propagate.
_NO_PLAN = (ValueError, TypeError, RuntimeError, AttributeError, NotImplementedError, KeyError,
            IndexError, AssertionError)


class LocalPlan:
    """A traced model split into its local part (applied on windows) and the rest.

    ``nodes`` are the local graph nodes in graph order, ``ops[i]`` the descriptor of ``nodes[i]``
    and ``inputs[i]`` the indices of its local inputs among the values (0: the input sequence,
    ``j + 1``: ``nodes[j]``); ``frontier`` lists the values that the rest of the network reads."""

    def __init__(self, gm, placeholder, nodes, ops, inputs):
        self.gm, self.placeholder, self.nodes, self.ops, self.inputs = gm, placeholder, nodes, ops, inputs
        values = [placeholder, *nodes]
        local = set(values)
        self.frontier = [k for k, n in enumerate(values) if any(u not in local for u in n.users)]
        self.interp = torch.fx.Interpreter(gm)
        self._ref_key, self._refs, self._aux = None, None, None
        self._static = [_static(op) for op in ops]

    @classmethod
    def build(cls, model: nn.Module, x: torch.Tensor, check: bool = True, min_saving: float = 0.15):
        """The plan for ``model`` (in eval mode), or None when there is nothing local to reuse.

        ``x`` ``(1, A, L)`` or ``(A, L)``: an example sequence; with ``check`` the plan is compared
        with ``model`` on mutants of it (edges and middle) and dropped when they disagree.
        ``min_saving``: the plan is dropped when it saves less than this fraction of the model's
        matmul/convolution FLOPs per mutant (e.g. a transformer after one convolution, or a
        dilated stack whose windows grow to the whole sequence), where splicing would cost more
        than it saves."""
        from torch.fx.passes.shape_prop import ShapeProp

        x0 = x[0] if x.ndim == 3 else x
        try:
            gm = torch.fx.symbolic_trace(model)
            ph = [n for n in gm.graph.nodes if n.op == "placeholder"]
            if len(ph) != 1:
                return None
            ShapeProp(gm).propagate(x0[None])  # shapes of every node (binary ops need equal ones)
        except _NO_PLAN:
            return None
        mods = dict(gm.named_modules())
        local, nodes, ops, inputs = {ph[0]: 0}, [], [], []
        for node in gm.graph.nodes:
            found = _local_op(node, local, mods) if node.op not in ("placeholder", "output") else None
            if found is not None:
                local[node] = len(nodes) + 1
                nodes.append(node)
                ops.append(found[0])
                inputs.append([local[n] for n in found[1]])
        if not any(o[0] == "conv" for o in ops):
            return None
        try:
            plan = cls(gm, ph[0], nodes, ops, inputs)
            if min_saving > 0 and plan._cost_ratio(x0) > 1 - min_saving:
                return None
            if check and not agrees(plan.run, model, x0):
                return None
        except _NO_PLAN:
            return None
        return plan

    def _cost_ratio(self, x):
        """Estimated FLOPs per mutant of the plan over those of the model, counting convolutions
        and matrix products (local ones on the windows a substitution changes; 0 when they cannot
        be counted)."""
        from torch.utils.flop_counter import FlopCounterMode

        try:
            with torch.no_grad():
                refs, _ = self._reference(x)
                widths, full, windowed = [1], 0, 0
                for op, ins, h in zip(self.ops, self.inputs, refs[1:]):
                    W, L_out = max(widths[j] for j in ins), h.shape[-1]
                    if op[0] == "conv":
                        w, K = op[1].weight, op[3]
                        full += 2 * w.numel() * L_out
                        rank1 = W == 1 and op[1].groups == 1
                        W = min(W + K - 1, L_out)
                        # convolutions of gathered windows run at about half the speed of the whole
                        # sequence's (measured on ResidualBind): counted twice
                        windowed += 2 * w.shape[0] * w.shape[1] * K if rank1 else 4 * w.numel() * W
                    elif op[0] == "pool":
                        W = (W + op[2] - 2) // op[3] + 1
                    widths.append(min(W, L_out))
                values = [self.placeholder, *self.nodes]
                env = {n: None for n in values}
                env.update({values[k]: refs[k] for k in self.frontier})
                with FlopCounterMode(display=False) as counter:
                    self.interp.run(refs[0], initial_env=env)
        except _NO_PLAN:
            return 0.0
        rest = counter.get_total_flops()
        return (windowed + rest) / (full + rest) if full + rest else 0.0

    def _reference(self, x: torch.Tensor):
        """Local values of the unmutated sequence ``x`` ``(A, L)`` and the per-op tables built
        from them (cached for the last x)."""
        # keyed on the tensor object itself (kept alive here, so its memory cannot be reused by
        # another sequence) and its version counter (in-place changes)
        if self._ref_key is not None and self._ref_key[0] is x and self._ref_key[1] == x._version:
            return self._refs, self._aux
        key = (x, x._version)
        refs = [x[None]]
        for op, ins in zip(self.ops, self.inputs):
            refs.append(op[1](*(refs[j] for j in ins)))
        self._refs, self._aux, self._ref_key = refs, [None] * len(self.ops), key
        return refs, self._aux

    def run(self, x: torch.Tensor, pos: torch.Tensor, let: torch.Tensor):
        """Model output for mutants of ``x`` ``(A, L)`` with letter ``let[i]`` at ``pos[i]``."""
        refs, wins = self.windows(x, pos, let)
        M = len(pos)
        values = [self.placeholder, *self.nodes]
        env = {n: None for n in values}
        for k in self.frontier:  # splice the windows into the reference for the rest of the network
            start, V = wins[k]
            full = _put_rows(refs[k][0].T.expand(M, -1, -1).contiguous(), start, V.transpose(1, 2))
            env[values[k]] = full.transpose(1, 2).contiguous()
        return self.interp.run(x, initial_env=env)

    def windows(self, x: torch.Tensor, pos: torch.Tensor, let: torch.Tensor):
        """``(refs, wins)``: the local values of ``x`` ``(A, L)`` (``refs[k]`` ``(1, C, L_k)``,
        ``k`` indexing the input then ``nodes``) and, for the mutants with letter ``let[i]`` at
        ``pos[i]``, the changed window of each: ``wins[k] = (start (M,), values (M, C, W))``."""
        refs, aux = self._reference(x)
        M = len(pos)
        A = x.shape[0]
        V = torch.zeros((M, A, 1), dtype=x.dtype, device=x.device)
        V[torch.arange(M, device=x.device), let, 0] = 1
        wins = [(pos.clone(), V)]  # (start (M,), values (M, C, W)) of every local value
        for i, (op, ins) in enumerate(zip(self.ops, self.inputs)):
            if op[0] == "binary":
                start, (Va, Vb) = _union(refs, aux, i, ins, wins)
                wins.append((start, op[1](Va, Vb)))
            else:
                start, V = wins[ins[0]]
                wins.append(_apply_window(op, self._static[i], refs[ins[0]][0], refs[i + 1][0], aux, i,
                                          start, V))
        return refs, wins


def agrees(run, model, x) -> bool:
    """Whether ``run(x, pos, let)`` (a fast plan) gives ``model``'s outputs on every substitution
    at both ends and the middle of ``x`` ``(A, L)`` (relative tolerance 1e-4 in float32, 1e-9
    absolute in float64)."""
    A, L = x.shape
    pos = torch.tensor(sorted({0, 1, L // 3, L // 2, L - 2, L - 1} & set(range(L))), device=x.device)
    pos = pos.repeat_interleave(A)
    let = torch.arange(A, device=x.device).repeat(len(pos) // A)
    xm = x[None].repeat(len(pos), 1, 1)
    ar = torch.arange(len(pos), device=x.device)
    xm[ar, :, pos] = 0
    xm[ar, let, pos] = 1
    with torch.no_grad():
        want, got = _tensors(model(xm)), _tensors(run(x, pos, let))
    if len(want) != len(got) or not want:
        return False
    for w, g in zip(want, got):
        tol = 1e-4 * (1 + float(w.abs().max())) if w.dtype != torch.float64 else 1e-9
        if g.shape != w.shape or not bool((g - w).abs().max() <= tol):
            return False
    return True


def _tensors(y) -> list:
    """The tensors of a model output (one tensor, or every head of a tuple, list or dict); empty
    when any part is not a tensor."""
    ts = list(y.values()) if isinstance(y, dict) else list(y) if isinstance(y, (tuple, list)) else [y]
    return ts if all(isinstance(t, torch.Tensor) for t in ts) else []


def _local_op(node, local, mods):
    """``(descriptor, local input nodes)`` of ``node`` when it is position-local in its tensor
    inputs and they are all local values; else None."""
    srcs = node.all_input_nodes
    if not srcs or any(n not in local for n in srcs):
        return None
    if len(srcs) == 2:
        return _binary_op(node, srcs)
    if len(srcs) != 1:
        return None
    src = srcs[0]
    if node.args and node.args[0] is not src and not (node.op == "call_function" and src in node.args):
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
            return ("conv", m, pads, K), srcs
        if isinstance(m, (nn.MaxPool1d, nn.AvgPool1d)):
            k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
            s = m.stride if isinstance(m.stride, int) else (m.stride[0] if m.stride else k)
            p = m.padding if isinstance(m.padding, int) else m.padding[0]
            dil = getattr(m, "dilation", 1)
            dil = dil if isinstance(dil, int) else dil[0]
            if p != 0 or dil != 1 or m.ceil_mode or s > k or getattr(m, "return_indices", False):
                return None
            return ("pool", m, k, s), srcs
        if isinstance(m, nn.BatchNorm1d):
            if m.training or m.running_mean is None:
                return None
            return ("point", _bn_affine(m)), srcs
        if isinstance(m, _POINT_MODULES):
            return ("point", lambda t, m=m: m(t)), srcs
        return None
    if node.op == "call_function" and node.target in _POINT_FUNCS:
        if node.args[0] is not src:
            if node.target in (operator.sub, operator.truediv, operator.pow) or node.args[-1] is not src:
                return None
        return ("point", _bind(node, srcs)), srcs
    if node.op == "call_method" and node.target in _POINT_METHODS and node.args[0] is src:
        return ("point", _bind(node, srcs)), srcs
    return None


def _binary_op(node, srcs):
    """An elementwise op of two local values of one shape (a residual sum, a gate), else None."""
    if not ((node.op == "call_function" and node.target in _BINARY_FUNCS)
            or (node.op == "call_method" and node.target in _BINARY_METHODS)):
        return None
    if len(node.args) < 2 or set(node.args[:2]) != set(srcs) or any(a in srcs for a in node.args[2:]):
        return None
    shapes = [getattr(n.meta.get("tensor_meta"), "shape", None) for n in (*srcs, node)]
    if shapes[0] is None or len(shapes[0]) != 3 or not shapes[0] == shapes[1] == shapes[2]:
        return None
    return ("binary", _bind(node, srcs)), srcs


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


def _bind(node, srcs):
    """``node``'s call as a function of the tensors of its input nodes ``srcs``."""
    def fn(*ts):
        sub = dict(zip(srcs, ts))

        def put(a):
            return sub[a] if isinstance(a, torch.fx.Node) else a

        args = [put(a) for a in node.args]
        kwargs = {k: put(v) for k, v in node.kwargs.items()}
        if node.op == "call_method":
            return getattr(args[0], node.target)(*args[1:], **kwargs)
        return node.target(*args, **kwargs)

    return fn


def _union(refs, aux, i, ins, wins):
    """The windows of the two inputs of binary op ``i`` over their union: (start ``(M,)``,
    (values, values) ``(M, C, W)``); each is widened with its reference values."""
    (sa, Va), (sb, Vb) = wins[ins[0]], wins[ins[1]]
    if Va.shape[-1] == Vb.shape[-1] and torch.equal(sa, sb):
        return sa, (Va, Vb)
    L = refs[ins[0]].shape[-1]
    lo = torch.minimum(sa, sb)
    W = min(int((torch.maximum(sa + Va.shape[-1], sb + Vb.shape[-1]) - lo).max()), L)
    s = lo.clamp(max=L - W)
    out = []
    for side, (start, V) in enumerate(((sa, Va), (sb, Vb))):
        if V.shape[-1] == W and torch.equal(start, s):
            out.append(V)
            continue
        R = refs[ins[side]][0]
        RT = _cached(aux, i, ("union", side), lambda R=R: F.pad(R, (0, 2 * L)).T.contiguous())
        out.append(_context(RT, s, W, start, V.transpose(1, 2)).transpose(1, 2))
    return s, tuple(out)


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
