"""tfmodisco-lite's HDF5 layout, written and read.

Layout (``modiscolite.io.save_hdf5``): attribute ``window_size``; groups ``pos_patterns`` and
``neg_patterns`` holding ``pattern_0``, ``pattern_1``, ... each with datasets ``sequence``
(the PWM), ``contrib_scores`` (CWM) and ``hypothetical_contribs`` (``(W, 4)``, position x
letter), and a group ``seqlets`` with ``n_seqlets`` (``[n]``), ``start``, ``end``,
``example_idx``, ``is_revcomp`` and the aligned ``sequence``, ``contrib_scores``,
``hypothetical_contribs`` (``(n, W, 4)``). modisco-lite's report and FiNeMo read this layout.
Our seqlet windows may reach past a sequence end (read as zeros); modisco-lite's never do.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from seqlens.errors import FormatError
from seqlens.interpret.discovery.patterns import MEMBER_COLUMNS, Pattern, aligned_windows, trim_span

GROUPS = {1: "pos_patterns", -1: "neg_patterns"}


def write_modisco_h5(path: str | Path, patterns, attr, X, window_size: int | None = None) -> Path:
    """Write ``patterns`` (with the maps ``attr`` and sequences ``X`` they came from, for the
    per-seqlet arrays) in tfmodisco-lite's layout. ``window_size`` defaults to the sequence
    length. The file is written atomically."""
    from seqlens.io.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as fh:
        fh.attrs["window_size"] = int(window_size if window_size is not None else X.shape[2])
        for sign, group in GROUPS.items():
            mine = [p for p in patterns if p.sign == sign]
            if not mine:
                continue
            g = fh.create_group(group)
            for i, p in enumerate(mine):
                _write_pattern(g.create_group(f"pattern_{i}"), p, attr, X)
    return path


def _write_pattern(grp, p: Pattern, attr, X) -> None:
    grp.create_dataset("sequence", data=p.pwm.T)
    grp.create_dataset("contrib_scores", data=p.cwm.T)
    grp.create_dataset("hypothetical_contribs", data=p.hcwm.T)
    s = p.seqlets
    hyp, x = aligned_windows([attr, X], s["seq"], s["start"], s["strand"], p.width)
    sg = grp.create_group("seqlets")
    sg.create_dataset("n_seqlets", data=np.array([len(s)]))
    sg.create_dataset("start", data=s["start"].to_numpy(np.int64))
    sg.create_dataset("end", data=s["end"].to_numpy(np.int64))
    sg.create_dataset("example_idx", data=s["seq"].to_numpy(np.int64))
    sg.create_dataset("is_revcomp", data=s["strand"].to_numpy() < 0)
    sg.create_dataset("sequence", data=x.transpose(0, 2, 1), compression="gzip")
    sg.create_dataset("contrib_scores", data=(hyp * x).transpose(0, 2, 1), compression="gzip")
    sg.create_dataset("hypothetical_contribs", data=hyp.transpose(0, 2, 1), compression="gzip")
    if p.site_pwm is not None:  # ours only (refine_sites); modisco-lite's readers skip it
        grp.create_dataset("site_sequence", data=p.site_pwm.T)
        grp["site_sequence"].attrs["n_sites"] = int(p.n_sites)


def read_modisco_h5(path: str | Path, trim_threshold: float = 0.3, trim_pad: int = 0
                    ) -> list[Pattern]:
    """Patterns from a tfmodisco-lite HDF5 file (ours or modisco-lite's): ``pos_0``, ... then
    ``neg_0``, ... in the file's pattern order, trimmed with :func:`trim_span`. Sub-patterns
    are ignored. Raises :class:`FormatError` naming the file and group when the layout is not
    tfmodisco-lite's."""
    from seqlens.io.hdf5 import open_hdf5

    path = Path(path)
    out = []
    with open_hdf5(path) as fh:
        if not any(g in fh for g in GROUPS.values()):
            raise FormatError(f"{path}: no 'pos_patterns' or 'neg_patterns' group; not a "
                              "tfmodisco-lite results file")
        for sign, group in GROUPS.items():
            if group not in fh:
                continue
            names = sorted(fh[group], key=lambda k: int(k.rsplit("_", 1)[-1])
                           if k.rsplit("_", 1)[-1].isdigit() else 1 << 30)
            for i, name in enumerate(names):
                out.append(_read_pattern(path, fh[group][name], f"{group}/{name}", sign, i,
                                         trim_threshold, trim_pad))
    return out


def _read_pattern(path, g, where, sign, i, trim_threshold, trim_pad) -> Pattern:
    try:
        pwm = np.asarray(g["sequence"][()], np.float64).T
        cwm = np.asarray(g["contrib_scores"][()], np.float64).T
        hcwm = np.asarray(g["hypothetical_contribs"][()], np.float64).T
        s = g["seqlets"]
        start = np.asarray(s["start"][()], np.int64)
        seqlets = pd.DataFrame({
            "seqlet": np.full(len(start), -1, np.int64),
            "seq": np.asarray(s["example_idx"][()], np.int64), "start": start,
            "end": np.asarray(s["end"][()], np.int64),
            "strand": np.where(np.asarray(s["is_revcomp"][()], bool), -1, 1),
            "similarity": np.full(len(start), np.nan)}, columns=MEMBER_COLUMNS)
    except (KeyError, ValueError, TypeError, OSError) as exc:
        raise FormatError(f"{path}: {where} is not a tfmodisco-lite pattern ({exc})") from None
    if pwm.ndim != 2 or pwm.shape != cwm.shape or pwm.shape != hcwm.shape:
        raise FormatError(f"{path}: {where}: sequence, contrib_scores and hypothetical_contribs "
                          f"differ in shape ({pwm.shape}, {cwm.shape}, {hcwm.shape})")
    prefix = "pos" if sign > 0 else "neg"
    out = Pattern(f"{prefix}_{i}", sign, cwm, hcwm, pwm, seqlets,
                  trim_span(cwm, trim_threshold, trim_pad), {"source": where})
    if "site_sequence" in g:
        out.site_pwm = np.asarray(g["site_sequence"][()], np.float64).T
        out.n_sites = int(g["site_sequence"].attrs.get("n_sites", 0))
        if out.site_pwm.shape != pwm.shape:
            raise FormatError(f"{path}: {where}: site_sequence has shape {out.site_pwm.shape}, "
                              f"sequence {pwm.shape}")
    return out
