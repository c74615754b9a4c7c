import json

import pytest
import torch

from seqlens.models import CheckpointError, build_model, load_model, read_checkpoint_info, save_model

torch.set_num_threads(1)


def _trained_like(name="cnn_local", **kw):
    m = build_model(name, random_state=0, **kw)
    with torch.no_grad():  # move BN statistics away from defaults so they are checked too
        m.bn1.running_mean.add_(0.3)
    return m.eval()


def test_round_trip_identical_predictions(tmp_path):
    m = _trained_like(activation="exponential", n_outputs=3)
    save_model(m, tmp_path / "ck", metadata={"loss": "bce", "test_auroc": 0.9})
    X = torch.rand(5, 4, 200)
    loaded = load_model(tmp_path / "ck")
    assert torch.equal(m(X), loaded(X))
    info = read_checkpoint_info(tmp_path / "ck")
    assert info["metadata"]["test_auroc"] == 0.9 and info["model"]["activation"] == "exponential"


def test_attention_round_trip(tmp_path):
    m = build_model("cnn_attention", seq_length=40, filters=16, dense=8, random_state=1).eval()
    save_model(m, tmp_path / "att")
    X = torch.rand(2, 4, 40)
    assert torch.equal(m(X), load_model(tmp_path / "att")(X))


def test_tampered_weights_refused(tmp_path):
    save_model(_trained_like(), tmp_path / "ck")
    w = tmp_path / "ck" / "weights.pt"
    data = bytearray(w.read_bytes())
    data[len(data) // 2] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_model(tmp_path / "ck")


def test_pickle_payload_refused_even_without_digest_check(tmp_path):
    save_model(_trained_like(), tmp_path / "ck")

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"x": Evil()}, tmp_path / "ck" / "weights.pt")
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_model(tmp_path / "ck")
    with pytest.raises(CheckpointError, match="cannot read weights safely"):
        load_model(tmp_path / "ck", verify=False)


def test_mismatched_config_refused(tmp_path):
    save_model(_trained_like(), tmp_path / "ck")
    cfg_path = tmp_path / "ck" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["model"]["filters"] = 25
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="do not match"):
        load_model(tmp_path / "ck")


def test_corrupt_or_missing_refused(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint config"):
        load_model(tmp_path / "none")
    save_model(_trained_like(), tmp_path / "ck")
    (tmp_path / "ck" / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt checkpoint config"):
        load_model(tmp_path / "ck")
    (tmp_path / "ck" / "config.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(CheckpointError, match="not a seqlens model"):
        load_model(tmp_path / "ck")


def test_user_module_needs_instance(tmp_path):
    user = torch.nn.Sequential(torch.nn.Conv1d(4, 2, 3), torch.nn.Flatten(), torch.nn.Linear(36, 1))
    save_model(user, tmp_path / "u")
    with pytest.raises(CheckpointError, match="pass model="):
        load_model(tmp_path / "u")
    fresh = torch.nn.Sequential(torch.nn.Conv1d(4, 2, 3), torch.nn.Flatten(), torch.nn.Linear(36, 1))
    X = torch.rand(2, 4, 20)
    assert torch.equal(load_model(tmp_path / "u", model=fresh)(X), user(X))
