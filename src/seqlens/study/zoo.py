"""The reference model zoo: the models the study interprets, trained by the project at the published
full settings and shipped with it.

Each entry (:data:`ENTRIES`) names a dataset (regenerated bit-identically from :data:`DATA_SEED`, or
the bundled ZBED2 set), a zoo preset with its overrides, the training recipe of its paper, and the
interpretation scored at build time. :func:`build_zoo` trains every entry for every seed of
:data:`SEEDS` and saves each model as an integrity-checked checkpoint (state dict + JSON config,
:func:`seqlens.models.save_model`) under ``seqlens/data/zoo/<key>/seed<k>/``; the config's metadata
records the command, commit, data seed and size, a SHA-256 of the regenerated test split, epochs,
test metrics and the interpretation metrics (:func:`score_entry`), so a later run can check that the
models and the data still agree (:func:`check_entry`). Models already built are kept, so a killed
build continues where it stopped.

``python -m seqlens.study.zoo --device cuda`` (or ``seqlens zoo build``) rebuilds the zoo; on 2 CPU
cores it takes hours, on a GPU minutes.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqlens.errors import SeqlensError

DATA_SEED = 0
SEEDS = (0, 1, 2)
N_ATTRIBUTION = 500  # positive test sequences scored for attribution AUROC at build time


@dataclass(frozen=True)
class ZooEntry:
    """One reference model: ``key`` (folder name), ``dataset`` (a simulated dataset's name or
    ``"zbed2"``) of ``n`` sequences, zoo ``model`` preset with ``overrides``, training ``recipe``
    (keyword arguments of :func:`seqlens.train.fit`), and ``scoring``: ``"filters"`` (first-layer
    match fraction), ``"attribution"`` (saliency AUROC vs truth, raw and corrected, and the match
    fraction), ``"glifac"``
    (interaction AUROC) or ``"test"`` (test metrics only)."""

    key: str
    dataset: str
    n: int | None
    model: str
    overrides: dict = field(default_factory=dict)
    recipe: dict = field(default_factory=dict)
    scoring: str = "test"
    source: str = ""


def _recipe(model: str) -> dict:
    from seqlens.models.zoo import recipe

    return recipe(model)[1]


POOLS = (4, 10, 25)

ENTRIES: dict[str, ZooEntry] = {e.key: e for e in [
    ZooEntry("regcode_cnn_local_exponential", "regulatory_code", 20000, "cnn_local",
             {"activation": "exponential"}, _recipe("cnn_local"), "attribution", "Koo & Ploenzke 2021"),
    ZooEntry("regcode_cnn_local_relu", "regulatory_code", 20000, "cnn_local",
             {"activation": "relu"}, _recipe("cnn_local"), "attribution", "Koo & Ploenzke 2021"),
    ZooEntry("interactions_cnn_attention_exponential", "motif_interactions", 60000, "cnn_attention",
             {"activation": "exponential", "filters": 32, "pool": 4, "heads": 8, "dense": 128,
              "key_size": 32, "attention_residual": False},
             _recipe("cnn_attention"), "glifac", "Ghotra & Koo 2021"),
    *[ZooEntry(f"multitask_cnn_p{p}_relu", "multitask_motifs", 30000, f"cnn_p{p}",
               {"activation": "relu"}, _recipe(f"cnn_p{p}"), "filters", "Koo & Eddy 2019") for p in POOLS],
    ZooEntry("multitask_cnn_p4_exponential", "multitask_motifs", 30000, "cnn_p4",
             {"activation": "exponential"}, _recipe("cnn_p4"), "filters", "Koo & Ploenzke 2021"),
    ZooEntry("zbed2_residualbind_exponential", "zbed2", None, "residualbind_dna400",
             {"activation": "exponential"}, _recipe("residualbind_dna400"), "test", "Koo & Ploenzke 2021"),
]}


def zoo_dir() -> Path:
    """The zoo folder: ``$SEQLENS_ZOO`` when set (e.g. a zoo rebuilt on a GPU with
    ``python -m seqlens.study.zoo --out DIR``), else the shipped one (``seqlens/data/zoo``)."""
    import os
    from importlib import resources

    if os.environ.get("SEQLENS_ZOO"):
        return Path(os.environ["SEQLENS_ZOO"])
    return Path(str(resources.files("seqlens.data"))) / "zoo"


def zoo_dataset(entry: ZooEntry):
    """The entry's dataset: regenerated with :data:`DATA_SEED` (bit-identical to the build's), or
    the bundled ZBED2 set."""
    if entry.dataset == "zbed2":
        from seqlens.data import data_path
        from seqlens.io.hdf5 import load_dataset

        return load_dataset(data_path("ZBED2_400_h3k27ac.h5"))
    from seqlens.simulate import simulate_dataset

    return simulate_dataset(entry.dataset, n=entry.n, random_state=DATA_SEED)


def split_digest(split) -> str:
    """SHA-256 of a split's ``X`` and ``Y`` (float32 bytes): names the exact data a model was
    scored on."""
    h = hashlib.sha256()
    for a in (split.X, split.Y):
        h.update(np.ascontiguousarray(np.asarray(a, dtype=np.float32)).tobytes())
    return h.hexdigest()


def score_entry(entry: ZooEntry, model, dataset, device=None, random_state: int = 0) -> dict:
    """Test metrics plus the entry's interpretation metrics (see :class:`ZooEntry`), a flat dict."""
    from seqlens.train import evaluate

    out = {k: float(v) for k, v in evaluate(model, dataset.test, device=device).items()}
    if entry.scoring == "filters":
        out.update(score_filters(model, dataset, device=device))
    elif entry.scoring == "attribution":
        out.update(score_attributions(model, dataset, N_ATTRIBUTION, device=device))
        out.update(score_filters(model, dataset, device=device))
    elif entry.scoring == "glifac":
        out.update(score_glifac(model, dataset, device=device, random_state=random_state)[0])
    return out


