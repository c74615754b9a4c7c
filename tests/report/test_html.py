import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from seqlens.report.html import Report, referenced_files  # noqa: E402


def test_report_writes_tables_figures_and_only_existing_references(tmp_path):
    fig_path = tmp_path / "curve.png"
    plt.plot([0, 1], [0, 1])
    plt.savefig(fig_path)
    plt.close()
    rep = Report(tmp_path / "report", title="T <1>")
    sec = rep.section("design", "Design principles", "intro")
    rep.table(sec, pd.DataFrame({"pool": [1, 25], "match_fraction": [0.2, 0.9]}), "match", "Match",
              reading="higher with pooling")
    rep.figure(sec, fig_path, "Curve", reading="a line")
    index = rep.write()
    text = index.read_text()
    assert "T &lt;1&gt;" in text and "higher with pooling" in text and "0.900" in text
    refs = referenced_files(index)
    assert {r.name for r in refs} == {"match.csv", "curve.png"}
    assert all(r.exists() for r in refs)
    assert pd.read_csv(tmp_path / "report" / "tables" / "match.csv")["pool"].tolist() == [1, 25]
    with pytest.raises(FileNotFoundError):
        rep.figure(sec, tmp_path / "missing.png", "x")
