"""End-to-end check of ``seqlens study`` at tiny settings: every section writes its tables and
figures, and the page links only to files that exist."""

import json

import pytest

from seqlens.cli import main
from seqlens.report.html import referenced_files

TINY = dict(
    zoo_seeds=1, n_regcode=600, epochs=1, patience=1, n_attr=6, n_filter_test=300, n_motif_seqs=300,
    attr_methods=("saliency", "ig", "deepshap", "ism"), n_null=24, spacing_step=20, surrogate_n=300,
    surrogate_kind="additive", robust_epochs=1, potts_iterations=2, attention_iterations=1,
    pdz_sequences=400, ig_steps=4, smooth_n=2, shap_refs=2, n_glifac=200,
)

EXPECTED_TABLES = {"pool_size_sweep", "activation_comparison", "attribution_scores", "gia_core_vs_decoy",
                   "robust_training", "zbed2_filter_matches", "dhfr_contacts", "dlg4_mutations",
                   "motif_discovery", "glifac"}


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    from seqlens.study.runner import run_study

    out = tmp_path_factory.mktemp("study")
    run_study(out, mode="quick", seed=0, verbose=False, overrides=TINY)
    return out


def test_every_section_writes_tables_figures_and_valid_links(study_dir):
    index = study_dir / "report" / "index.html"
    text = index.read_text()
    for title in ("1. Design", "2. Interrogation", "3. Robust", "4. Real data", "5. Sequence families",
                  "6. Does the reference zoo reproduce?"):
        assert title in text
    # the page opens with the pass/fail summary of every finding with a published counterpart
    assert text.index("id='summary'") < text.index("1. Design")
    assert "published findings reproduced in this run" in text
    for claim in ("pool size", "Exponential first layer", "Gradient correction", "GIA", "GLIFAC",
                  "Robust training"):
        assert claim in text.split("id='summary'")[1].split("</section>")[0]
    tables = {p.stem for p in (study_dir / "report" / "tables").glob("*.csv")}
    assert EXPECTED_TABLES <= tables
    refs = referenced_files(index)
    assert len([r for r in refs if r.suffix == ".png"]) >= 10
    assert all(r.exists() for r in refs), [str(r) for r in refs if not r.exists()]
    metrics = json.loads((study_dir / "metrics.json").read_text())
    for key in ("dhfr_potts_precision_at_L", "dlg4_pssm_spearman", "robust_standard_test_auroc",
                "glifac_auroc", "zbed2_test_auroc", "seconds", "motifs_cnn_local_exponential_core_recovered"):
        assert key in metrics
    assert 0.0 <= metrics["dhfr_gaussian_precision_at_L"] <= 1.0
    # the Gaussian needs no training: even at tiny settings it finds DHFR contacts
    assert metrics["dhfr_gaussian_precision_at_L"] > 0.6


def test_cli_rejects_unknown_section(capsys):
    with pytest.raises(SystemExit):
        main(["study", "--only", "nonsense"])
