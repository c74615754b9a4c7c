"""Shared state of one study run: settings, seeds, cached datasets and trained models."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from seqlens.errors import SeqlensError

# Sizes per mode. "quick" proves every section end to end in a few minutes on 2 cores; "default"
# gives numbers worth reading (each section a few minutes); "tiny" (hidden ``--tiny``) only checks
# the machinery (kill and resume tests), its numbers mean nothing.
SETTINGS = {
    "quick": dict(
        n_regcode=3000, n_multitask=2000, n_interactions=3000, epochs=8, design_epochs=4, patience=3,
        pools=(4, 25), seeds=(0,), design_models=("cnn_p4",), n_attr=40,
        attr_methods=("saliency", "smoothgrad", "ig", "deepshap", "ism"), n_null=200,
        spacing_step=6, surrogate_n=4000, surrogate_kind="additive", robust_epochs=6, pgd_steps=3,
        attention_epochs=8, zbed2_epochs=4, zbed2_train=600,
        potts_iterations=20, attention_iterations=6, attention_heads=32, pdz_sequences=8000,
        ig_steps=16, smooth_n=8,
        shap_refs=4,
    ),
    "default": dict(
        n_regcode=20000, n_multitask=8000, n_interactions=10000, epochs=25, design_epochs=12, patience=6,
        pools=(2, 10, 25, 100), seeds=(0,), design_models=("cnn_p4",),
        n_attr=300, attr_methods=("saliency", "smoothgrad", "ig", "deepshap", "ism"), n_null=1000,
        spacing_step=2, surrogate_n=30000, surrogate_kind="pairwise", robust_epochs=10, pgd_steps=3,
        attention_epochs=12, zbed2_epochs=10, zbed2_train=None,
        potts_iterations=100, attention_iterations=25, attention_heads=64, pdz_sequences=20000,
        ig_steps=32, smooth_n=25,
        shap_refs=10,
    ),
    "tiny": dict(
        n_regcode=300, n_multitask=300, n_interactions=300, epochs=1, design_epochs=1, patience=1,
        pools=(25,), seeds=(0,), design_models=("cnn_p4",), n_attr=4,
        attr_methods=("saliency", "ism"), n_null=16, spacing_step=20, surrogate_n=200,
        surrogate_kind="additive", robust_epochs=1, pgd_steps=1, attention_epochs=1, zbed2_epochs=1,
        zbed2_train=100, potts_iterations=2, attention_iterations=1, attention_heads=4,
        pdz_sequences=200, ig_steps=2, smooth_n=2, shap_refs=2,
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
        """A named simulated dataset at this mode's size, seeded by the study seed."""
        from seqlens.simulate import simulate_dataset

        n = {"regulatory_code": "n_regcode", "multitask_motifs": "n_multitask",
             "motif_interactions": "n_interactions"}[name]
        return self.cached(f"data:{name}", lambda: simulate_dataset(
            name, n=self.settings[n], random_state=self.seed))

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
