"""``seqlens attribute --logos N --logo-window START:END``: figures of part of long sequences."""

import numpy as np
import pytest
import torch

from seqlens.cli import main

models = pytest.importorskip("seqlens.models")
torch.set_num_threads(1)


def test_logo_window_draws_only_those_positions(tmp_path, capsys, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    from seqlens.plot import tracks

    rng = np.random.default_rng(0)
    fasta = tmp_path / "s.fa"
    fasta.write_text("".join(f">s{k}\n{''.join(rng.choice(list('ACGT'), 100))}\n" for k in range(2)))
    models.save_model(models.build_model("cnn_p4", seq_length=100, random_state=0), tmp_path / "run",
                      metadata={"loss": "bce"})
    drawn = []
    for name in ("attribution_figure", "ism_figure"):
        real = getattr(tracks, name)

        def spy(*a, _real=real, _name=name, **kw):
            fig = _real(*a, **kw)
            drawn.append((_name, fig.axes[0].get_xlim(), fig.axes[0].get_title(), fig.axes[-1].get_ylabel()))
            return fig
        monkeypatch.setattr(tracks, name, spy)
    base = ["attribute", "--model", str(tmp_path / "run"), "--data", str(fasta), "--method", "saliency,ism",
            "--logos", "1", "--quiet", "--device", "cpu", "--activation", "sigmoid"]
    assert main(base + ["--out", str(tmp_path / "a.h5"), "--logo-window", "30:70"]) == 0
    assert drawn == [("attribution_figure", (30, 70), "saliency: s0", "observed base\n(sigmoid)"),
                     ("ism_figure", (30, 70), "ism: s0", "Δ prediction (sigmoid)")]
    assert sorted(p.name for p in (tmp_path / "a_logos").iterdir()) == ["ism_0.png", "saliency_0.png"]
    assert main(base + ["--out", str(tmp_path / "b.h5"), "--logo-window", "90:120"]) == 2
    assert "--logo-window: logo window 90:120 is outside the sequence of length 100" in \
        capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(base + ["--out", str(tmp_path / "c.h5"), "--logo-window", "70:30"])
    assert "expected START:END with 0 <= START < END" in capsys.readouterr().err
    assert not (tmp_path / "b.h5").exists() and not (tmp_path / "c.h5").exists()
