"""The reference zoo shipped with seqlens: it loads, its data regenerate bit-identically, and its
stored metrics match a re-evaluation."""

import pytest

from seqlens.study.zoo import ENTRIES, SEEDS, available_seeds, check_entry, zoo_dir

BUILT = {key: available_seeds(key) for key in ENTRIES}


def test_every_entry_ships_its_seeds_within_the_size_budget():
    # every entry has at least its first seed; an entry's seeds are the first k of SEEDS
    assert all(seeds == list(SEEDS[: len(seeds)]) and seeds for seeds in BUILT.values()), BUILT
    total = sum(p.stat().st_size for p in zoo_dir().rglob("*") if p.is_file())
    assert total < 20e6


@pytest.mark.parametrize("key", list(ENTRIES))
def test_stored_test_metrics_match_a_reevaluation_on_regenerated_data(key):
    result = check_entry(key, BUILT[key][0], device="cpu")
    assert result["test_sha256_ok"], f"{key}: the regenerated test split differs from the build's"
    for metric in ("test_auroc", "test_aupr"):
        assert result["now"][metric] == pytest.approx(result["stored"][metric], abs=1e-4)


@pytest.mark.parametrize("key", ["multitask_cnn_p25_relu", "regcode_cnn_local_exponential",
                                 "interactions_cnn_attention_exponential"])
def test_stored_interpretation_metrics_match_a_rescore(key):
    result = check_entry(key, BUILT[key][0], device="cpu", rescore=True)
    for metric, value in result["stored"].items():
        assert result["now"][metric] == pytest.approx(value, abs=1e-3), metric


def test_metadata_records_how_each_model_was_built():
    from seqlens.models.checkpoint import read_checkpoint_info
    from seqlens.study.zoo import model_folder

    for key, seeds in BUILT.items():
        for seed in seeds:
            meta = read_checkpoint_info(model_folder(key, seed))["metadata"]
            assert meta["zoo_entry"] == key and meta["seed"] == seed and meta["data_seed"] == 0
            assert meta["recipe"] == ENTRIES[key].recipe
            assert meta["commit"] and meta["command"] and meta["epochs_run"] >= 1
            assert 0.5 < meta["metrics"]["test_auroc"] <= 1.0


def test_cli_list_path_and_unbuilt_seed(tmp_path, run_cli):
    code, out, err, _ = run_cli(["zoo", "list"], tmp_path)
    assert code == 0 and "not built" not in out
    lines = [line for line in out.splitlines() if line.startswith("regcode_cnn_local_exponential")]
    assert len(lines) == len(BUILT["regcode_cnn_local_exponential"])
    code, out, err, _ = run_cli(["zoo", "path", "regcode_cnn_local_relu", "--seed", "0"], tmp_path)
    assert code == 0 and out.strip().endswith("regcode_cnn_local_relu/seed0")
    code, out, err, _ = run_cli(["zoo", "path", "regcode_cnn_local_relu", "--seed", "9"], tmp_path)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "seed 9 is not built" in err
