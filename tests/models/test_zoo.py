import json

import numpy as np
import pytest
import torch

from seqlens.models import (
    ACTIVATIONS,
    CNNAttention,
    Exponential,
    build_model,
    first_layer,
    get_activation,
    list_models,
    model_config,
)

torch.set_num_threads(1)


# profile models return two heads; tests/models/test_bpnet.py checks them
@pytest.mark.parametrize("name", [n for n in list_models() if model_config(n)["name"] != "bpnet"])
def test_every_model_builds_runs_and_backprops(name):
    # small lengths keep basset/deepstarr cheap; keep the preset's own length when it needs it
    cfg = model_config(name)
    length = build_model(cfg).config["seq_length"]
    model = build_model(json.loads(json.dumps(cfg)), n_outputs=3, random_state=0)
    X = torch.rand(2, 4, length)
    y = model(X)
    assert y.shape == (2, 3)
    y.sum().backward()
    assert model.conv1.weight.grad is not None and model.conv1.weight.grad.abs().sum() > 0
    conv, act = first_layer(model)
    assert conv is model.conv1 and act is model.activation1
    a = model.first_layer_activations(X, pooled=True)
    assert a.shape[:2] == (2, conv.out_channels)
    # config round trip is JSON-able and rebuilds the same architecture
    again = build_model(json.loads(json.dumps(model.config)))
    assert [p.shape for p in again.parameters()] == [p.shape for p in model.parameters()]


def test_presets_have_published_sizes():
    m = build_model("cnn_local", seq_length=200)
    assert m.conv1.out_channels == 24 and m.conv1.kernel_size == (19,)
    assert m.pool1.kernel_size == 50 and m.dense[0].out_features == 96
    for p in (1, 2, 4, 10, 25, 50, 100):
        m = build_model(f"cnn-p{p}")
        assert m.conv1.out_channels == 30
        assert m.blocks[0][0].out_channels == 128
        # total pooling 100 on 200 nt leaves 2 positions of 128 channels
        assert m.dense[0].in_features == 256
    assert build_model("cnn_50").pool1.kernel_size == 50
    assert build_model("cnn_2").blocks[0][0].out_channels == 124
    d = build_model("deepstarr")
    assert d.conv1.out_channels == 246 and d.output.out_features == 2
    assert build_model("basset").output.out_features == 164
    r = build_model("residualbind_rna41")
    assert r.conv1.out_channels == 96 and r.conv1.kernel_size == (11,)
    dil = [m.dilation[0] for m in r.residual.block if isinstance(m, torch.nn.Conv1d)]
    assert dil == [1, 2, 4, 8]


def test_koo_ploenzke_presets_follow_the_keras_models():
    # cnn-dist: 200 -> conv 'same' -> conv 'same', pool 4 (50) -> 'valid' k7 (44), pool 4 (11)
    # -> 'valid' k3 (9), pool 3 -> 3 positions x 64 channels
    d = build_model("cnn_dist", seq_length=200, random_state=0)
    assert d.dense[0].in_features == 3 * 64
    # dropout sits between activation and pool in every block
    kinds = [type(m).__name__ for m in d.blocks[0]]
    assert kinds == ["Conv1d", "BatchNorm1d", "ReLU", "Dropout", "MaxPool1d"]
    # he_normal: weight sd sqrt(2 / fan_in) (truncated at 2 sd of the underlying normal)
    w = build_model("cnn_dist", random_state=0, filters=2000).conv1.weight.detach()
    assert abs(float(w.std()) - (2 / (4 * 19)) ** 0.5) < 0.005
    assert float(w.abs().max()) <= 2 * (2 / (4 * 19)) ** 0.5 / 0.8796 + 1e-6
    # the dropout position does not change the function at inference
    a = build_model("cnn_local", random_state=1)
    b = build_model({**a.config, "dropout_before_pool": False})
    b.load_state_dict(a.state_dict())
    X = torch.rand(3, 4, 200)
    a.eval(), b.eval()
    assert torch.allclose(a(X), b(X))
    with pytest.raises(ValueError, match="init must be"):
        build_model("cnn_local", init="glorot")


