"""Surrogate pipeline, attribution maps, plots and the ``seqlens surrogate`` command."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from seqlens.interpret.surrogate import Surrogate, surrogate_analysis, surrogate_attributions


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    from threadpoolctl import threadpool_limits

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(n)


class MotifOracle(nn.Module):
    """Sigmoid of a motif match score at fixed positions: a known, sparse, nonlinear model."""

    def __init__(self, pwm: torch.Tensor, positions):
        super().__init__()
        self.register_buffer("pwm", pwm)  # (A, K)
        self.positions = list(positions)

    def forward(self, x):
        K = self.pwm.shape[1]
        s = sum((x[:, :, p:p + K] * self.pwm).sum((1, 2)) for p in self.positions)
        return torch.sigmoid(s - 3.0)[:, None].repeat(1, 2)


def _oracle_and_seq(L=40, seed=0):
    rng = np.random.default_rng(seed)
    pwm = torch.tensor(rng.normal(size=(4, 6)) * 1.5, dtype=torch.float32)
    return MotifOracle(pwm, [10, 25]), "".join(rng.choice(list("ACGT"), L))


@pytest.mark.filterwarnings("ignore:surrogate did not converge")
def test_surrogate_analysis_on_motif_oracle():
    model, seq = _oracle_and_seq()
    res = surrogate_analysis(model, seq, window=(5, 35), n=3000, rate=0.1, target=1, device="cpu",
                             random_state=0)
    m = res.metrics
    assert res.library.window == (5, 35) and len(res.y) == 3000 and m["n_test"] == 300
    assert m["surrogate_pearson_r"] > 0.95
    assert m["surrogate_pearson_r"] >= m["ridge_pearson_r"] - 0.01
    assert {"ridge_r2", "surrogate_predictive_information_bits", "seconds_query"} <= set(m)
    # the motif positions (10..15, 25..30) carry the large parameters; others are ~0
    scores = res.surrogate.position_scores()
    motif = np.r_[5:11, 20:26]  # window coordinates
    rest = np.setdiff1d(np.arange(30), motif)
    assert set(np.argsort(scores)[-10:]) <= set(motif)
    assert scores[rest].max() < 0.05 * scores[motif].max()
    # parameters follow the PWM (compressed where the sigmoid saturates, so not exactly)
    pwm = model.pwm.numpy().T
    th = res.surrogate.theta_lc_[motif]
    truth = np.concatenate([pwm, pwm])
    assert np.corrcoef((th - th.mean(1, keepdims=True)).ravel(),
                       (truth - truth.mean(1, keepdims=True)).ravel())[0, 1] > 0.9
    fx = res.variant_effects
    assert len(fx) == 90 and fx["position"].min() == 5 and fx["position"].max() == 34


@pytest.mark.filterwarnings("ignore:surrogate did not converge")
def test_surrogate_attributions_map():
    from seqlens.alphabet import one_hot

    model, seq = _oracle_and_seq(seed=1)
    _, seq2 = _oracle_and_seq(seed=2)
    X = one_hot([seq, seq2])
    attr = surrogate_attributions(model, X, n=1500, rate=0.1, target=0, device="cpu", max_epochs=40)
    assert attr.shape == (2, 4, 40)
    pos = np.sqrt((attr ** 2).sum(1))
    for i in range(2):
        top = set(np.argsort(pos[i])[-12:])
        assert top == set(range(10, 16)) | set(range(25, 31))


@pytest.mark.filterwarnings("ignore:surrogate did not converge")
def test_plots(tmp_path):
    from seqlens.plot.curves import save_figure
    from seqlens.plot.surrogate import (
        plot_additive_logo,
        plot_g_curve,
        plot_pairwise_heatmap,
        surrogate_figure,
    )

    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, size=(800, 6))
    y = np.tanh(codes[:, 0] - codes[:, 3] + (codes[:, 1] == codes[:, 2])) + 0.05 * rng.normal(size=800)
    sur = Surrogate(kind="pairwise", max_epochs=5, random_state=0).fit(codes, y)
    for name, fig in {"logo": plot_additive_logo(sur, start=100), "g": plot_g_curve(sur, codes, y),
                      "pair": plot_pairwise_heatmap(sur), "all": surrogate_figure(sur, codes, y)}.items():
        path = save_figure(fig, tmp_path / f"{name}.png")
        assert path.stat().st_size > 1000


@pytest.mark.filterwarnings("ignore:surrogate did not converge")
def test_cli_surrogate(tmp_path, capsys):
    from seqlens.cli import main
    from seqlens.models import build_model, save_model

    torch.manual_seed(0)
    model = build_model("cnn_local", n_outputs=2, seq_length=200)
    save_model(model, tmp_path / "run")
    seq = "".join(np.random.default_rng(3).choice(list("ACGT"), 200))
    fasta = tmp_path / "wt.fa"
    fasta.write_text(f">other\n{'A' * 200}\n>wt\n{seq}\n")
    out = tmp_path / "out"
    rc = main(["surrogate", "--model", str(tmp_path / "run"), "--fasta", str(fasta), "--record", "wt",
               "--window", "20:32", "--n", "800", "--kind", "pairwise", "--target", "1", "--quiet",
               "--out", str(out)])
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["sequence"] == "wt" and metrics["window_start"] == 20 and metrics["n_variants"] == 800
    assert {"surrogate_pearson_r", "ridge_pearson_r", "seconds"} <= set(metrics)
    for f in ("additive.csv", "variant_effects.csv", "pairwise_norms.csv", "surrogate.npz", "logo.png",
              "g_curve.png", "pairwise.png"):
        assert (out / f).exists(), f
    npz = np.load(out / "surrogate.npz")
    assert npz["theta_lc"].shape == (12, 4) and npz["theta_lclc"].shape == (12, 12, 4, 4)
    assert "surrogate_pearson_r" in capsys.readouterr().out
    rc = main(["surrogate", "--model", str(tmp_path / "run"), "--sequence", seq, "--window", "190:210",
               "--n", "100", "--out", str(tmp_path / "bad")])
    assert rc == 2 and "outside" in capsys.readouterr().err
