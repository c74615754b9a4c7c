"""Start-up stays light: ``import seqlens`` and building the CLI's parser (what ``seqlens --help``
does) load no heavy library, not even numpy; each command imports what it needs when it runs."""

import json
import subprocess
import sys

HEAVY = ["numpy", "torch", "pandas", "scipy", "matplotlib", "pyjaspar", "numba", "sklearn", "h5py"]


def _loaded_after(code: str) -> list[str]:
    """The HEAVY modules present in ``sys.modules`` of a fresh interpreter after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_seqlens_loads_no_heavy_module():
    assert _loaded_after("import seqlens") == []


def test_cli_parser_loads_no_heavy_module():
    assert _loaded_after("import seqlens.cli\nseqlens.cli.build_parser()") == []


def test_cli_help_runs_without_heavy_modules():
    # --help exits through argparse; the probe then reports what the whole parse loaded
    code = ("import seqlens.cli\ntry:\n    seqlens.cli.main(['--help'])\nexcept SystemExit as e:\n"
            "    assert e.code == 0")
    assert _loaded_after(code) == []


def test_zoo_entry_choices_still_checked():
    # the zoo command reads its entry names lazily; a wrong name is still refused in one line
    done = subprocess.run([sys.executable, "-c", "import sys, seqlens.cli\n"
                           "sys.exit(seqlens.cli.main(['zoo', 'path', 'no_such_entry']))"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "invalid choice: 'no_such_entry'" in done.stderr
    assert "regcode_cnn_local_relu" in done.stderr


def test_motif_still_exported_lazily():
    probe = ("import seqlens\nfrom seqlens.motifs.motif import Motif\nimport json\n"
             "print(json.dumps(seqlens.Motif is Motif and 'Motif' in seqlens.__all__))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert json.loads(done.stdout.strip()) is True


def test_training_imports_neither_sklearn_nor_scipy_stats():
    # seqlens train's one-time start-up cost was mostly imports; metrics are computed in NumPy
    loaded = _loaded_after("import seqlens.train, seqlens.cli.train, seqlens.models\n"
                           "import sys\nassert 'scipy.stats' not in sys.modules")
    assert "sklearn" not in loaded and "scipy" not in loaded


def test_numpy_auroc_aupr_equal_sklearn_with_ties():
    import numpy as np
    from sklearn.metrics import average_precision_score, roc_auc_score

    from seqlens.train.metrics import aupr, auroc

    rng = np.random.default_rng(0)
    y = (rng.random((300, 3)) < [0.1, 0.5, 0.9]).astype(np.float32)
    s = np.round(rng.normal(size=(300, 3)) + y, 1)  # rounded: many tied scores
    for t in range(3):
        assert abs(auroc(y, s)[t] - roc_auc_score(y[:, t], s[:, t])) < 1e-12
        assert abs(aupr(y, s)[t] - average_precision_score(y[:, t], s[:, t])) < 1e-12
    assert auroc([1, 0, 1, 0], [0.9, 0.1, 0.9, 0.9])[0] == 0.75  # one tied pair counts 1/2
    assert aupr([1, 0, 0], [0.2, 0.9, 0.1])[0] == 0.5


def test_msa_precompile_covers_a_real_fit(shared_data):
    """After ``seqlens.msa.precompile`` a real Potts fit (DHFR, weights, L-BFGS, line search) and
    the sampling distances need no kernel of a new type: nothing is left to compile on a user's
    first run once the cache is filled."""
    probe = f"""
import json, numba, importlib, pkgutil
import seqlens.msa
from seqlens.msa.precompile import precompile
precompile()
kernels = {{}}
for mod in pkgutil.iter_modules(seqlens.msa.__path__):
    m = importlib.import_module("seqlens.msa." + mod.name)
    for k, v in vars(m).items():
        if isinstance(v, numba.core.registry.CPUDispatcher) and v.__module__ == m.__name__:
            kernels[m.__name__ + "." + k] = v
before = {{k: len(v.signatures) for k, v in kernels.items()}}
from seqlens.msa import Alignment, Potts
from seqlens.msa.sampling import nearest_hamming
msa = Alignment.read("{shared_data / 'msa' / 'DHFR.a2m'}", focus="DYR_ECOLI").subset(range(500))
Potts(preset="plmc", max_iter=2, n_threads=1).fit(msa)
nearest_hamming(msa.X[:5], msa.X[:50])
print(json.dumps([k for k, v in kernels.items() if len(v.signatures) != before[k]]))
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
