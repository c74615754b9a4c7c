"""BPNet-style profile model: shapes, checkpoint round trip, the profile loss against its formula,
profile metrics on known cases, DeepSHAP on the counts head, and training with loss="profile"."""

import math
import warnings

import numpy as np
import pytest
import torch
from scipy import stats

from seqlens.attribution import deep_lift_shap
from seqlens.io.hdf5 import Split
from seqlens.models import build_model, load_model, save_model
from seqlens.models.bpnet import OutputHead
from seqlens.train import evaluate, fit
from seqlens.train.profile import (
    ProfileLoss,
    default_counts_weight,
    multinomial_nll,
    profile_metrics,
)

torch.set_num_threads(1)


def _tiny(**kw):
    cfg = dict(seq_length=60, output_length=40, n_outputs=2, filters=8, n_layers=3, kernel_size=7,
               profile_kernel=9)
    return build_model("bpnet", random_state=0, **{**cfg, **kw})


def test_shapes_heads_and_receptive_window():
    model = _tiny().eval()
    out = model(torch.rand(3, 4, 60))
    assert out.profile.shape == (3, 2, 40) and out.counts.shape == (3, 2)
    assert model.heads == ("profile", "counts")
    assert torch.equal(OutputHead(model, "counts")(torch.ones(1, 4, 60)), model(torch.ones(1, 4, 60))[1])
    # a longer input is read through its central window: the output keeps length L_out
    assert model(torch.rand(2, 4, 80)).profile.shape == (2, 2, 40)
    with pytest.raises(ValueError, match="output_length"):
        build_model("bpnet", seq_length=50, output_length=60)
    with pytest.raises(ValueError, match="not one of the model's heads"):
        OutputHead(model, "shape")
    paper = build_model("bpnet")
    assert paper.config["output_length"] == 1000
    # the paper's receptive field: +-1,034 bp (first conv 25, dilations 2..512 of kernel-3 convs)
    reach = (paper.conv1.kernel_size[0] - 1) + sum(2 * c.dilation[0] for c in paper.dilated)
    assert reach // 2 == 1034


def test_checkpoint_round_trip(tmp_path):
    model = _tiny()
    save_model(model, tmp_path / "run")
    again = load_model(tmp_path / "run")
    X = torch.rand(2, 4, 60)
    a, b = model.eval()(X), again(X)
    assert torch.equal(a.profile, b.profile) and torch.equal(a.counts, b.counts)
    assert again.config == model.config


def test_multinomial_nll_equals_the_multinomial_log_pmf():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 5, generator=g, dtype=torch.float64)
    counts = torch.randint(0, 6, (2, 3, 5), generator=g).double()
    nll = multinomial_nll(logits, counts)
    p = torch.softmax(logits, -1).numpy()
    for i in range(2):
        for s in range(3):
            c = counts[i, s].numpy()
            want = -stats.multinomial.logpmf(c, int(c.sum()), p[i, s])
            assert nll[i, s].item() == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_profile_loss_is_nll_plus_weighted_mse():
    logits = torch.zeros(1, 1, 4, dtype=torch.float64)  # uniform over 4 positions
    counts = torch.tensor([[[2.0, 0.0, 1.0, 1.0]]], dtype=torch.float64)  # total 4
    log_counts = torch.tensor([[math.log1p(4) + 0.5]], dtype=torch.float64)  # off by 0.5
    nll = -(math.log(math.factorial(4) / (2 * 1 * 1)) + 4 * math.log(0.25))
    loss = ProfileLoss(counts_weight=3.0)((logits, log_counts), counts)
    assert loss.item() == pytest.approx(nll + 3.0 * 0.25, rel=1e-12)
    totals_4_and_6 = torch.tensor([[[2.0, 2.0], [6.0, 0.0]]])
    assert default_counts_weight(totals_4_and_6) == pytest.approx(2.5)
    with pytest.raises(ValueError, match="differ in shape"):
        ProfileLoss()((logits, log_counts), counts[..., :3])
    with pytest.raises(ValueError, match="profile_logits, log_counts"):
        ProfileLoss()(logits, counts)