def score_filters(model, dataset, device=None) -> dict:
    """First-layer filters of ``model`` as activation motifs of the test split, Tomtom against the
    JASPAR 2016 vertebrates the simulator draws from; ``match_fraction`` (filters whose best hit,
    q <= 0.1, is a ground-truth motif), ``match_any``, ``false_positive_rate``, ``coverage``."""
    from seqlens.interpret.filters import activation_motifs, filter_statistics, match_filters
    from seqlens.study.design_principles import default_database, truth_ids_of

    truth = truth_ids_of(dataset)
    motifs = activation_motifs(model, dataset.test.X, device=device)
    matches = match_filters(motifs, default_database(), truth_ids=truth)
    stats = filter_statistics(matches, len(motifs), truth)
    return {k: float(stats[k]) for k in ("match_fraction", "match_any", "false_positive_rate", "coverage")}


def score_attributions(model, dataset, n: int, device=None) -> dict:
    """Saliency (raw and gradient-corrected) of the first ``n`` positive test sequences scored
    against the embedded motifs: ``saliency_auroc``, ``saliency_corrected_auroc`` (protocol a)."""
    from seqlens.attribution import saliency
    from seqlens.interpret.metrics import evaluate_attribution

    pos = np.flatnonzero(dataset.test.Y[:, 0] > 0.5)[:n]
    X, truth = dataset.test.X[pos], dataset.test.truth[pos]
    out = {}
    for correct, tag in ((False, ""), (True, "_corrected")):
        attr = saliency(model, X, target=0, correct=correct, device=device)
        out[f"saliency{tag}_auroc"] = evaluate_attribution(attr, X, truth)["auroc"]
    return out


def score_glifac(model, dataset, n: int = 1000, device=None, random_state: int = 0):
    """GLIFAC on the first ``n`` positive test sequences of the motif-interaction set (those holding
    an interacting pair; over all sequences, the attended position pairs of the negatives, which
    hold single members, drown the pairs' correlations: AUROC 0.66-0.69 against 0.95 on the same
    model): filters labelled by their best Tomtom hit (q <= 0.1) among the dataset's motifs, the
    motif x motif matrix scored against the interacting pairs. Returns ``(scores, result, pairs)``:
    ``scores`` holds ``glifac_auroc``, ``glifac_aupr``, ``glifac_top_pairs_true``,
    ``glifac_filters_labelled``."""
    from seqlens.interpret.filters import activation_motifs, match_filters
    from seqlens.interpret.interactions import evaluate_interactions, glifac_from_model
    from seqlens.simulate import get_motifs

    names = {m["id"]: m["name"] for m in dataset.metadata["motifs"]}
    X = dataset.test.X[np.flatnonzero(dataset.test.Y[:, 0] > 0.5)[:n]]
    motifs = activation_motifs(model, X, device=device)
    matches = match_filters(motifs, get_motifs(list(names)))
    labels = [None] * len(motifs)
    sig = matches[matches.q_value <= 0.1].sort_values("p_value")
    for _, row in sig.drop_duplicates("filter").iterrows():
        labels[int(row["filter"])] = names[row.target]
    pairs = [tuple(p) for p in dataset.metadata["interacting_pairs"]]
    res = glifac_from_model(model, X, labels=labels, motifs=list(names.values()), device=device,
                            random_state=random_state, quantile=0.99)
    scores = evaluate_interactions(res.motif_matrix, pairs, motifs=list(names.values()))
    out = {f"glifac_{k}": float(v) for k, v in scores.items() if isinstance(v, (int, float))}
    out["glifac_filters_labelled"] = int(sum(lbl is not None for lbl in labels))
    return out, res, pairs


