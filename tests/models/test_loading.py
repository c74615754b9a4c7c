"""Every way a model comes in (models.loading) and the error a user gets for each wrong input."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

from seqlens.errors import ParameterError, SeqlensError
from seqlens.models import build_model, save_model
from seqlens.models.loading import load_any_model, open_model

torch.set_num_threads(1)

FACTORY = '''
import torch
from torch import nn


def make_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv1d({channels}, 3, 5, padding=2), nn.ReLU(), nn.AdaptiveMaxPool1d(1),
                         nn.Flatten(), nn.Linear(3, 2))


class ChannelsLastNet(nn.Module):
    """Reads (N, L, 4), as a model ported from Keras by hand does."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.conv = nn.Conv1d(4, 3, 5)
        self.head = nn.Linear(3, 1)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x.transpose(1, 2))).amax(-1))


def make_nlc():
    return ChannelsLastNet()


def not_a_model():
    return 42
'''


def write_factory(folder, name="net.py", channels=4):
    path = folder / name
    path.write_text(FACTORY.format(channels=channels))
    return path


def factory_module(path):
    """The factory file imported here, to build reference models."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"ref_{path.stem}_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def onehot(n=3, L=30, seed=0):
    rng = np.random.default_rng(seed)
    return torch.as_tensor(np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, L))].transpose(0, 2, 1))


def same(a: nn.Module, b: nn.Module, X) -> bool:
    with torch.no_grad():
        return torch.allclose(a(X), b(X), atol=1e-6)


# ------------------------------------------------------------------------------ loading paths
def test_factory_file_with_state_dict(tmp_path):
    path = write_factory(tmp_path)
    trained = factory_module(path).make_model(seed=7)  # other weights than make_model() builds
    torch.save(trained.state_dict(), tmp_path / "w.pt")
    loaded = open_model(f"{path}:make_model", weights=tmp_path / "w.pt")
    assert loaded.kind == "factory" and not loaded.model.training
    X = onehot()
    assert same(loaded.model, trained.eval(), X)
    assert not same(loaded.model, factory_module(path).make_model().eval(), X)


def test_factory_without_weights_uses_its_own(tmp_path):
    path = write_factory(tmp_path)
    model = load_any_model(f"{path}:make_model")
    assert same(model, factory_module(path).make_model().eval(), onehot())


def test_factory_module_path(tmp_path, monkeypatch):
    package = tmp_path / "seqlens_test_pkg_loading"
    package.mkdir()
    (package / "__init__.py").write_text("")
    write_factory(package, "nets.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    torch.save(factory_module(package / "nets.py").make_model(seed=3).state_dict(), tmp_path / "w.pt")
    loaded = open_model("seqlens_test_pkg_loading.nets:make_model", weights=tmp_path / "w.pt")
    assert same(loaded.model, factory_module(package / "nets.py").make_model(seed=3).eval(), onehot())
    monkeypatch.delitem(sys.modules, "seqlens_test_pkg_loading.nets", raising=False)


def test_torchscript(tmp_path):
    model = build_model("cnn_p4", seq_length=100, random_state=0).eval()
    torch.jit.save(torch.jit.trace(model, onehot(L=100)), tmp_path / "m.pt")
    loaded = open_model(tmp_path / "m.pt")
    assert loaded.kind == "torchscript"
    assert same(loaded.model, model, onehot(L=100))


def test_torch_export_with_a_fixed_batch_runs_any_batch(tmp_path):
    model = build_model("cnn_p4", seq_length=100, random_state=0).eval()
    program = torch.export.export(model, (onehot(n=3, L=100),))
    torch.export.save(program, tmp_path / "m.pt2")
    loaded = open_model(tmp_path / "m.pt2")
    assert loaded.kind == "export" and loaded.model.batch == 3
    loaded.model.eval()  # exported programs refuse eval(); the wrapper only sets the flag
    X = onehot(n=7, L=100, seed=2)
    assert same(loaded.model, model, X)
    X.requires_grad_(True)
    loaded.model(X).sum().backward()  # gradients flow through the padded chunks
    assert X.grad.abs().sum() > 0


def test_run_folder_and_the_folder_above_it(tmp_path):
    model = build_model("cnn_p4", seq_length=100, random_state=0)
    save_model(model, tmp_path / "runs" / "run1", metadata={"loss": "bce"})
    for spec in (tmp_path / "runs" / "run1", tmp_path / "runs"):
        loaded = open_model(spec)
        assert loaded.kind == "seqlens" and loaded.metadata["loss"] == "bce" and loaded.n_outputs == 1
        assert same(loaded.model, model.eval(), onehot(L=100))


def test_onnx_without_onnx2torch_names_the_extra(tmp_path, monkeypatch):
    (tmp_path / "m.onnx").write_bytes(b"\x08\x07")
    monkeypatch.setitem(sys.modules, "onnx2torch", None)  # import fails as when not installed
    with pytest.raises(SeqlensError, match=r"needs onnx2torch: pip install 'seqlens\[onnx\]'"):
        open_model(tmp_path / "m.onnx")


def test_onnx_goes_through_onnx2torch_convert(tmp_path, monkeypatch):
    """The ONNX path hands the file to ``onnx2torch.convert`` (a stand-in module here: onnx2torch
    pulls a CUDA torch build into the test environment) and checks the module it returns."""
    import types

    seen = []
    model = build_model("cnn_p4", seq_length=100, random_state=0).eval()
    fake = types.SimpleNamespace(convert=lambda path: seen.append(path) or model)
    monkeypatch.setitem(sys.modules, "onnx2torch", fake)
    (tmp_path / "m.onnx").write_bytes(b"\x08\x07")
    loaded = open_model(tmp_path / "m.onnx")
    assert seen == [str(tmp_path / "m.onnx")] and loaded.kind == "onnx" and loaded.model is model
    loaded.check_input((2, 4, 100), "d.h5")
    assert loaded.n_outputs == 1


def test_onnx_round_trip(tmp_path):
    pytest.importorskip("onnx2torch")
    pytest.importorskip("onnxscript")
    model = build_model("cnn_p4", seq_length=100, random_state=0).eval()
    torch.onnx.export(model, (onehot(L=100),), tmp_path / "m.onnx", dynamo=True)
    assert same(open_model(tmp_path / "m.onnx").model, model, onehot(n=3, L=100, seed=4))


# ------------------------------------------------------------------------------------ layout
def test_channels_last_model_is_wrapped(tmp_path):
    path = write_factory(tmp_path)
    net = factory_module(path).make_nlc().eval()
    loaded = open_model(f"{path}:make_nlc", layout="NLC")
    X = onehot()
    loaded.check_input(X.shape, "d.h5")
    with torch.no_grad():
        assert torch.allclose(loaded.model(X), net(X.transpose(1, 2)))
    assert loaded.layer_name("conv") == "module.conv"


def test_channels_last_model_without_layout_says_pass_nlc(tmp_path):
    path = write_factory(tmp_path)
    with pytest.raises(SeqlensError, match=r"expects \(N, L, 4\) input \(channels last\), not \(N, 4, L\): "
                                           r"pass --layout NLC"):
        open_model(f"{path}:make_nlc").check_input((2, 4, 30), "d.h5")


def test_channels_first_model_with_nlc_says_drop_it(tmp_path):
    path = write_factory(tmp_path)
    with pytest.raises(SeqlensError, match=r"expects \(N, 4, L\) input \(channels first\): drop "
                                           r"--layout NLC"):
        open_model(f"{path}:make_model", layout="NLC").check_input((2, 4, 30), "d.h5")


def test_auto_layout_settles_and_refuses_ambiguous_models(tmp_path):
    path = write_factory(tmp_path)
    loaded = open_model(f"{path}:make_nlc", layout="auto")
    loaded.check_input((2, 4, 30), "d.h5")
    assert loaded.layout == "NLC" and loaded.n_outputs == 1
    loaded = open_model(f"{path}:make_model", layout="auto")
    loaded.check_input((2, 4, 30), "d.h5")
    assert loaded.layout == "NCL" and loaded.n_outputs == 2

    class Total(nn.Module):  # runs on any shape: the order cannot be told from a probe
        def forward(self, x):
            return x.sum(dim=(1, 2)).unsqueeze(1)

    with pytest.raises(SeqlensError, match=r"runs on both \(N, 4, 30\) and \(N, 30, 4\).*--layout NCL or "
                                           r"--layout NLC"):
        open_model(Total(), layout="auto").check_input((2, 4, 30), "d.h5")
    with pytest.raises(ParameterError, match="needs an input shape"):
        load_any_model(Total(), layout="auto")


def test_wrong_alphabet_size(tmp_path):
    path = write_factory(tmp_path, channels=20)
    with pytest.raises(SeqlensError, match=r"d.h5: sequences have 4 letters per position, but the model in "
                                           r".*reads 20 \(its first Conv1d has 20 input channels\)"):
        open_model(f"{path}:make_model").check_input((2, 4, 30), "d.h5")


def test_zoo_length_checked_from_its_config(tmp_path):
    save_model(build_model("cnn_p4", seq_length=100, random_state=0), tmp_path / "run")
    with pytest.raises(SeqlensError, match="sequences have length 40, but the model in .* expects 100"):
        open_model(tmp_path / "run").check_input((2, 4, 40), "d.h5")


# ------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("spec, match", [
    ("{tmp}/nope.py:make_model", r"--model .*nope.py:make_model: no such file .*nope.py"),
    ("{tmp}/net.py:build", r"net.py defines no function 'build' \(it defines: ChannelsLastNet, make_model, "
                           r"make_nlc, not_a_model\)"),
    ("{tmp}/net.py:not_a_model", r"not_a_model\(\) returned a int, not a torch nn.Module"),
    ("{tmp}/net.py", r"name the function that builds the model: .*net.py:make_model"),
    ("no_such_module_xyz:make", r"cannot import module 'no_such_module_xyz'"),
    ("{tmp}/missing_run", r"no such model folder or file"),
    ("{tmp}/w.pt", r"a torch.save file \(weights without the architecture\); give the code that builds "
                   r"the model: --model file.py:make_model --weights .*w.pt"),
])
def test_bad_model_specs(tmp_path, spec, match):
    write_factory(tmp_path)
    torch.save({"a": torch.zeros(1)}, tmp_path / "w.pt")
    with pytest.raises(SeqlensError, match=match):
        open_model(spec.format(tmp=tmp_path))


def test_mismatched_state_dict_lists_keys_and_shapes(tmp_path):
    path = write_factory(tmp_path)
    state = factory_module(path).make_model().state_dict()
    state["0.weight"] = torch.zeros(8, 4, 5)
    state["extra.bias"] = torch.zeros(2)
    del state["4.bias"]
    torch.save(state, tmp_path / "w.pt")
    with pytest.raises(SeqlensError, match=r"w.pt does not fit the model of make_model\(\): missing keys "
                                           r"4.bias; unexpected keys extra.bias; shape mismatches 0.weight "
                                           r"\(8, 4, 5\) in the file, \(3, 4, 5\) in the model"):
        open_model(f"{path}:make_model", weights=tmp_path / "w.pt")


def test_weights_refused_for_formats_that_carry_them(tmp_path):
    model = build_model("cnn_p4", seq_length=100, random_state=0).eval()
    torch.jit.save(torch.jit.trace(model, onehot(L=100)), tmp_path / "m.pt")
    torch.save(model.state_dict(), tmp_path / "w.pt")
    with pytest.raises(ParameterError, match="only a factory .* or a Keras architecture takes a separate"):
        open_model(tmp_path / "m.pt", weights=tmp_path / "w.pt")


def test_unpicklable_weights_are_refused(tmp_path):
    path = write_factory(tmp_path)

    class Evil:
        def __reduce__(self):
            return (print, ("ran",))

    torch.save({"x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(SeqlensError, match="not a state dict torch.load\\(weights_only=True\\) can read"):
        open_model(f"{path}:make_model", weights=tmp_path / "evil.pt")


# --------------------------------------------------------------------------------------- CLI
@pytest.fixture
def data(tmp_path):
    from seqlens.io.hdf5 import Dataset, Split, save_dataset

    X = onehot(n=4, L=30).numpy()
    split = Split(X, np.zeros((4, 2), np.float32))
    return save_dataset(tmp_path / "d.h5", Dataset(split, split, split))


def one_line_error(run_cli, argv, folder):
    code, _, err, added = run_cli(argv, folder)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err, added


@pytest.mark.parametrize("command", ["attribute", "predict", "gia"])
@pytest.mark.parametrize("case, expected", [
    ("alphabet", "sequences have 4 letters per position, but the model in"),
    ("layout", "expects (N, L, 4) input (channels last), not (N, 4, L): pass --layout NLC"),
    ("no_file", "no such file"),
    ("no_function", "defines no function 'build'"),
    ("state_dict", "does not fit the model of make_model(): shape mismatches 0.weight"),
])
def test_cli_errors_are_one_line(tmp_path, run_cli, data, command, case, expected):
    write_factory(tmp_path)
    write_factory(tmp_path, "net20.py", channels=20)
    wrong = factory_module(tmp_path / "net20.py").make_model().state_dict()
    torch.save(wrong, tmp_path / "w20.pt")
    model = {"alphabet": ["--model", f"{tmp_path}/net20.py:make_model"],
             "layout": ["--model", f"{tmp_path}/net.py:make_nlc"],
             "no_file": ["--model", f"{tmp_path}/gone.py:make_model"],
             "no_function": ["--model", f"{tmp_path}/net.py:build"],
             "state_dict": ["--model", f"{tmp_path}/net.py:make_model", "--weights",
                            tmp_path / "w20.pt"]}[case]
    out = tmp_path / ("out.csv" if command == "predict" else "out.h5" if command == "attribute" else "gia")
    extra = ["--experiment", "importance", "--pattern", "GATA", "--n-null", "4"] if command == "gia" else []
    err, added = one_line_error(run_cli, [command, *model, "--data", data, "--out", out, *extra], tmp_path)
    assert expected in err
    assert not [p for p in added if p.name.startswith("out") or p.name == "gia"]


def test_cli_predict_with_a_factory_and_weights(tmp_path, run_cli, data):
    import pandas as pd

    path = write_factory(tmp_path)
    trained = factory_module(path).make_model(seed=5).eval()
    torch.save(trained.state_dict(), tmp_path / "w.pt")
    code, _, err, _ = run_cli(["predict", "--model", f"{path}:make_model", "--weights", tmp_path / "w.pt",
                               "--data", data, "--out", tmp_path / "p.csv"], tmp_path)
    assert code == 0, err
    table = pd.read_csv(tmp_path / "p.csv")
    with torch.no_grad():
        want = trained(onehot(n=4, L=30)).numpy()
    np.testing.assert_allclose(table[["task_0", "task_1"]].to_numpy(), want, atol=1e-5)


def test_cli_attribute_with_layout_nlc_is_the_gradient_of_the_channels_last_model(tmp_path, run_cli, data):
    import h5py

    path = write_factory(tmp_path)
    out = tmp_path / "a.h5"
    code, _, err, _ = run_cli(["attribute", "--model", f"{path}:make_nlc", "--layout", "NLC", "--data", data,
                               "--method", "saliency", "--out", out, "--quiet", "--device", "cpu"], tmp_path)
    assert code == 0, err
    net = factory_module(path).make_nlc().eval()
    X = onehot(n=4, L=30).transpose(1, 2).contiguous().requires_grad_(True)  # (N, L, 4)
    net(X)[:, 0].sum().backward()
    with h5py.File(out) as fh:
        np.testing.assert_allclose(fh["saliency"][()], X.grad.transpose(1, 2).numpy(), atol=1e-6)


def test_factory_code_runs_only_when_named(tmp_path):
    """A factory file is imported (its code runs) only when --model names it."""
    marker = tmp_path / "ran.txt"
    (tmp_path / "side.py").write_text(textwrap.dedent(f"""
        from pathlib import Path
        Path({str(marker)!r}).write_text("imported")
        from torch import nn

        def make():
            return nn.Conv1d(4, 1, 3)
        """))
    save_model(build_model("cnn_p4", seq_length=100, random_state=0), tmp_path / "run")
    open_model(tmp_path / "run")
    assert not marker.exists()
    open_model(f"{tmp_path / 'side.py'}:make")
    assert marker.read_text() == "imported"


def test_cli_filters_refuses_torchscript_in_one_line(tmp_path, run_cli, data):
    path = write_factory(tmp_path)
    module = factory_module(path).make_model().eval()
    torch.jit.save(torch.jit.trace(module, onehot(L=30)), tmp_path / "m.pt")
    err, _ = one_line_error(run_cli, ["filters", "--model", tmp_path / "m.pt", "--data", data,
                                      "--jaspar", "2020", "--out", tmp_path / "f"], tmp_path)
    assert "a torchscript model shows no nn.Conv1d layer to read filters from" in err


def test_cli_surrogate_and_gia_take_a_factory(tmp_path, run_cli, data):
    """surrogate and gia run on a factory's model with its weights (the surrogate fits its outputs
    on held-out variants)."""
    import json

    path = write_factory(tmp_path)
    trained = factory_module(path).make_model(seed=9).eval()
    torch.save(trained.state_dict(), tmp_path / "w.pt")
    model = ["--model", f"{path}:make_model", "--weights", tmp_path / "w.pt"]
    seq = "ACGT" * 10
    code, _, err, _ = run_cli(["surrogate", *model, "--sequence", seq, "--window", "10:30", "--n", "300",
                               "--rate", "0.1", "--out", tmp_path / "sur", "--quiet", "--no-plots",
                               "--device", "cpu"], tmp_path)
    assert code == 0, err
    metrics = json.loads((tmp_path / "sur" / "metrics.json").read_text())
    assert metrics["surrogate_pearson_r"] > 0.5
    code, _, err, _ = run_cli(["gia", *model, "--data", data, "--experiment", "importance", "--pattern",
                               "GATA", "--n-null", "8", "--null", "shuffle", "--out", tmp_path / "gia",
                               "--device", "cpu", "--quiet"], tmp_path)
    assert code == 0, err
    assert "importance_gata" in json.loads((tmp_path / "gia" / "metrics.json").read_text())
