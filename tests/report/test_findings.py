"""Report marks: published comparisons, chance-level flags and the pass/fail summary."""

import math

import pandas as pd
import pytest

from seqlens.report.findings import Finding, at_chance, mark, mean_sd, verdict
from seqlens.report.html import Report


def test_mark_within_better_worse():
    assert mark(0.80, 0.82, 0.03) == "within tolerance"
    assert mark(0.90, 0.82, 0.03) == "better"
    assert mark(0.70, 0.82, 0.03) == "worse"
    # lower is better (e.g. a false positive rate)
    assert mark(0.10, 0.30, 0.05, higher_is_better=False) == "better"
    assert mark(float("nan"), 0.8, 0.03) == "n/a"
    assert mark(0.8, None, 0.03) == "n/a"


def test_at_chance():
    assert at_chance(0.53)  # the AUROC of the old quick demo
    assert at_chance(0.47)
    assert not at_chance(0.56)
    assert at_chance(0.0, chance=0.0)  # a match fraction of 0
    assert not at_chance(0.3, chance=0.0)
    assert at_chance(float("nan"))


def test_verdict_direction_and_chance():
    assert verdict(True, 0.9, 0.95) == "reproduced"
    assert verdict(False, 0.9, 0.95) == "not reproduced"
    # a direction between two chance-level numbers proves nothing
    assert verdict(True, 0.54, 0.61) == "at chance"
    with pytest.raises(ValueError):
        Finding("k", "claim", "ours", "pub", "maybe")


def test_mean_sd():
    assert mean_sd([0.8, 0.9, 1.0]) == "0.900 ± 0.100"
    assert mean_sd([0.5]) == "0.500"
    assert mean_sd([math.nan]) == "n/a"


def test_chance_cells_are_red_and_summary_counts(tmp_path):
    report = Report(tmp_path / "report", title="t")
    sec = report.section("s", "Section")
    df = pd.DataFrame({"model": ["a", "b"], "auroc": [0.53, 0.91], "n": [1, 2]})
    report.table(sec, df, "scores", "Scores", chance={"auroc": 0.5})
    report.finding(sec, Finding("f1", "Claim one", "0.9", "0.8", "reproduced", "reference zoo"))
    report.finding(sec, Finding("f2", "Claim two", "0.53", "0.8", "at chance", "trained in this run"))
    page = report.write().read_text()
    assert page.count("class='chance'") == 1
    assert "<td class='chance' title='at chance level'>0.530</td>" in page
    assert "<td>0.910</td>" in page
    assert "1 of 2 published findings reproduced in this run" in page
    assert "0 not reproduced, 1 at chance level" in page
    assert page.index("id='summary'") < page.index("<h2")
    assert [f["key"] for f in report.findings()] == ["f1", "f2"]