def test_profile_metrics_known_cases():
    counts = np.array([[[0.0, 3.0, 1.0, 0.0]], [[5.0, 0.0, 0.0, 0.0]], [[0.0, 0.0, 1.0, 2.0]]])
    exact = np.log(np.where(counts > 0, counts, 1e-12))  # softmax gives the observed shape
    log_counts = np.log1p(counts.sum(-1))
    m = profile_metrics(exact, log_counts, counts, prefix="t_")
    assert m["t_profile_pearson"] == pytest.approx(1.0, abs=1e-9)
    assert m["t_profile_jsd"] == pytest.approx(0.0, abs=1e-5)
    assert m["t_counts_pearson"] == pytest.approx(1.0) and m["t_counts_mse"] == pytest.approx(0.0)
    # disjoint supports: Jensen-Shannon distance 1 (base 2)
    one = np.array([[[1.0, 0.0]]])
    m = profile_metrics(np.log(np.array([[[1e-30, 1.0]]])), np.zeros((1, 1)), one)
    assert m["profile_jsd"] == pytest.approx(1.0, abs=1e-6)
    # tracks without counts are left out of the profile means
    m = profile_metrics(np.zeros((2, 1, 2)), np.zeros((2, 1)), np.array([[[0.0, 0.0]], [[1.0, 1.0]]]))
    assert m["profile_jsd"] == pytest.approx(0.0, abs=1e-6)


def test_deepshap_on_the_counts_head_sums_to_delta():
    model = _tiny().eval()
    g = torch.Generator().manual_seed(3)
    X = torch.nn.functional.one_hot(torch.randint(0, 4, (3, 60), generator=g), 4).permute(0, 2, 1).float()
    counts_head = OutputHead(model, "counts")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        attr, d = deep_lift_shap(counts_head, X, target=1, n_shuffles=4, random_state=0,
                                 return_delta=True, device="cpu")
    assert attr.shape == X.shape
    assert float(d.abs().max()) < 1e-4


def _toy_profile_data(n, seed):
    """Sequences whose counts pile up 5 bp left of a planted GATA on track 0, 5 bp right on track 1."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 4, 60), np.float32)
    X[np.arange(n)[:, None], rng.integers(0, 4, (n, 60)), np.arange(60)] = 1
    counts = rng.poisson(0.05, (n, 2, 40)).astype(np.float32)
    for i in range(n):
        at = int(rng.integers(20, 36))
        X[i, :, at:at + 4] = 0
        X[i, [2, 0, 3, 0], np.arange(at, at + 4)] = 1  # GATA
        counts[i, 0, at - 10 - 5] += 20
        counts[i, 1, at - 10 + 8] += 20
    return X, counts


def test_fit_with_the_profile_loss_learns_and_reports_profile_metrics():
    X, counts = _toy_profile_data(160, 0)
    Xv, cv = _toy_profile_data(40, 1)
    train = Split(X, np.log1p(counts.sum(-1)), profile=counts)
    model = _tiny()
    before = evaluate(model, (Xv, cv), loss="profile", prefix="valid_", device="cpu")
    res = fit(model, train, (Xv, cv), loss="profile", epochs=8, batch_size=32, lr=5e-3, device="cpu")
    assert res.monitor == "valid_loss"
    after = evaluate(model, (Xv, cv), loss="profile", prefix="valid_", device="cpu")
    assert set(after) >= {"valid_loss", "valid_profile_pearson", "valid_profile_jsd", "valid_counts_pearson"}
    assert after["valid_loss"] < before["valid_loss"]
    assert after["valid_profile_pearson"] > before["valid_profile_pearson"] + 0.2
    assert after["valid_profile_jsd"] < before["valid_profile_jsd"]
    with pytest.raises(ValueError, match="not available with loss 'profile'"):
        fit(model, train, loss="profile", epochs=1, rc=True)
    with pytest.raises(ValueError, match="needs profile counts"):
        fit(model, Split(X, train.Y), loss="profile", epochs=1)
