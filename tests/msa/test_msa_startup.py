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


def _small_potts(dhfr, tmp_path):
    """A Potts model of 60 DHFR rows x 25 columns, saved to ``tmp_path / 'm'``."""
    from seqlens.msa import Potts
    from seqlens.msa.persist import save_msa_model

    sub = dhfr.subset(np.arange(60))
    sub.X = sub.X[:, :25].copy()
    sub.columns = sub.columns.iloc[:25].reset_index(drop=True)
    model = Potts(preset="plmc", max_iter=5, n_threads=1).fit(sub)
    return model, save_msa_model(model, tmp_path / "m"), sub


def test_saved_potts_loads_and_scores_without_torch(dhfr, tmp_path):
    """A saved model reloads equal to itself, and loading, scoring, the energies and
    sampling import no torch (checked in a fresh process)."""
    import hashlib

    from seqlens.msa.persist import load_msa_model

    model, folder, sub = _small_potts(dhfr, tmp_path)
    again = load_msa_model(folder)
    for name in ("h_", "J_"):
        a, b = getattr(model, name), getattr(again, name)
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    assert again.columns_.equals(model.columns_) and again.alphabet_ == model.alphabet_
    assert (again.Q_, again.lambda_J_, again.n_iter_) == (model.Q_, model.lambda_J_, model.n_iter_)
    rows = sub.rows()[:5]
    np.testing.assert_array_equal(again.score(rows), model.score(rows))

    probe = (
        "import hashlib, json, sys\nfrom seqlens.msa.persist import load_msa_model\n"
        "from seqlens.msa.sampling import sample\n"
        f"m = load_msa_model({str(folder)!r})\n"
        f"s = m.score({rows!r}).tolist(); e = m.energy(m._code({rows!r})).tolist()\n"
        "x = sample(m, 3, random_state=0, burn_in=2, thin=1)\n"
        "print(json.dumps([hashlib.sha256(m.J_.tobytes()).hexdigest(), s, e, len(x),"
        " 'torch' in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    digest, scores, energies, n, torch_loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert digest == hashlib.sha256(model.J_.tobytes()).hexdigest()
    np.testing.assert_array_equal(scores, model.score(rows))
    np.testing.assert_array_equal(energies, model.energy(model._code(rows)))
    assert n == 3 and torch_loaded is False


def test_msa_score_and_sample_commands_import_no_torch(dhfr, tmp_path):
    _, folder, sub = _small_potts(dhfr, tmp_path)
    seqs = tmp_path / "s.fasta"
    seqs.write_text("".join(f">r{k}\n{r}\n" for k, r in enumerate(sub.rows()[:4])))
    code = (
        "import json, sys\nfrom seqlens.cli import main\n"
        f"a = main(['msa', 'score', '--model', {str(folder)!r}, '--sequences', {str(seqs)!r}, "
        f"'--out', {str(tmp_path / 'scored')!r}])\n"
        f"b = main(['msa', 'sample', '--model', {str(folder)!r}, '--n', '2', '--burn-in', '2', "
        f"'--out', {str(tmp_path / 'x.fasta')!r}])\n"
        f"print(json.dumps([a, b, [m for m in {HEAVY!r} if m in sys.modules]]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [0, 0, []]
    assert (tmp_path / "scored" / "scores.csv").exists() and (tmp_path / "x.fasta").exists()


def test_numpy_pseudo_likelihood_equals_the_torch_reference(dhfr):
    """The NumPy pseudo-log-likelihood of scoring equals the torch embedding-bag one (gaps
    ignored: missing in prediction and context; gaps as a state)."""
    import torch

    from seqlens.msa import Potts
    from seqlens.msa.plm_torch import PseudoLikelihood

    sub = dhfr.subset(np.arange(80))
    sub.X = sub.X[:, :20].copy()
    sub.columns = sub.columns.iloc[:20].reset_index(drop=True)
    assert (sub.X == sub.gap_code).any()  # rows with gaps are part of the check
    for gaps in ("ignore", "state"):
        model = Potts(preset="plmc", gaps=gaps, max_iter=4, n_threads=1).fit(sub)
        L, Q = model.h_.shape
        X = sub.X.astype(np.int64)
        ref = PseudoLikelihood(torch.from_numpy(X), torch.ones(len(X)), Q, batch_size=16)
        J = torch.cat([torch.from_numpy(model.J_.reshape(L * Q, L * Q)), torch.zeros(1, L * Q)])
        with torch.no_grad():
            want = ref.per_sequence(torch.from_numpy(model.h_), J).double().numpy()
        got = model.pseudo_log_likelihood(X, batch_bytes=4 * L * Q * 7)  # batches of 7 rows
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
