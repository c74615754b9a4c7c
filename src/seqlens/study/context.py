"""Shared state of one study run: settings, seeds, cached datasets and trained models."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from seqlens.errors import SeqlensError

# Sizes per mode. Sections 1, 2 and 4 interpret the reference zoo (models trained at the published
# settings, shipped with seqlens: seqlens.study.zoo); only the robust-training section trains its
# models in the run. "quick" (<= 3 min on 2 cores) interprets every zoo seed; "default" (<= 20 min)
# adds larger interpretation sets and retrains a subset of the zoo (``retrain``) to show it
# reproduces; "tiny" (hidden ``--tiny``) only checks the machinery (kill and resume tests).
SETTINGS = {
    "quick": dict(
        zoo_seeds=3, n_regcode=2000, epochs=8, patience=3, n_attr=50, n_motif_seqs=2000,
        attr_methods=("saliency", "smoothgrad", "ig", "deepshap", "ism"), n_null=200, n_filter_test=2000,
        spacing_step=6, surrogate_n=4000, surrogate_kind="additive", robust_epochs=4, pgd_steps=2,
        potts_iterations=20, attention_iterations=6, attention_heads=32, pdz_sequences=8000,
        ig_steps=16, smooth_n=8, shap_refs=4, n_glifac=1000, retrain=(),
    ),
    "default": dict(
        zoo_seeds=3, n_regcode=20000, epochs=25, patience=6, n_attr=500, n_motif_seqs=None,
        attr_methods=("saliency", "smoothgrad", "ig", "deepshap", "ism"), n_null=1000, n_filter_test=None,
        spacing_step=2, surrogate_n=30000, surrogate_kind="pairwise", robust_epochs=10, pgd_steps=3,
        potts_iterations=100, attention_iterations=25, attention_heads=64, pdz_sequences=20000,
        ig_steps=32, smooth_n=25, shap_refs=10, n_glifac=2000,
        retrain=("regcode_cnn_local_exponential", "regcode_cnn_local_relu"),
    ),
    "tiny": dict(
        zoo_seeds=1, n_regcode=300, epochs=1, patience=1, n_attr=4, n_motif_seqs=300,
        attr_methods=("saliency", "ism"), n_null=16, n_filter_test=300, spacing_step=20, surrogate_n=200,
        surrogate_kind="additive", robust_epochs=1, pgd_steps=1, potts_iterations=2,
        attention_iterations=1, attention_heads=4, pdz_sequences=200, ig_steps=2, smooth_n=2,
        shap_refs=2, n_glifac=200, retrain=(),
    ),
}
MODES = tuple(SETTINGS)


@dataclass
class StudyContext:
    """What every section gets: output folder, mode (a key of ``SETTINGS``), seed and a cache.

    ``cache`` holds datasets and trained models shared between sections (e.g. the regulatory-code
    cnn-local model is trained once and used for attributions, GIA and the surrogate).
    """

    out_dir: Path
    mode: str = "default"
    seed: int = 0
    verbose: bool = True
    device: object = None
    metrics: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)

    overrides: dict = field(default_factory=dict)

    @property
    def settings(self) -> dict:
        """The mode's sizes (``SETTINGS``) with ``overrides`` applied."""
        return {**SETTINGS[self.mode], **self.overrides}

    def path(self, *parts: str) -> Path:
        p = self.out_dir.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def log(self, message: str) -> None:
        if self.verbose:
            print(f"[study {time.strftime('%H:%M:%S')}] {message}", flush=True)

    def cached(self, key: str, make):
        """Return ``cache[key]``, computing it with ``make()`` the first time."""
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def dataset(self, name: str):
        """The regulatory-code dataset at this mode's size (``n_regcode``), seeded by the study seed:
        the data of the models trained in the run."""
        from seqlens.simulate import simulate_dataset

        if name != "regulatory_code":
            raise ValueError(f"the study trains only on regulatory_code, not {name!r}; zoo data: zoo_data")
        return self.cached(f"data:{name}", lambda: simulate_dataset(
            name, n=self.settings["n_regcode"], random_state=self.seed))

    def zoo_data(self, key: str):
        """The dataset of zoo entry ``key``, regenerated exactly as the zoo build made it (its test
        split is data the zoo models never saw); one dataset is kept at a time."""
        from seqlens.study.zoo import ENTRIES, zoo_dataset

        entry = ENTRIES[key]
        name = f"zoo_data:{entry.dataset}:{entry.n}"
        if name not in self.cache:
            for old in [k for k in self.cache if k.startswith("zoo_data:")]:
                del self.cache[old]
            self.cache[name] = zoo_dataset(entry)
        return self.cache[name]

    def zoo_seeds(self, key: str) -> list[int]:
        """The built seeds of zoo entry ``key`` this mode interprets (``zoo_seeds`` of them)."""
        from seqlens.study.zoo import available_seeds

        seeds = available_seeds(key)[: self.settings["zoo_seeds"]]
        if not seeds:
            raise SeqlensError(f"the reference zoo has no {key} model (seqlens/data/zoo); rebuild it with "
                               "`python -m seqlens.study.zoo`")
        return seeds

    def zoo_model(self, key: str, seed: int):
        """Zoo model ``key`` of ``seed`` (eval mode, on the study's device); its build metadata is in
        ``zoo_metadata(key, seed)``."""
        from seqlens.models import resolve_device
        from seqlens.study.zoo import load_zoo_model

        def load():
            model, meta = load_zoo_model(key, seed, device=resolve_device(self.device))
            self.cache[f"zoo_meta:{key}:{seed}"] = meta
            return model

        return self.cached(f"zoo:{key}:{seed}", load)

    def zoo_metadata(self, key: str, seed: int) -> dict:
        self.zoo_model(key, seed)
        return self.cache[f"zoo_meta:{key}:{seed}"]

    def trained(self, key: str, dataset, model_name: str, *, epochs: int | None = None,
                fit_kwargs: dict | None = None, **model_kwargs):
        """Build, train (early stopping on validation) and cache a zoo model; returns the model.

        The checkpoint goes to ``<out>/models/<key>`` and its test scores to ``scores(key)``. A
        complete checkpoint already there (a resumed run) is loaded instead of training again.
        """
        def make():
            loaded = self._load_trained(key)
            if loaded is not None:
                return loaded
            from seqlens.models import build_model, save_model
            from seqlens.train import evaluate, fit

            model = build_model(model_name, random_state=self.seed, seq_length=dataset.seq_length,
                                n_outputs=dataset.n_tasks, **model_kwargs)
            self.log(f"training {key} ({model_name}, {model_kwargs or 'defaults'})")
            result = fit(model, dataset.train, dataset.valid, epochs=epochs or self.settings["epochs"],
                         patience=self.settings["patience"], random_state=self.seed,
                         device=self.device, **(fit_kwargs or {}))
            scores = evaluate(result.model, dataset.test, device=self.device)
            save_model(result.model, self.path("models", key), metadata={
                "test": scores, "epochs_run": len(result.history), "best_epoch": result.best_epoch})
            self.cache[f"scores:{key}"] = scores
            return result.model.eval()

        return self.cached(f"model:{key}", make)

    def _load_trained(self, key: str):
        """The model kept at ``models/<key>`` by an earlier, interrupted run, or None."""
        from seqlens.models import load_model, resolve_device
        from seqlens.models.checkpoint import read_checkpoint_info

        folder = self.out_dir / "models" / key
        if not (folder / "manifest.json").exists():
            return None
        try:
            scores = read_checkpoint_info(folder)["metadata"]["test"]
            model = load_model(folder, device=resolve_device(self.device))
        except (SeqlensError, KeyError, TypeError):
            return None  # cut short or unreadable: train it again
        self.log(f"{key}: trained by the interrupted run, loaded from {folder}")
        self.cache[f"scores:{key}"] = scores
        return model

    def scores(self, key: str) -> dict:
        return self.cache[f"scores:{key}"]

    def write_metrics(self) -> Path:
        from seqlens.io.atomic import write_json

        return write_json(self.out_dir / "metrics.json", self.metrics)
