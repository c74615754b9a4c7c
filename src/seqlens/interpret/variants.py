"""Variant effects: a model's outputs on alternate minus reference windows.

``variant_effects(model, ref, alt)`` runs the model on the reference and alternate windows
``(N, A, L)`` (from :mod:`seqlens.genome.variants`) and returns a :class:`VariantEffects`:

* single-output models (``(N, T)``): ``effect = alt - ref`` per output on the raw scale (logits of
  a classifier) and, with ``link="sigmoid"``, on the probability scale too (``"exp"``: rates);
* profile models (output ``(profile, counts)``, :mod:`seqlens.models.bpnet`): the effect is the
  change of predicted log counts per track, and ``profile_jsd`` ``(N, S)`` is the Jensen-Shannon
  distance (base 2, in [0, 1]) between the predicted reference and alternate profile shapes. An
  indel moves the alternate window against the reference one (``shifts``: alternate position ``i``
  is reference position ``i + shift``, :attr:`~seqlens.genome.variants.VariantWindow.ref_offset`
  minus ``alt_offset``); the profiles are compared on the positions both cover, renormalised.

``rc=True`` averages every output over the window and its reverse complement (strand-symmetric
tasks; refused for profile models, whose stranded tracks swap under reverse complement).
Windows go through the model in chunks of ``batch_size``; memory stays flat in ``N``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import expit, softmax

from seqlens.alphabet import reverse_complement
from seqlens.errors import ParameterError
from seqlens.models.bpnet import OutputHead
from seqlens.train.profile import jensen_shannon
from seqlens.train.trainer import predict

# output link -> (function on raw outputs, the name of the linked scale)
LINKS = {"sigmoid": (expit, "prob"), "exp": (lambda y: np.exp(np.minimum(y, 80.0)), "rate")}


@dataclass
class VariantEffects:
    """Outputs ``(N, T)`` on the reference and alternate windows (raw scale) and, for profile
    models, ``profile_jsd`` ``(N, S)``."""

    ref: np.ndarray
    alt: np.ndarray
    link: str | None = None
    profile_jsd: np.ndarray | None = None

    @property
    def effect(self) -> np.ndarray:
        """``alt - ref`` on the raw scale (logits, values, log counts)."""
        return self.alt - self.ref

    @property
    def linked_effect(self) -> np.ndarray | None:
        """``link(alt) - link(ref)`` (probabilities for ``"sigmoid"``), or None without a link."""
        if self.link is None:
            return None
        fn = LINKS[self.link][0]
        return fn(self.alt) - fn(self.ref)


def is_profile_model(model: torch.nn.Module, X) -> bool:
    """Whether ``model`` returns ``(profile, counts)`` heads (probed on the first window of ``X``);
    :class:`ParameterError` for other outputs that are not one tensor."""
    with torch.no_grad():
        out = model.eval()(torch.as_tensor(np.asarray(X[:1], dtype=np.float32)))
    if isinstance(out, torch.Tensor):
        return False
    if isinstance(out, tuple) and getattr(out, "_fields", None) == ("profile", "counts"):
        return True
    raise ParameterError(f"the model returns a {type(out).__name__}; variant effects need one (N, T) "
                         "tensor or a profile model's (profile, counts) heads")


def aligned_jsd(p_ref: np.ndarray, p_alt: np.ndarray, shifts) -> np.ndarray:
    """``(N, S)`` Jensen-Shannon distance of profiles ``(N, S, L)`` (distributions over the last
    axis) where alternate position ``i`` faces reference position ``i + shifts[n]``; each pair is
    cropped to the positions both cover and renormalised."""
    shifts = np.zeros(len(p_ref), int) if shifts is None else np.asarray(shifts, dtype=int)
    out = np.empty(p_ref.shape[:2])
    L = p_ref.shape[-1]
    for k in np.unique(shifts):
        rows = shifts == k
        a = p_alt[rows][..., max(-k, 0):L - max(k, 0)]
        r = p_ref[rows][..., max(k, 0):L + min(k, 0)]
        if a.shape[-1] == 0:
            out[rows] = 1.0  # nothing in common
            continue
        out[rows] = jensen_shannon(r / r.sum(-1, keepdims=True), a / a.sum(-1, keepdims=True))
    return out


def variant_effects(model: torch.nn.Module, ref, alt, link: str | None = None, rc: bool = False,
                    shifts=None, batch_size: int = 256, device=None,
                    verbose: bool = False) -> VariantEffects:
    """Effects of the variants whose windows are ``ref`` and ``alt`` ``(N, A, L)`` (numpy).

    ``link``: ``None``, ``"sigmoid"`` or ``"exp"`` for :attr:`VariantEffects.linked_effect`.
    ``shifts``: ``(N,)`` offsets of the alternate windows (see the module doc; default 0), used by
    the profile JSD only.
    """
    if link is not None and link not in LINKS:
        raise ParameterError(f"link must be None or one of {sorted(LINKS)}, got {link!r}")
    ref, alt = np.asarray(ref, dtype=np.float32), np.asarray(alt, dtype=np.float32)
    if ref.shape != alt.shape or ref.ndim != 3:
        raise ParameterError(f"ref and alt windows must share one (N, A, L) shape, got {ref.shape} and "
                             f"{alt.shape}")
    profile = is_profile_model(model, ref) if len(ref) else False
    if profile and rc:
        raise ParameterError("rc averaging is not available for profile models: their stranded tracks "
                             "swap under reverse complement")
    if profile and link is not None:
        raise ParameterError("profile models have no output link: their counts head is log counts")
    scorer = OutputHead(model, "counts") if profile else model
    shape = OutputHead(model, "profile") if profile else None
    outs = {"ref": [], "alt": [], "jsd": []}
    chunk = max(int(batch_size), 1) * 16
    for start in range(0, len(ref), chunk):
        windows = {"ref": ref[start:start + chunk], "alt": alt[start:start + chunk]}
        for key, X in windows.items():
            y = predict(scorer, X, batch_size=batch_size, device=device, verbose=verbose)
            if rc:
                y = (y + predict(scorer, reverse_complement(X), batch_size=batch_size, device=device)) / 2
            outs[key].append(np.asarray(y, dtype=np.float64).reshape(len(X), -1))
        if profile:
            p_ref, p_alt = (softmax(np.asarray(predict(shape, windows[k], batch_size=batch_size,
                                                       device=device), dtype=np.float64), axis=-1)
                            for k in ("ref", "alt"))
            outs["jsd"].append(aligned_jsd(p_ref, p_alt, None if shifts is None
                                           else np.asarray(shifts)[start:start + chunk]))
    ref_out = np.concatenate(outs["ref"]) if outs["ref"] else np.zeros((0, 0))
    alt_out = np.concatenate(outs["alt"]) if outs["alt"] else np.zeros((0, 0))
    jsd = np.concatenate(outs["jsd"]) if outs["jsd"] else None
    return VariantEffects(ref_out, alt_out, link, jsd)
