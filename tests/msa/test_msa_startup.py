"""The CPU Potts path (``seqlens msa fit --model potts``) never imports torch: the fit runs in numba
and the model is saved in torch's archive format without it; the saved model loads back."""

import json
import subprocess
import sys

import numpy as np

HEAVY = ["torch", "matplotlib", "sklearn", "h5py", "scipy.stats"]


def _head_records(path, n: int, dest):
    """The first ``n`` records of an A2M file, copied to ``dest``."""
    lines, seen = [], 0
    for line in path.read_text().splitlines():
        seen += line.startswith(">")
        if seen > n:
            break
        lines.append(line)
    dest.write_text("\n".join(lines) + "\n")
    return dest


def test_potts_fit_and_save_import_no_torch(tmp_path, data_dir):
    out = tmp_path / "m"
    msa_path = _head_records(data_dir / "DHFR.a2m", 200, tmp_path / "dhfr200.a2m")
    code = (
        "import json, sys\nfrom seqlens.cli import main\n"
        f"rc = main(['msa', 'fit', '--msa', {str(msa_path)!r}, '--model', 'potts', "
        f"'--max-iter', '5', '--threads', '1', '--quiet', '--out', {str(out)!r}])\n"
        f"print(json.dumps([rc, [m for m in {HEAVY!r} if m in sys.modules]]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rc, loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert rc == 0 and loaded == []

    from seqlens.msa import Alignment, Potts
    from seqlens.msa.persist import load_msa_model

    model = load_msa_model(out)  # torch.load(weights_only=True) of the torch-free archive
    msa = Alignment.read(msa_path, focus=True)
    ref = Potts(preset="plmc", max_iter=5, n_threads=1).fit(msa)
    assert model.J_.dtype == ref.J_.dtype and model.J_.shape == ref.J_.shape
    np.testing.assert_array_equal(model.J_, ref.J_)
    np.testing.assert_array_equal(model.h_, ref.h_)


def test_import_msa_loads_no_torch():
    probe = ("import json, sys, seqlens.msa, seqlens.msa.potts, seqlens.msa.persist, "
             "seqlens.cli.msa_models\nprint(json.dumps('torch' in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) is False
