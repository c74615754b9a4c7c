"""Fast ISM: evaluate the local layers at the start of a network only around each substitution.

:class:`LocalPlan` traces a model with ``torch.fx`` and finds the longest chain of position-local
operations that starts at the input: ``nn.Conv1d`` with stride 1 (any padding, dilation,
groups), pointwise functions and modules (activations, batch norm in eval mode, dropout, scalar
arithmetic) and ``nn.MaxPool1d`` / ``nn.AvgPool1d`` without padding. A substitution at position
``p`` changes only a window of each intermediate; each mutant keeps (start, values) of that
window, the window grows by the receptive field of each layer, and its values are computed from a
context gathered from the unmutated sequence's intermediates. At the first non-local operation the
window is spliced into the unmutated intermediate and the rest of the network runs on the batch.
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


class LocalPlan:
    """A traced model split into a local prefix (applied on windows) and the rest."""

    def __init__(self, gm, placeholder, chain, ops, boundary):
        self.gm, self.placeholder, self.chain, self.ops, self.boundary = gm, placeholder, chain, ops, boundary
        self.interp = torch.fx.Interpreter(gm)
        self._ref_key = None

    @classmethod
    def build(cls, model: nn.Module, x: torch.Tensor):
        """The plan for ``model`` (in eval mode), or None when there is nothing local to reuse."""
        try:
            gm = torch.fx.symbolic_trace(model)
        except Exception:
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
        # drop trailing pointwise ops after the last window-growing op? keep them: they are cheap
        plan = cls(gm, ph[0], chain, ops, cur)
        try:
            plan._reference(x[0])
        except Exception:
            return None
        return plan

    def _reference(self, x: torch.Tensor):
        """Intermediates of the unmutated sequence ``x`` ``(A, L)`` (cached for the last x)."""
        key = (x.data_ptr(), x.shape, x._version)
        if self._ref_key == key and self._refs is not None:
            return self._refs
        h = x[None]
        refs = [h]
        for op in self.ops:
            h = _apply_full(op, h)
            refs.append(h)
        self._refs, self._ref_key = refs, key
        return refs

    def run(self, x: torch.Tensor, pos: torch.Tensor, let: torch.Tensor):
        """Model output for mutants of ``x`` ``(A, L)`` with letter ``let[i]`` at ``pos[i]``."""
        refs = self._reference(x)
        M = len(pos)
        A = x.shape[0]
        start = pos.clone()
        V = torch.zeros((M, A, 1), dtype=x.dtype, device=x.device)
        V[torch.arange(M, device=x.device), let, 0] = 1
        for op, ref in zip(self.ops, refs[:-1]):
            start, V = _apply_window(op, ref[0], start, V)
        full = refs[-1].expand(M, -1, -1).clone()
        W = V.shape[-1]
        idx = (start[:, None] + torch.arange(W, device=x.device)[None]).unsqueeze(1).expand_as(V)
        full.scatter_(2, idx, V)
        env = {self.placeholder: None, **{n: None for n in self.chain}}
        env[self.boundary] = full
        return self.interp.run(full, initial_env=env)


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


def _pool_window(win, m, k, st):
    windows = win.unfold(2, k, st)
    return windows.amax(-1) if isinstance(m, nn.MaxPool1d) else windows.mean(-1)


def _bind(node, src):
    def fn(t):
        args = [t if a is src else a for a in node.args]
        if node.op == "call_method":
            return getattr(args[0], node.target)(*args[1:], **node.kwargs)
        return node.target(*args, **node.kwargs)

    return fn


def _apply_full(op, h):
    if op[0] == "point":
        return op[1](h)
    return op[1](h)


def _gather_window(R, s, width, start, V):
    """Columns ``[s, s + width)`` of ``R`` ``(C, Lr)`` per mutant, with the mutant's values ``V``
    ``(M, C, W)`` (which live at columns ``[start, start + W)``, ``start >= s``) written over the
    context. Columns of ``V`` beyond the window are dropped."""
    M, C, W = V.shape
    # (Lr + W, C) so each window of width + W is one contiguous slice of an unfolded view
    RT = F.pad(R, (0, W + width)).T.contiguous()
    win = RT.unfold(0, width + W, 1)[s]  # (M, C, width + W), a copy
    idx = (start - s)[:, None] + torch.arange(W, device=R.device)[None]
    win.scatter_(2, idx[:, None, :].expand(M, C, W), V)
    return win[:, :, :width].contiguous()


def _apply_window(op, R, start, V):
    """Propagate mutant windows through one op; ``R`` is the op's unmutated input ``(C, L)``."""
    kind = op[0]
    W = V.shape[-1]
    if kind == "point":
        return start, op[1](V)
    L_in = R.shape[-1]
    if kind == "conv":
        m, (pl, pr), K = op[1], op[2], op[3]
        Rp = F.pad(R, (pl, pr))
        L_out = L_in + pl + pr - K + 1
        Wo = min(W + K - 1, L_out)
        s = (start + pl - (K - 1)).clamp(0, L_out - Wo)
        win = _gather_window(Rp, s, Wo + K - 1, start + pl, V)
        return s, F.conv1d(win, m.weight, m.bias, 1, 0, m.dilation, m.groups)
    m, k, st = op[1], op[2], op[3]
    L_out = (L_in - k) // st + 1
    Wo = min((W + k - 2) // st + 1, L_out)
    s = torch.div(start - k + 1 + st - 1, st, rounding_mode="floor").clamp(0, L_out - Wo)
    win = _gather_window(R, s * st, (Wo - 1) * st + k, start, V)
    return s, _pool_window(win, m, k, st)
