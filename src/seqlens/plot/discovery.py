"""Figures of discovered patterns: CWM, hypothetical CWM and PWM logos, trimmed."""

from __future__ import annotations

from pathlib import Path

from seqlens.plot.logos import logo


def pattern_figure(pattern, title: str | None = None, trimmed: bool = True):
    """Three stacked logos of a :class:`~seqlens.interpret.discovery.patterns.Pattern`: the CWM
    (mean contributions), the hypothetical CWM and the PWM (information, bits)."""
    import matplotlib.pyplot as plt

    from seqlens.motifs.motif import Motif

    cwm = pattern.trimmed("cwm") if trimmed else pattern.cwm
    hcwm = pattern.trimmed("hcwm") if trimmed else pattern.hcwm
    pwm = pattern.trimmed("pwm") if trimmed else pattern.pwm
    width = cwm.shape[1]
    fig, axes = plt.subplots(3, 1, figsize=(max(3.5, 0.35 * width + 1.2), 5.4))
    logo(cwm, ax=axes[0], ylabel="CWM\n(contribution)")
    logo(hcwm, ax=axes[1], ylabel="hyp. CWM\n(contribution)")
    logo(Motif.from_probabilities(pwm), ax=axes[2], kind="information", ylabel="PWM\n(bits)")
    for ax in axes[:2]:
        ax.set_xticks([])
    axes[2].set_xlabel("position in the pattern")
    fig.suptitle(title or f"{pattern.name}: {pattern.n_seqlets} seqlets", fontsize=10)
    fig.tight_layout()
    return fig


def save_pattern_figure(pattern, path: str | Path, title: str | None = None, dpi: int = 110) -> Path:
    """Draw :func:`pattern_figure` and write it to ``path`` (atomically)."""
    from seqlens.plot.curves import save_figure

    return save_figure(pattern_figure(pattern, title), path, dpi=dpi)
