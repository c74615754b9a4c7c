"""Study section 5: sequence-family models.

Contacts on dihydrofolate reductase (DHFR, plmc's example alignment): mutual information + APC,
multivariate Gaussian, Potts (pseudo-likelihood, plmc preset) and factored attention, scored
against the crystal structure (minimum atom distance < 5 Å, |i - j| >= 6). Mutation effects on the
PSD-95 PDZ3 domain (PF00595 alignment, focus DLG4_RAT) against the McLaughlin et al. 2012 deep
mutational scan (CRIPT binding), for the site-independent and Potts models.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqlens.study.context import StudyContext

# published / reference figures (shared/data/README.md)
PUBLISHED_DHFR = {"mi": 0.43, "gaussian": 0.77, "potts": 0.805}
PUBLISHED_DLG4 = {"pssm": 0.460, "potts": 0.535, "vae": 0.592}


def run(ctx: StudyContext, report) -> None:
    sec = report.section(
        "families", "5. Sequence families: contacts and mutation effects",
        "Models of a protein family alignment predict residue contacts (couplings, Frobenius norm + "
        "APC) and the fitness effect of mutations.")
    _contacts(ctx, report, sec)
    _mutations(ctx, report, sec)


def _contacts(ctx: StudyContext, report, sec) -> None:
    from seqlens.data import data_path
    from seqlens.io.structures import read_distance_table
    from seqlens.msa import Alignment, Gaussian, MutualInformation, Potts, contact_table, precision_table
    from seqlens.msa.attention import FactoredAttention
    from seqlens.plot.contacts import plot_contact_map
    from seqlens.plot.curves import save_figure

    s = ctx.settings
    msa = Alignment.read(data_path("DHFR.a2m.gz"), format="a2m", focus="DYR_ECOLI")
    truth = read_distance_table(data_path("DHFR_distances_longrange.csv"))
    models = {
        "mi": MutualInformation(),
        "gaussian": Gaussian(),
        "potts": Potts(preset="plmc", max_iter=s["potts_iterations"], random_state=ctx.seed),
        "factored_attention": FactoredAttention(n_heads=s["attention_heads"],
                                                max_iter=s["attention_iterations"],
                                                random_state=ctx.seed),
    }
    rows, tables = [], {}
    for name, model in models.items():
        ctx.log(f"DHFR contacts: fitting {name} on {msa.n_sequences} sequences")
        model.fit(msa)
        pairs = contact_table(model.contacts(), msa.columns)
        tables[name] = pairs
        prec = precision_table(pairs, truth, msa.length, separations=(6, 12, 24), threshold=5.0)
        rows.append({"model": name, **{k.removeprefix("precision_at_"): v for k, v in prec.items()},
                     "published_L_sep6": PUBLISHED_DHFR.get(name, float("nan"))})
        ctx.metrics[f"dhfr_{name}_precision_at_L"] = prec["precision_at_L_sep6"]
    df = pd.DataFrame(rows)
    cols = ["model", "L_sep6", "L2_sep6", "L5_sep6", "L_sep12", "L_sep24", "published_L_sep6"]
    best = df.loc[df.L_sep6.idxmax()]
    report.table(sec, df[cols], "dhfr_contacts", "DHFR contact precision (top L, L/2, L/5 pairs; < 5 Å)",
                 reading=f"Best top-L precision: {best.model} {best.L_sep6:.3f} (plmc Potts 0.805). "
                         "PSSM has no couplings and predicts no contacts.")
    fig = plot_contact_map(tables["potts"], truth, n_top=msa.length, threshold=5.0).figure
    report.figure(sec, save_figure(fig, ctx.path("figures", "dhfr_contact_map.png")),
                  "DHFR: top-L Potts contacts over the structure's contact map")


def _mutations(ctx: StudyContext, report, sec) -> None:
    from seqlens.data import data_path
    from seqlens.io.dms import read_dms
    from seqlens.msa import PSSM, Alignment, Potts
    from seqlens.msa.mutations import evaluate_dms
    from seqlens.plot.curves import save_figure
    from seqlens.plot.mutations import plot_mutation_scatter

    s = ctx.settings
    msa = Alignment.read(data_path("PF00595_mgap6.fasta.gz"), focus="DLG4_RAT/313-391")
    if s["pdz_sequences"] is not None and s["pdz_sequences"] < msa.n_sequences:
        rng = np.random.default_rng(ctx.seed)
        others = np.delete(np.arange(msa.n_sequences), msa.focus_index)
        keep = np.sort(rng.choice(others, s["pdz_sequences"] - 1, replace=False))
        msa = msa.subset(np.concatenate([[msa.focus_index], keep]))
    table = read_dms(data_path("DLG4_RAT_Ranganathan2012.csv"), column="CRIPT")
    potts = Potts(preset="plmc", max_iter=s["potts_iterations"], random_state=ctx.seed)
    models = {"pssm": PSSM(), "potts": potts}
    rows, scored = [], {}
    for name, model in models.items():
        ctx.log(f"DLG4 mutation effects: fitting {name} on PF00595")
        model.fit(msa)
        metrics, out = evaluate_dms(model, table)
        scored[name] = out
        rows.append({"model": name, "spearman": metrics["spearman"], "n_scored": metrics["n_scored"],
                     "published_spearman": PUBLISHED_DLG4[name]})
        ctx.metrics[f"dlg4_{name}_spearman"] = metrics["spearman"]
    df = pd.DataFrame(rows)
    report.table(sec, df, "dlg4_mutations", "DLG4 (PSD-95 PDZ3) mutation effects vs CRIPT-binding fitness",
                 reading=f"Spearman: site-independent {df.spearman[0]:.3f}, Potts {df.spearman[1]:.3f} "
                         "(published on another alignment: 0.460, 0.535; DeepSequence 0.592).")
    out = scored["potts"].dropna(subset=["prediction"])
    fig = plot_mutation_scatter(out["prediction"], out["score"], title="DLG4: Potts delta energy vs fitness")
    report.figure(sec, save_figure(fig, ctx.path("figures", "dlg4_scatter.png")),
                  "Potts mutation scores vs measured CRIPT-binding fitness")
