"""Fast ISM for CNN + self-attention hybrids (:class:`seqlens.models.attention.CNNAttention`).

After the first attention layer every position of a mutant differs from the unmutated sequence,
so window reuse (:mod:`seqlens.attribution.fast_ism`) stops there. The attention layer itself
can still be updated incrementally. A substitution changes a window of ``W`` pooled positions
(``W = 6`` for a width-19 convolution and pool 4), so only ``W`` rows of the queries, keys and
values change:

* a query row outside the window keeps its scores on the unchanged keys; only its ``W`` changed
  columns are new. Its softmax numerator and normaliser over the unchanged keys come from prefix
  and suffix sums over the keys of the unmutated sequence (computed once per sequence; sums of
  positive terms, no cancellation), rescaled to the new row maximum, plus the new columns'
  terms;
* the ``W`` query rows inside the window are recomputed against all keys.

Per mutant this costs ``O(W L' d)`` for the attention instead of ``O(L'^2 d)`` plus the QKV
projections of ``W`` rows instead of ``L'``; the first convolution is a rank-1 update
(:class:`~seqlens.attribution.fast_ism.LocalPlan` on the model's stem). When the model's width
``D`` is at most a head's ``d`` (Ghotra & Koo's layout: 32 and 32), the output projection is
folded into each head's values (``Wo_h Wv_h``, tables of projected values), so the heads'
outputs are summed instead of projected on every row per mutant. The residual, layer norm, any
transformer blocks or LSTM, and the dense layers run on every row, as in the model. Values
equal the model's up to float rounding (checked on a few mutants when the plan is built; the
plan is dropped when they disagree).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from seqlens.attribution.fast_ism import _NO_PLAN, LocalPlan, _put_rows, agrees

# prefix/suffix tables hold 2 x heads x L' x (L' + 1) x key_size numbers per sequence: no plan above
_MAX_TABLE = 1 << 25
# new scores more than this above a row's unmutated maximum are rescaled first (exp would overflow)
_EXP_LIMIT = 60.0


class _Stem(nn.Module):
    """The position-local start of a CNNAttention: ``(N, A, L)`` -> pooled ``(N, F, L')``."""

    def __init__(self, core):
        super().__init__()
        self.core = core

    def forward(self, x):
        return self.core.dropout1(self.core.first_layer_activations(x, pooled=True))


class _LeafTracer(torch.fx.Tracer):
    def is_leaf_module(self, m, qualname):
        from seqlens.models.attention import CNNAttention

        return isinstance(m, CNNAttention) or super().is_leaf_module(m, qualname)


class AttentionPlan:
    """Incremental ISM of a model that is, or wraps, a :class:`CNNAttention` (the wrapper may
    only post-process its output, e.g. select a column)."""

    def __init__(self, core, stem, post):
        self.core, self.stem, self.post = core, stem, post
        self._ref_key, self._ref = None, None
        self._blocks = {}  # block-diagonal buffers by shape: zero off the diagonal, reused
        # with as many output dims as a head has (D <= d, e.g. Ghotra & Koo's 32 x 32), the output
        # projection goes into the values: head h's values are a_in (Wo_h Wv_h)^T + Wo_h bv_h
        # ``(L', D)``, the outputs sums over the heads, and no row is projected per mutant
        att = core.attention
        H, d = att.heads, att.key_size
        Wo = att.out.weight.detach()
        D = Wo.shape[0]
        self._vo = None
        if D <= d:
            Wo_h = Wo.view(D, H, d).transpose(0, 1)  # (H, D, d)
            bv = att.value.bias
            self._vo = ((Wo_h @ att.value.weight.detach().view(H, d, -1)).reshape(H * D, -1),
                        None if bv is None else (Wo_h @ bv.detach().view(H, d, 1)).reshape(H * D))

    def _block(self, shape, like):
        """A zero-initialised buffer of ``shape`` kept between calls (only its block diagonal is
        ever written, so the rest stays zero)."""
        key = (shape, like.dtype, like.device)
        if key not in self._blocks:
            self._blocks[key] = like.new_zeros(shape)
        return self._blocks[key]

    @classmethod
    def build(cls, model: nn.Module, x: torch.Tensor, check: bool = True):
        """The plan for ``model`` (eval mode) or None (no CNNAttention at its input, tables too
        large, or disagreement with the model on a few mutants of ``x`` ``(1, A, L)``/``(A, L)``)."""
        from seqlens.models.attention import CNNAttention

        x0 = x[0] if x.ndim == 3 else x
        if isinstance(model, CNNAttention):
            core, post = model, None
        elif any(isinstance(m, CNNAttention) for m in model.modules()):
            try:
                graph = _LeafTracer().trace(model)
            except _NO_PLAN:
                return None
            gm = torch.fx.GraphModule(model, graph)
            ph = [n for n in graph.nodes if n.op == "placeholder"]
            if len(ph) != 1 or len(ph[0].users) != 1:
                return None
            node = next(iter(ph[0].users))
            core = gm.get_submodule(node.target) if node.op == "call_module" else None
            if not isinstance(core, CNNAttention) or node.args != (ph[0],) or node.kwargs:
                return None
            post = (torch.fx.Interpreter(gm), node)
        else:
            return None
        att = core.attention
        Lp = x0.shape[-1] // core.pool1.kernel_size if isinstance(core.pool1, nn.MaxPool1d) else x0.shape[-1]
        if 2 * att.heads * Lp * (Lp + 1) * min(att.key_size, att.out.weight.shape[0]) > _MAX_TABLE:
            return None
        stem = LocalPlan.build(_Stem(core), x0, check=False, min_saving=0)
        if stem is None or len(stem.frontier) != 1:
            return None
        plan = cls(core, stem, post)
        try:
            if check and not agrees(plan.run, model, x0):
                return None
        except _NO_PLAN:
            return None
        return plan

    def _reference(self, x, h0, W):
        """Per-sequence tables of the unmutated sequence (cached for the last ``x`` and window
        width ``W``): its attention input ``h0`` ``(L', D)``, queries, keys and values
        ``(H, L', d)`` (projected values ``(H, L', D)`` with ``_vo``), row maxima of the scores
        ``(H, L', 1)``, and for each window start ``s`` the softmax numerator ``(S, L', H, d)``
        and normaliser ``(S, L', H)`` (with ``_vo``: ``(S, H, L', D)`` and ``(S, H, L')``) of
        every query row over the keys outside ``[s, s + W)`` (relative to the row maxima; sums
        of positive terms from prefix and suffix sums, no cancellation)."""
        key = (x, x._version, W)
        if self._ref_key is not None and self._ref_key[0] is x and self._ref_key[1:] == key[1:]:
            return self._ref
        att = self.core.attention
        H, d = att.heads, att.key_size
        Lp = h0.shape[0]

        def heads(t):
            return t.view(Lp, H, d).transpose(0, 1).contiguous()

        a_in = self.core.attention_input(h0)
        q, k = heads(att.query(a_in)), heads(att.key(a_in))
        if self._vo is None:
            v = heads(att.value(a_in))
        else:
            v = nn.functional.linear(a_in, *self._vo).view(Lp, H, -1).transpose(0, 1).contiguous()
        s = q @ k.transpose(-1, -2) / math.sqrt(d)  # (H, L', L')
        m = s.amax(-1, keepdim=True)
        e = torch.exp(s - m)  # (H, L', keys)
        ev = e[..., None] * v[:, None]  # (H, L', keys, d)
        S = Lp - W + 1

        def outside(t):  # sum over keys j < s plus over keys j >= s + W, for s = 0 .. S - 1 (dim 2)
            zero = t.new_zeros((H, Lp, 1, *t.shape[3:]))
            pre = torch.cat([zero, t.cumsum(2)], 2)[:, :, :S]
            suf = torch.cat([t.flip(2).cumsum(2).flip(2), zero], 2)[:, :, W:]
            r = pre + suf  # (H, L', S, ...)
            if self._vo is None:
                return r.transpose(0, 2).contiguous()  # (S, L', H, ...)
            return r.permute(2, 0, 1, *range(3, r.dim())).contiguous()  # (S, H, L', ...)

        self._ref = (h0, q, k, v, m, outside(e), outside(ev))
        self._ref_key = key
        out_b = att.out.bias
        self._h0_bias = h0 if out_b is None else h0 + out_b  # residual + output projection's bias
        return self._ref

    def run(self, x: torch.Tensor, pos: torch.Tensor, let: torch.Tensor):
        """Model output for mutants of ``x`` ``(A, L)`` with letter ``let[i]`` at ``pos[i]``."""
        core, att = self.core, self.core.attention
        refs, wins = self.stem.windows(x, pos, let)
        k_out = self.stem.frontier[0]
        start, V = wins[k_out]  # pooled window (M, D, W) at rows [start, start + W)
        M, D, W = V.shape
        h0 = refs[k_out][0].T
        if core.positional is not None:
            h0 = h0 + core.position
        h0, q0, k0, v0, m0, den_out, num_out = self._reference(x, h0, W)
        Lp = h0.shape[0]
        H, d = att.heads, att.key_size
        rows = start[:, None] + torch.arange(W, device=x.device)  # (M, W)
        hw = V.transpose(1, 2)
        if core.positional is not None:
            hw = hw + core.position[rows]
        a_in = core.attention_input(hw)
        proj = self._vo is not None
        qw, kw = att.query(a_in), att.key(a_in)  # (M, W, H d)
        vw = nn.functional.linear(a_in, *self._vo) if proj else att.value(a_in)  # (M, W, H d) or (M, W, H D)
        scale = 1 / math.sqrt(d)
        # query rows outside the window: keys outside it from the tables, W new columns: the
        # scores as one product per head ((L', d) x (d, M W)); the values' products with a
        # block-diagonal right factor (M, H W, H d): 8x the multiply-adds of per-head products,
        # but one GEMM per mutant instead of H tiny ones
        sc = torch.bmm(q0, kw.view(M * W, H, d).permute(1, 2, 0)).view(H, Lp, M, W).permute(1, 2, 0, 3)
        sc.mul_(scale).sub_(m0.permute(1, 0, 2)[:, None])  # relative to the row maxima
        # (M, L', H, .) tables: the mutant's axes (1, 0, 2, 3) of (L', M, H, .); with _vo (M, H, L', .)
        axes = (1, 2, 0, 3) if proj else (1, 0, 2, 3)
        if float(sc.max()) > _EXP_LIMIT:  # rescale to the new row maxima
            mx = sc.amax(-1, keepdim=True).clamp_(min=0)
            en, keep = torch.exp(sc - mx), torch.exp(-mx).permute(axes)
            den = den_out.index_select(0, start)[..., None].mul_(keep)
            num = num_out.index_select(0, start).mul_(keep)
        else:
            en = torch.exp(sc)
            den = den_out.index_select(0, start)[..., None]
            num = num_out.index_select(0, start)  # (M, L', H, d) or (M, H, L', D)
        den += en.sum(-1, keepdim=True).permute(axes)
        if proj:  # one product per (mutant, head), the heads' outputs summed: (M, L', D)
            D = vw.shape[-1] // H
            num.view(M * H, Lp, D).baddbmm_(en.permute(1, 2, 0, 3).reshape(M * H, Lp, W),
                                            vw.view(M, W, H, D).transpose(1, 2).reshape(M * H, W, D))
            out = num.div_(den).sum(1)
        else:
            bv = self._block((M, H, W, H, d), vw)
            bv.diagonal(0, 1, 3).copy_(vw.view(M, W, H, d).permute(0, 1, 3, 2))
            out = num.view(M, Lp, H * d).baddbmm_(en.transpose(0, 1).reshape(M, Lp, H * W),
                                                  bv.view(M, H * W, H * d))
            out = out.view(M, Lp, H, d).div_(den).view(M, Lp, H * d)
        qw, kw, vw = (t.reshape(M * W, H, -1).transpose(0, 1).contiguous() for t in (qw, kw, vw))
        # query rows inside the window: against every key, the window's keys and values replaced
        sw = (qw @ k0.transpose(1, 2)).view(H, M, W, Lp)
        cols = rows[None, :, None, :].expand(H, M, W, W)
        sw.scatter_(3, cols, (qw.view(H * M, W, d) @ kw.view(H * M, W, d).transpose(1, 2)).view(H, M, W, W))
        pw = torch.softmax(sw.mul_(scale), dim=-1)
        dv = vw.view(H, M, W, -1) - v0[:, rows]  # window values: new - old
        ow = (pw.view(H, M * W, Lp) @ v0).view(H, M, W, -1)
        ow += (pw.gather(3, cols).view(H * M, W, W) @ dv.view(H * M, W, -1)).view(H, M, W, -1)
        out = _put_rows(out, start, ow.sum(0) if proj else ow.permute(1, 2, 0, 3).reshape(M, W, H * d))
        if core.attention_residual:  # h0 added, its window rows replaced by the mutants' hw
            h = (out if proj else torch.matmul(out, att.out.weight.T)).add_(self._h0_bias)
            flat = (torch.arange(M, device=x.device)[:, None] * Lp + rows).reshape(-1)
            h.view(M * Lp, D).index_add_(0, flat, (hw - h0[rows]).reshape(-1, D))
            h = core.norm(h)
        elif proj:
            h = out if att.out.bias is None else out.add_(att.out.bias)
        else:
            h = att.out(out)
        for block in core.transformer:
            h, _ = block(h)
        if core.lstm is not None:
            h, _ = core.lstm(h)
        y = core.output(core.dense(h.flatten(1)))
        if self.post is None:
            return y
        interp, node = self.post
        return interp.run(x[None], initial_env={node: y})
