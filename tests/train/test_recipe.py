"""A preset carries its paper's training recipe: `seqlens train` uses it, prints it, and lets
options override it."""

import json

from seqlens.models.zoo import DEFAULT_RECIPE, recipe


def test_recipes_of_presets_and_default():
    assert recipe("cnn-local") == ("Koo & Ploenzke 2021", dict(epochs=100, batch_size=100, lr=1e-3,
                                                                patience=20, monitor="auroc"))
    assert recipe("cnn_p25")[1]["batch_size"] == 128
    assert recipe("cnn")[0] == "default" and recipe("cnn")[1] == DEFAULT_RECIPE


def test_train_uses_the_preset_recipe_with_overrides(tmp_path, run_cli):
    from seqlens.io.hdf5 import save_dataset
    from seqlens.simulate import simulate_dataset

    data = tmp_path / "d.h5"
    save_dataset(data, simulate_dataset("regulatory_code", n=200, random_state=0))
    code, out, err, _ = run_cli(["train", "--data", data, "--model", "cnn_local", "--out", tmp_path / "run",
                                 "--epochs", "1", "--quiet"], tmp_path)
    assert code == 0, err
    assert ("training recipe (Koo & Ploenzke 2021 for cnn_local; overridden: epochs): epochs 1, "
            "batch_size 100, lr 0.001, patience 20, monitor auroc") in out
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["metadata"]["recipe"] == dict(epochs=1, batch_size=100, lr=1e-3, patience=20,
                                                monitor="auroc")
