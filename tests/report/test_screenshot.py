import matplotlib.image as mpimg
import pandas as pd
import pytest

from seqlens.report.html import Report
from seqlens.report.screenshot import find_chromium, screenshot


@pytest.mark.skipif(find_chromium() is None, reason="chromium not installed (make test installs it as root)")
def test_report_renders_to_a_non_blank_png(tmp_path):
    rep = Report(tmp_path / "r", title="Screenshot check")
    sec = rep.section("a", "Section A", "Some text to render.")
    rep.table(sec, pd.DataFrame({"x": range(5), "y": [v * 0.5 for v in range(5)]}), "t", "Table")
    png = screenshot(rep.write(), tmp_path / "shot.png", width=800, height=600)
    img = mpimg.imread(png)
    assert img.shape[:2] == (600, 800)
    assert img[..., :3].std() > 0.02  # not a blank page