def model_folder(key: str, seed: int, root: Path | None = None) -> Path:
    return (root or zoo_dir()) / key / f"seed{seed}"


def is_built(key: str, seed: int, root: Path | None = None) -> bool:
    """Whether zoo model ``key`` of ``seed`` is a complete checkpoint (its manifest is written last)."""
    return (model_folder(key, seed, root) / "manifest.json").is_file()


def available_seeds(key: str, root: Path | None = None) -> list[int]:
    """Seeds of entry ``key`` present in the zoo (complete checkpoints only)."""
    folder = (root or zoo_dir()) / key
    if not folder.is_dir():
        return []
    return sorted(int(p.name[4:]) for p in folder.glob("seed*")
                  if p.name[4:].isdigit() and is_built(key, int(p.name[4:]), root))


def load_zoo_model(key: str, seed: int, device=None, root: Path | None = None):
    """``(model, metadata)`` of a zoo model (integrity-checked, eval mode); raises
    :class:`SeqlensError` naming the missing entry or seed."""
    from seqlens.models import load_model
    from seqlens.models.checkpoint import read_checkpoint_info

    if key not in ENTRIES:
        raise SeqlensError(f"no zoo entry {key!r}; entries: {', '.join(ENTRIES)}")
    folder = model_folder(key, seed, root)
    if not is_built(key, seed, root):
        have = available_seeds(key, root)
        raise SeqlensError(f"zoo model {key} seed {seed} is not built (built seeds: {have or 'none'}); "
                           "run `seqlens zoo build`")
    return load_model(folder, device=device), read_checkpoint_info(folder)["metadata"]


def _commit() -> str:
    """The git commit of this checkout, or ``$SEQLENS_BUILD_COMMIT`` (a build on a copy without
    ``.git``, such as a GPU machine)."""
    import os

    if os.environ.get("SEQLENS_BUILD_COMMIT"):
        return os.environ["SEQLENS_BUILD_COMMIT"]
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                              cwd=Path(__file__).resolve().parent).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def train_entry(entry: ZooEntry, seed: int, dataset=None, device=None, verbose: bool = False):
    """Build and train ``entry`` with ``seed`` (weights and batches); returns ``(model, metadata)``
    with the metadata :func:`build_zoo` stores."""
    import torch

    from seqlens.models import build_model, resolve_device
    from seqlens.train import fit

    dataset = zoo_dataset(entry) if dataset is None else dataset
    device = resolve_device(device)
    model = build_model(entry.model, random_state=seed, seq_length=dataset.seq_length,
                        n_outputs=dataset.n_tasks, **entry.overrides)
    start = time.perf_counter()
    result = fit(model, dataset.train, dataset.valid, loss="bce", random_state=seed, device=device,
                 verbose=verbose, **entry.recipe)
    seconds = time.perf_counter() - start
    # scored on the CPU, where the tests and the study re-score it (cuDNN's TF32 convolutions would
    # shift the stored metrics by up to ~1e-3)
    model = result.model.eval().cpu()
    metrics = score_entry(entry, model, dataset, device="cpu", random_state=seed)
    metadata = {
        "zoo_entry": entry.key, "seed": seed, "source": entry.source, "dataset": entry.dataset,
        "dataset_n": entry.n, "data_seed": DATA_SEED, "test_sha256": split_digest(dataset.test),
        "recipe": entry.recipe, "scoring": entry.scoring, "epochs_run": len(result.history),
        "best_epoch": result.best_epoch, "train_seconds": round(seconds, 1), "device": str(device),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), "commit": _commit(),
        "torch": torch.__version__, "python": platform.python_version(), "metrics": metrics,
    }
    return model, metadata


