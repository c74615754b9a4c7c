"""Figures of global importance analysis experiments (:mod:`seqlens.interpret.gia`).

Each function takes the table (or dict) an experiment returns and gives back a matplotlib
``Figure``; save it with :func:`seqlens.plot.curves.save_figure`. Error bars are standard errors.
Global importance is the change of the mean prediction over the null sequences when a pattern
is embedded; ``unit`` names the model output it was measured on (``"logit"`` for the zoo's
classifiers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _figure(nrows=1, ncols=1, figsize=(6, 3.5)):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
    return fig, axes


def importance_label(unit: str = "logit") -> str:
    """Axis label of global importance in ``unit``."""
    return f"GIA importance (Δ mean prediction, {unit})"


def _pattern_name(p) -> str:
    """A pattern as text: a string as is, a Motif by its name and consensus."""
    if isinstance(p, str):
        return p
    name = " ".join(x for x in (getattr(p, "alt_name", ""), getattr(p, "name", "")) if x)
    return f"{name} ({p.consensus()})" if hasattr(p, "consensus") else str(p)


def _of(*patterns) -> str:
    """`` of A`` / `` of A and B`` for a title; empty without patterns."""
    names = [_pattern_name(p) for p in patterns if p is not None]
    return f" of {' and '.join(names)}" if names else ""


def plot_importance(df: pd.DataFrame, title: str | None = None, unit: str = "logit"):
    """Bars of the importance (+- se) of each ``pattern`` of a table with columns ``pattern``,
    ``importance``, ``se`` (one :func:`~seqlens.interpret.gia.global_importance` per row)."""
    fig = _bar_figure(df["importance"], df["se"], [str(p) for p in df["pattern"]], unit,
                      title or f"global importance of {', '.join(map(str, df['pattern']))}",
                      figsize=(max(3.5, 0.8 * len(df) + 2), 3.5), rotation=30, fontfamily="monospace")
    fig.axes[0].set_xlabel("embedded pattern")
    fig.tight_layout()
    return fig


def plot_kmer_screen(df: pd.DataFrame, top: int = 20, motif=None, title: str | None = None,
                     unit: str = "logit"):
    """Bar chart of the ``top`` k-mers of :func:`~seqlens.interpret.gia.kmer_screen`; with a
    ``motif`` (e.g. from :func:`~seqlens.interpret.gia.align_kmers`) its logo is drawn beside."""
    from seqlens.plot.logos import logo

    head = df.sort_values("importance", ascending=False).head(top)
    fig, axes = _figure(1, 2 if motif is not None else 1,
                        figsize=(10 if motif is not None else 6, 0.25 * len(head) + 1.5))
    ax = axes[0, 0]
    y = np.arange(len(head))[::-1]
    ax.barh(y, head["importance"], xerr=head["se"], color="#255C99")
    ax.set_yticks(y, head["kmer"], fontfamily="monospace")
    ax.set_xlabel(importance_label(unit))
    ax.set_ylabel("k-mer")
    ax.set_title(title or f"k-mer screen (top {len(head)} of {len(df)})")
    if motif is not None:
        logo(motif, ax=axes[0, 1], kind="information")
        axes[0, 1].set_xlabel("position in the aligned k-mers")
        axes[0, 1].set_title(f"aligned top k-mers: {motif.consensus()}")
    fig.tight_layout()
    return fig


def plot_kmer_mutagenesis(df: pd.DataFrame, title: str | None = None, unit: str = "logit"):
    """Heatmap (letter x position) of the change in importance of every single mutant of a k-mer
    (:func:`~seqlens.interpret.gia.kmer_mutagenesis`); the reference letters are outlined."""
    fig, axes = _figure(figsize=(0.6 * df["offset"].nunique() + 2, 3))
    ax = axes[0, 0]
    mat = df.pivot(index="letter", columns="offset", values="delta")
    letters = list(dict.fromkeys(df["letter"]))
    mat = mat.loc[letters]
    lim = float(np.nanmax(np.abs(mat.to_numpy()))) or 1.0
    im = ax.imshow(mat.to_numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ref = df[df["is_reference"]].drop_duplicates("offset")
    for _, r in ref.iterrows():
        ax.add_patch(_rect(int(r["offset"]), letters.index(r["letter"])))
    kmer = "".join(ref.sort_values("offset")["letter"])
    ax.set_xticks(range(mat.shape[1]), list(kmer))
    ax.set_yticks(range(len(letters)), letters)
    ax.set_xlabel(f"position in {kmer} (reference letters outlined)")
    ax.set_ylabel("substituted letter")
    ax.set_title(title or f"mutagenesis of {kmer} (change in importance)")
    fig.colorbar(im, ax=ax, label=f"Δ GIA importance ({unit})")
    fig.tight_layout()
    return fig


def _rect(x, y):
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=1.5)


def _line(ax, x, df, label=None, color=None):
    ax.plot(x, df["importance"], marker="o", ms=3, label=label, color=color)
    ax.fill_between(x, df["importance"] - df["se"], df["importance"] + df["se"], alpha=0.25, color=color)


def plot_positional(df: pd.DataFrame, title: str | None = None, pattern=None, unit: str = "logit"):
    """Importance versus position (:func:`~seqlens.interpret.gia.positional_bias`) of ``pattern``
    (named in the title when given)."""
    fig, axes = _figure()
    ax = axes[0, 0]
    _line(ax, df["position"], df)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("start position of the pattern (nt)")
    ax.set_ylabel(importance_label(unit))
    ax.set_title(title or f"positional bias{_of(pattern)}")
    fig.tight_layout()
    return fig


def plot_copies(df: pd.DataFrame, fit: dict | None = None, title: str | None = None, pattern=None,
                unit: str = "logit"):
    """Importance versus copy number of ``pattern`` with the linear fit and its R^2
    (:func:`~seqlens.interpret.gia.multiple_sites`)."""
    fig, axes = _figure(figsize=(4.5, 3.5))
    ax = axes[0, 0]
    ax.errorbar(df["copies"], df["importance"], yerr=df["se"], fmt="o", color="#255C99")
    if fit is not None:
        x = np.array([df["copies"].min(), df["copies"].max()])
        ax.plot(x, fit["slope"] * x + fit["intercept"], "--", color="#D62839",
                label=f"slope {fit['slope']:.3g}, R$^2$ = {fit['r2']:.3f}")
        ax.legend(frameon=False)
    ax.set_xlabel("copies of the pattern")
    ax.set_ylabel(importance_label(unit))
    ax.set_title(title or f"multiple sites{_of(pattern)}")
    fig.tight_layout()
    return fig


def plot_spacing(df: pd.DataFrame, title: str | None = None, patterns=None, unit: str = "logit"):
    """Importance versus distance, one curve per orientation (:func:`~seqlens.interpret.gia.spacing`);
    the sum of the single-pattern effects is dashed when known. ``patterns`` (the two patterns,
    default ``df.attrs["pattern_a"/"pattern_b"]`` when the table has them) name the title."""
    fig, axes = _figure()
    ax = axes[0, 0]
    names = {"++": "same (++)", "+-": "convergent (+-)", "-+": "divergent (-+)", "--": "both minus (--)"}
    for o, sub in df.groupby("orientation", sort=False):
        _line(ax, sub["distance"], sub, label=names.get(o, o))
    if "importance_a" in df.attrs and "importance_b" in df.attrs:
        ax.axhline(df.attrs["importance_a"] + df.attrs["importance_b"], ls="--", color="grey",
                   label="sum of singles")
    ax.set_xlabel("distance (bp between the patterns)")
    ax.set_ylabel(importance_label(unit))
    ax.legend(frameon=False, fontsize=8)
    if patterns is None and "pattern_a" in df.attrs and "pattern_b" in df.attrs:
        patterns = (df.attrs["pattern_a"], df.attrs["pattern_b"])
    ax.set_title(title or f"spacing{_of(*(patterns or ()))}")
    fig.tight_layout()
    return fig


def _bar_figure(values, errors, labels: list[str], unit: str, title: str, figsize=(4.5, 3.5),
                rotation: int = 20, **label_style):
    """Bars of importances with standard errors, one per label (``label_style``: text keywords
    of the tick labels)."""
    fig, axes = _figure(figsize=figsize)
    ax = axes[0, 0]
    ax.bar(range(len(labels)), values, yerr=errors, color="#255C99", capsize=3)
    ax.set_xticks(range(len(labels)), labels, rotation=rotation, **label_style)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_ylabel(importance_label(unit))
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def _bars(res: dict, names: list[tuple[str, str]], title: str, unit: str):
    keys = [k for k, _ in names if f"gia_{k}" in res]
    labels = [lab for k, lab in names if f"gia_{k}" in res]
    return _bar_figure([res[f"gia_{k}"] for k in keys], [res[f"se_{k}"] for k in keys], labels, unit,
                       f"{title}\nWelch t = {res['t_statistic']:.3g}, p = {res['p_value']:.2g}")


def plot_gc_bias(res: dict, title: str = "GC bias", unit: str = "logit"):
    """Bars for motif alone, motif + GC flank and GC flank alone (:func:`~seqlens.interpret.gia.gc_bias`)."""
    return _bars(res, [("motif", "motif"), ("motif_gc", "motif + GC flank"), ("gc", "GC flank")], title,
                 unit)


def plot_hairpin(res: dict, title: str = "RNA hairpin", unit: str = "logit"):
    """Bars for motif in loop, in stem, unstructured and the stem-loop alone
    (:func:`~seqlens.interpret.gia.hairpin`)."""
    return _bars(res, [("loop", "in loop"), ("stem", "in stem"), ("unstructured", "unstructured"),
                       ("hairpin", "stem-loop only")], title, unit)
