"""Training curves: loss and validation metrics per epoch.

Returns a matplotlib ``Figure`` (the caller saves or shows it); :func:`save_figure` writes one
atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_history(history, title: str | None = None):
    """Two panels: train/valid loss, and every ``valid_*`` metric, against the epoch.

    ``history`` is a list of per-epoch dicts (``FitResult.history``), a DataFrame, or a path to
    ``history.json``/``history.csv``. Fine-tune epochs are shaded; the best epoch (highest
    ``valid_auroc``/``valid_pearson`` or lowest ``valid_loss``) is marked.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import pandas as pd

    if isinstance(history, (str, Path)):
        path = Path(history)
        df = pd.read_csv(path) if path.suffix == ".csv" else pd.read_json(path)
    else:
        df = pd.DataFrame(history)
    if df.empty:
        raise ValueError("empty history")
    epoch = df["epoch"].to_numpy() if "epoch" in df else np.arange(1, len(df) + 1)
    metric_cols = [c for c in df.columns if c.startswith("valid_") and c != "valid_loss"]
    fig, axes = plt.subplots(1, 2 if metric_cols else 1, figsize=(10 if metric_cols else 5, 3.6),
                             squeeze=False)
    ax = axes[0, 0]
    for col, style in (("train_loss", "-"), ("valid_loss", "--")):
        if col in df:
            ax.plot(epoch, df[col], style, marker="o", ms=3, label=col.replace("_", " "))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend(frameon=False)
    if metric_cols:
        ax2 = axes[0, 1]
        for col in metric_cols:
            ax2.plot(epoch, df[col], marker="o", ms=3, label=col.replace("_", " "))
        ax2.set_xlabel("epoch")
        ax2.set_ylabel("validation metric")
        ax2.legend(frameon=False)
    best_col = next((c for c in ("valid_auroc", "valid_pearson") if c in df), None)
    if best_col is not None:
        best = int(np.nanargmax(df[best_col].to_numpy()))
    elif "valid_loss" in df:
        best = int(np.nanargmin(df["valid_loss"].to_numpy()))
    else:
        best = None
    from matplotlib.ticker import MaxNLocator

    for a in axes[0]:
        a.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        if best is not None:
            a.axvline(epoch[best], color="grey", lw=0.8, ls=":")
        if "stage" in df and (df["stage"] == "finetune").any():
            ft = epoch[(df["stage"] == "finetune").to_numpy()]
            a.axvspan(ft.min() - 0.5, ft.max() + 0.5, color="grey", alpha=0.12, lw=0)
        if "phase" in df and (df["phase"] != "clean").any():
            adv = epoch[(df["phase"] != "clean").to_numpy()]
            a.axvspan(adv.min() - 0.5, adv.max() + 0.5, color="red", alpha=0.06, lw=0)
    ax.set_title("loss per epoch")
    if metric_cols:
        axes[0, 1].set_title("validation metrics per epoch")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def save_figure(fig, path: str | Path, dpi: int = 120) -> Path:
    """Save ``fig`` atomically (format from the suffix) and close it."""
    import matplotlib.pyplot as plt

    from seqlens.io.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path