def test_build_by_name_overrides_and_errors():
    m = build_model("cnn-local", activation="exponential", n_outputs=12)
    assert isinstance(m.activation1, Exponential) and m.output.out_features == 12
    assert m.config["name"] == "cnn" and m.config["activation"] == "exponential"
    with pytest.raises(ValueError, match="unknown model"):
        build_model("no_such_model")
    with pytest.raises(ValueError, match="bad config"):
        build_model({"name": "cnn", "filterz": 3})
    with pytest.raises(ValueError, match="unknown activation"):
        build_model("cnn", activation="nope")


def test_random_state_gives_same_init():
    a = build_model("cnn_dist", random_state=3)
    b = build_model("cnn_dist", random_state=3)
    c = build_model("cnn_dist", random_state=4)
    assert torch.equal(a.conv1.weight, b.conv1.weight)
    assert not torch.equal(a.conv1.weight, c.conv1.weight)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_finite_in_float32(name):
    act = get_activation(name)
    x = torch.tensor([-1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 100.0, 1e4], requires_grad=True)
    y = act(x)
    assert torch.isfinite(y).all(), name
    y.sum().backward()
    assert torch.isfinite(x.grad).all(), name


def test_exponential_values_and_clamp():
    act = Exponential()
    x = torch.tensor([0.0, 1.0, 100.0])
    np.testing.assert_allclose(act(x)[:2].numpy(), [1.0, np.e], rtol=1e-6)
    assert act(x)[2] == pytest.approx(np.exp(40.0), rel=1e-5)
    # modified activations from the exponential-activation paper
    np.testing.assert_allclose(get_activation("shift_scale_sigmoid")(torch.tensor([8.0])), [2000.0])
    np.testing.assert_allclose(get_activation("scale_tanh")(torch.tensor([0.0])), [500.0])
    np.testing.assert_allclose(get_activation("shift_relu")(torch.tensor([1.2])), [1.0], rtol=1e-6)
    assert get_activation("exp_relu")(torch.tensor([-5.0])) == 0


def test_attention_maps_shape_and_rows_sum_to_one():
    m = build_model("cnn_transformer", seq_length=40, pool=4, filters=16, heads=8, dense=8)
    m.eval()
    X = torch.rand(3, 4, 40)
    maps = m.attention_maps(X)
    assert isinstance(m, CNNAttention)
    assert maps.shape == (3, 8, 10, 10)
    np.testing.assert_allclose(maps.sum(-1).detach().numpy(), 1.0, rtol=1e-5)
    assert len(m.attention_maps(X, all_layers=True)) == 3
    assert m.first_layer_activations(X, pooled=True).shape == (3, 16, 10)


def test_first_layer_of_user_module():
    user = torch.nn.Sequential(torch.nn.Conv1d(4, 5, 3), torch.nn.ReLU(), torch.nn.Flatten())
    conv, act = first_layer(user)
    assert conv is user[0] and act is None
    with pytest.raises(ValueError, match="no nn.Conv1d"):
        first_layer(torch.nn.Linear(3, 3))


def test_too_short_input_is_a_clear_error():
    with pytest.raises(ValueError, match="too short"):
        build_model("cnn_local", seq_length=60)


def test_first_layer_activations_function():
    from seqlens.models import first_layer_activations

    m = build_model("cnn_local", random_state=0)
    X = torch.rand(5, 4, 200)
    m.train()
    a = first_layer_activations(m, X, pooled=True, batch_size=2)
    assert a.shape == (5, 24, 4) and m.training
    m.eval()
    assert torch.allclose(a, m.first_layer_activations(X, pooled=True))
    user = torch.nn.Sequential(torch.nn.Conv1d(4, 5, 3), torch.nn.ReLU(), torch.nn.Flatten())
    b = first_layer_activations(user, X)
    assert torch.allclose(b, user[0](X).detach())
