"""Study section 6: does the reference zoo reproduce? Retrain zoo models in this run and compare.

The default mode retrains a subset (``retrain`` of the settings: entries at their first seed);
``--retrain-all`` (``retrain="all"``) rebuilds every entry and seed of the zoo. Each retrained model
is trained with the entry's recipe on the entry's regenerated data and scored as the zoo build
scored it (:func:`seqlens.study.zoo.score_entry`); every stored metric is compared with the new one
(within ±0.03 counts as reproduced). On the CPU the retraining uses one thread, as the CPU-built zoo
models did, which reproduces them bit for bit. Quick mode skips this section.
"""

from __future__ import annotations

from contextlib import contextmanager

import pandas as pd

from seqlens.report.findings import Finding, verdict
from seqlens.study.context import StudyContext

TOLERANCE = 0.03
COMPARED = ("test_auroc", "match_fraction", "saliency_auroc", "saliency_corrected_auroc", "glifac_auroc")


def retrain_plan(ctx: StudyContext) -> list[tuple[str, int]]:
    """The (entry, seed) pairs this mode retrains."""
    from seqlens.study.zoo import ENTRIES, SEEDS, available_seeds

    chosen = ctx.settings["retrain"]
    if chosen == "all":
        return [(key, seed) for seed in SEEDS for key in ENTRIES]
    return [(key, (available_seeds(key) or [0])[0]) for key in chosen]


@contextmanager
def _build_threads(device):
    """On the CPU, train with the zoo build's one thread: the same seed, data and thread count give
    the zoo's model bit for bit (more threads change the order of float sums, and the run drifts)."""
    import torch

    from seqlens.models import resolve_device

    before = torch.get_num_threads()
    if resolve_device(device).type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run(ctx: StudyContext, report) -> None:
    from seqlens.models import save_model
    from seqlens.study.zoo import ENTRIES, available_seeds, train_entry

    sec = report.section(
        "reproduce", "6. Does the reference zoo reproduce?",
        "Zoo models retrained in this run with their recipe and seed on the regenerated data, scored "
        f"as the zoo build scored them; a difference within ±{TOLERANCE} counts as reproduced.")
    plan = retrain_plan(ctx)
    if not plan:
        report.text(sec, "Quick mode retrains nothing: every model above comes from the reference zoo.")
        return
    rows = []
    for key, seed in plan:
        ctx.log(f"retraining zoo entry {key} seed {seed}")
        with _build_threads(ctx.device):
            model, meta = train_entry(ENTRIES[key], seed, ctx.zoo_data(key), device=ctx.device)
        save_model(model, ctx.path("models", "retrained", key, f"seed{seed}"), metadata=meta)
        stored = (ctx.zoo_metadata(key, seed)["metrics"] if seed in available_seeds(key) else {})
        for metric in COMPARED:
            if metric in meta["metrics"]:
                old = stored.get(metric, float("nan"))
                new = meta["metrics"][metric]
                rows.append({"entry": key, "seed": seed, "metric": metric, "zoo": old, "retrained": new,
                             "difference": new - old, "within_tolerance": abs(new - old) <= TOLERANCE})
    df = pd.DataFrame(rows)
    ok = int(df.within_tolerance.sum())
    ctx.metrics["reproduce_compared"] = len(df)
    ctx.metrics["reproduce_within_tolerance"] = ok
    ctx.metrics["reproduce_max_abs_difference"] = float(df.difference.abs().max())
    report.table(sec, df, "reproduce", "Retrained models vs the zoo's stored metrics",
                 reading=f"{ok} of {len(df)} metrics within ±{TOLERANCE} of the zoo's; largest difference "
                         f"{df.difference.abs().max():.3f}.", chance={"retrained": 0.5})
    test = df[df.metric == "test_auroc"].retrained
    report.finding(sec, Finding(
        "zoo_reproduces", "The reference zoo reproduces when retrained (same recipe, seed and data)",
        f"{ok} of {len(df)} metrics within ±{TOLERANCE}", "zoo's stored metrics",
        verdict(ok == len(df), *test), "trained in this run"))