def build_zoo(keys=None, seeds=SEEDS, root: str | Path | None = None, device=None,
              verbose: bool = True, jobs: int = 1, threads: int | None = None) -> list[Path]:
    """Train and save every (entry, seed) not yet in the zoo, seed-major (every entry's first seed
    before any second seed); returns the folders written. ``keys`` limits the entries. ``jobs > 1``
    trains that many (entry, seed) models at once, each in its own process (e.g. sharing one GPU), with
    ``threads`` CPU threads each."""
    from seqlens.models import save_model

    root = Path(root) if root is not None else zoo_dir()
    keys = list(ENTRIES) if keys is None else list(keys)
    unknown = [k for k in keys if k not in ENTRIES]
    if unknown:
        raise SeqlensError(f"unknown zoo entries {unknown}; entries: {', '.join(ENTRIES)}")
    if jobs > 1:
        return _build_in_processes(keys, seeds, root, device, jobs, threads)
    written, datasets = [], {}
    for seed in seeds:
        for key in keys:
            if is_built(key, seed, root):
                continue
            folder = model_folder(key, seed, root)
            entry = ENTRIES[key]
            name = (entry.dataset, entry.n)
            if name not in datasets:
                datasets = {name: zoo_dataset(entry)}  # one dataset in memory at a time
            if verbose:
                print(f"[zoo {time.strftime('%H:%M:%S')}] training {key} seed {seed}", flush=True)
            model, metadata = train_entry(entry, seed, datasets[name], device=device)
            save_model(model, folder, metadata=metadata)
            written.append(folder)
            if verbose:
                shown = ", ".join(f"{k} {v:.3f}" for k, v in metadata["metrics"].items()
                                  if isinstance(v, float) and not k.endswith("loss"))
                print(f"[zoo] {key} seed {seed}: {metadata['epochs_run']} epochs, "
                      f"{metadata['train_seconds']:.0f} s; {shown}", flush=True)
    return written


def _build_in_processes(keys, seeds, root: Path, device, jobs: int, threads: int | None) -> list[Path]:
    """:func:`build_zoo` with one ``python -m seqlens.study.zoo`` process per missing (entry, seed),
    ``jobs`` at a time, seed-major; their output is passed through line by line."""
    from concurrent.futures import ThreadPoolExecutor

    todo = [(key, seed) for seed in seeds for key in keys if not is_built(key, seed, root)]

    def run(job):
        key, seed = job
        cmd = [sys.executable, "-m", "seqlens.study.zoo", "--keys", key, "--seeds", str(seed),
               "--out", str(root)]
        cmd += ["--device", str(device)] if device is not None else []
        cmd += ["--threads", str(threads)] if threads else []
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
            for line in proc.stdout:
                print(line, end="", flush=True)
        if proc.returncode:
            raise SeqlensError(f"zoo build of {key} seed {seed} failed (exit {proc.returncode})")
        return model_folder(key, seed, root)

    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(run, todo))


def check_entry(key: str, seed: int, device=None, root: Path | None = None, rescore: bool = False) -> dict:
    """Reload a zoo model, regenerate its data, and compare: ``{"test_sha256_ok": bool,
    "stored": metrics, "now": metrics}`` (``now`` holds test metrics, or every metric with
    ``rescore``)."""
    from seqlens.train import evaluate

    model, meta = load_zoo_model(key, seed, device=device, root=root)
    entry = ENTRIES[key]
    dataset = zoo_dataset(entry)
    now = (score_entry(entry, model, dataset, device=device, random_state=seed) if rescore
           else {k: float(v) for k, v in evaluate(model, dataset.test, device=device).items()})
    return {"test_sha256_ok": split_digest(dataset.test) == meta["test_sha256"],
            "stored": meta["metrics"], "now": now}


def main(argv=None) -> None:
    import argparse

    import torch

    p = argparse.ArgumentParser(description="build the reference model zoo (skips models already built)")
    p.add_argument("--keys", nargs="+", default=None, choices=list(ENTRIES))
    p.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    p.add_argument("--out", default=None, help="zoo folder (default: the package's data/zoo)")
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--jobs", type=int, default=1, help="models trained at once, one process each")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    build_zoo(args.keys, args.seeds, args.out, device=args.device, jobs=args.jobs, threads=args.threads)


if __name__ == "__main__":
    main()
