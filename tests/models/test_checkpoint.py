import json
import pathlib
import shutil

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqlens.io.atomic import write_manifest
from seqlens.io.checkpoint import _digest
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


def _rehash(folder):
    """Recompute the integrity hash as an attacker would, so the checks behind it are tested."""
    cfg_path = folder / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.pop("sha256")
    cfg["sha256"] = _digest(cfg, (folder / "weights.pt").read_bytes())
    cfg_path.write_text(json.dumps(cfg))
    write_manifest(folder)


def test_pickle_payload_never_runs(tmp_path):
    save_model(_trained_like(), tmp_path / "ck")
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (pathlib.Path.touch, (marker,))

    torch.save({"x": Evil()}, tmp_path / "ck" / "weights.pt")
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_model(tmp_path / "ck")
    _rehash(tmp_path / "ck")
    with pytest.raises(CheckpointError, match="cannot read weights safely"):
        load_model(tmp_path / "ck")
    assert not marker.exists()


@pytest.mark.parametrize("edit", [
    lambda c: c["model"].update(activation="relu"),
    lambda c: c["metadata"].update(loss="mse"),
    lambda c: c["model"].update(filters=25),
])
def test_edited_config_refused(tmp_path, edit):
    save_model(_trained_like(activation="exponential"), tmp_path / "ck", metadata={"loss": "bce"})
    cfg_path = tmp_path / "ck" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    edit(cfg)
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_model(tmp_path / "ck")


def test_config_bytes_flipped_refused(tmp_path):
    save_model(_trained_like(), tmp_path / "ck")
    cfg_path = tmp_path / "ck" / "config.json"
    text = cfg_path.read_text()
    cfg_path.write_text(text.replace('"exponential"', '"exponentiaL"').replace('"relu"', '"reLu"'))
    with pytest.raises(CheckpointError):
        load_model(tmp_path / "ck")


def test_files_of_two_saves_refused(tmp_path):
    save_model(_trained_like(), tmp_path / "a")
    save_model(build_model("cnn_local", random_state=5), tmp_path / "b")
    shutil.copy(tmp_path / "b" / "weights.pt", tmp_path / "a" / "weights.pt")
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_model(tmp_path / "a")


def test_rehashed_bad_configs_refused_cleanly(tmp_path):
    save_model(_trained_like(), tmp_path / "ck")
    cfg_path = tmp_path / "ck" / "config.json"
    original = json.loads(cfg_path.read_text())
    for edit, message in [
        (lambda c: c["model"].update(filters=-5), "cannot rebuild|do not match"),
        (lambda c: c.update(extra=1), "unknown keys"),
        (lambda c: c.update(model=[1, 2]), "must be a JSON object"),
        (lambda c: c["model"].update(name="no_such_model"), "cannot rebuild"),
    ]:
        cfg = json.loads(json.dumps(original))
        edit(cfg)
        cfg_path.write_text(json.dumps(cfg))
        _rehash(tmp_path / "ck")
        with pytest.raises(CheckpointError, match=message):
            load_model(tmp_path / "ck")


def test_same_model_gives_byte_identical_files(tmp_path):
    save_model(build_model("cnn_local", random_state=3), tmp_path / "a", metadata={"x": 1})
    save_model(build_model("cnn_local", random_state=3), tmp_path / "other_name")
    assert (tmp_path / "a" / "weights.pt").read_bytes() == \
        (tmp_path / "other_name" / "weights.pt").read_bytes()


def test_wrong_kind_refused(tmp_path):
    from seqlens.msa import PSSM, Alignment
    from seqlens.msa.persist import load_msa_model, save_msa_model

    aln = Alignment.from_rows(["ACDE", "ACDF", "ACEE"], names=["a", "b", "c"])
    save_msa_model(PSSM().fit(aln), tmp_path / "msa")
    save_model(_trained_like(), tmp_path / "ck")
    with pytest.raises(CheckpointError, match="not a seqlens-model checkpoint"):
        load_model(tmp_path / "msa")
    with pytest.raises(CheckpointError, match="not a seqlens-msa-model checkpoint"):
        load_msa_model(tmp_path / "ck")


def test_corrupt_or_missing_refused(tmp_path):
    with pytest.raises(CheckpointError, match="none: no such checkpoint folder"):
        load_model(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match=r"empty: not a checkpoint folder \(no config.json\)"):
        load_model(tmp_path / "empty")
    save_model(_trained_like(), tmp_path / "ck")
    with pytest.raises(CheckpointError, match="weights.pt: a file; expected a checkpoint folder"):
        load_model(tmp_path / "ck" / "weights.pt")
    (tmp_path / "ck" / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt checkpoint config"):
        load_model(tmp_path / "ck")
    (tmp_path / "ck" / "config.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(CheckpointError, match="not a seqlens-model checkpoint"):
        load_model(tmp_path / "ck")


def test_incomplete_save_refused(tmp_path):
    save_model(_trained_like(), tmp_path / "ck")
    (tmp_path / "ck" / "manifest.json").unlink()
    with pytest.raises(CheckpointError, match="no manifest.json"):
        load_model(tmp_path / "ck")


def test_user_module_needs_instance(tmp_path):
    user = torch.nn.Sequential(torch.nn.Conv1d(4, 2, 3), torch.nn.Flatten(), torch.nn.Linear(36, 1))
    save_model(user, tmp_path / "u")
    with pytest.raises(CheckpointError, match="pass model="):
        load_model(tmp_path / "u")
    fresh = torch.nn.Sequential(torch.nn.Conv1d(4, 2, 3), torch.nn.Flatten(), torch.nn.Linear(36, 1))
    X = torch.rand(2, 4, 20)
    assert torch.equal(load_model(tmp_path / "u", model=fresh)(X), user(X))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.sampled_from(["weights.pt", "config.json"]), data=st.data())
def test_any_damage_is_refused_cleanly(tmp_path, target, data):
    folder = tmp_path / "ck"
    if not folder.exists():
        save_model(build_model("cnn_local", filters=4, random_state=0), folder)
        (tmp_path / "pristine").mkdir()
        for name in ("weights.pt", "config.json", "manifest.json"):
            shutil.copy(folder / name, tmp_path / "pristine" / name)
    for name in ("weights.pt", "config.json", "manifest.json"):
        shutil.copy(tmp_path / "pristine" / name, folder / name)
    raw = bytearray((folder / target).read_bytes())
    kind = data.draw(st.sampled_from(["flip", "truncate", "insert"]))
    at = data.draw(st.integers(0, len(raw) - 1))
    if kind == "flip":
        raw[at] ^= data.draw(st.integers(1, 255))
    elif kind == "truncate":
        del raw[at:]
    else:
        raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    (folder / target).write_bytes(bytes(raw))
    with pytest.raises(CheckpointError):
        load_model(folder)
    if target == "weights.pt":
        # past the hash (recomputed, as someone could): damaged weights either still load as a
        # state dict of the right shapes or are refused cleanly, never another exception
        _rehash(folder)
        try:
            load_model(folder)
        except CheckpointError as exc:
            assert "weights.pt" in str(exc)
