"""Build zoo models by architecture name, preset name, or config dict."""

from __future__ import annotations

import copy

import torch
from torch import nn

from seqlens.models import attention, bpnet, cnn, residualbind

ARCHITECTURES: dict[str, type] = {
    "cnn": cnn.CNN,
    "residualbind": residualbind.ResidualBind,
    "cnn_attention": attention.CNNAttention,
    "bpnet": bpnet.BPNet,
}

# preset name -> (architecture, keyword arguments)
PRESETS: dict[str, tuple[str, dict]] = {}
PRESETS.update({k: ("cnn", v) for k, v in cnn.PRESETS.items()})
PRESETS.update({k: ("residualbind", v) for k, v in residualbind.PRESETS.items()})
PRESETS.update({k: ("cnn_attention", v) for k, v in attention.PRESETS.items()})
PRESETS["residualbind"] = ("residualbind", {})
PRESETS.update({k: ("bpnet", v) for k, v in bpnet.PRESETS.items()})


# The training recipe of each preset's paper (keyword arguments of seqlens.train.fit); presets not
# listed train with DEFAULT_RECIPE. `seqlens train` and the reference zoo use these.
DEFAULT_RECIPE = dict(epochs=100, batch_size=128, lr=1e-3, patience=10)
_KOO_EDDY = dict(epochs=100, batch_size=128, lr=1e-3, patience=10, monitor="auroc")
_KOO_PLOENZKE = dict(epochs=100, batch_size=100, lr=1e-3, patience=20, monitor="auroc")
_KOO_PLOENZKE_FILTERS = dict(_KOO_PLOENZKE, monitor="aupr")
# Ghotra & Koo's published code: Adam 1e-3, batch 200, up to 100 epochs, early stopping on the
# validation loss with patience 15, learning rate x0.2 on plateaus
_GHOTRA_KOO = dict(epochs=100, batch_size=200, lr=1e-3, patience=15, monitor="loss", lr_patience=5)
_RESIDUALBIND = dict(epochs=50, batch_size=100, lr=1e-3, patience=8, monitor="auroc")
RECIPES: dict[str, tuple[str, dict]] = {
    **{f"cnn_p{p}": ("Koo & Eddy 2019", _KOO_EDDY) for p in (1, 2, 4, 10, 25, 50, 100)},
    **{k: ("Koo & Ploenzke 2021", _KOO_PLOENZKE_FILTERS) for k in ("cnn_2", "cnn_50", "cnn_deep")},
    **{k: ("Koo & Ploenzke 2021", _KOO_PLOENZKE) for k in ("cnn_local", "cnn_dist")},
    **{k: ("Ghotra & Koo 2021", _GHOTRA_KOO) for k in attention.PRESETS},
    **{k: ("Koo & Ploenzke 2021 (ResidualBind on ZBED2)", _RESIDUALBIND)
       for k in [*residualbind.PRESETS, "residualbind"]},
}


def recipe(name: str) -> tuple[str, dict]:
    """``(source, fit keyword arguments)`` of a preset's published training recipe
    (``("default", DEFAULT_RECIPE)`` for architectures and presets without one)."""
    source, kwargs = RECIPES.get(_key(name), ("default", DEFAULT_RECIPE))
    return source, {**DEFAULT_RECIPE, **kwargs}


def _key(name: str) -> str:
    return str(name).strip().lower().replace("-", "_")


def list_models() -> list[str]:
    """Names accepted by :func:`build_model`: architectures and presets."""
    return sorted(set(ARCHITECTURES) | set(PRESETS))


def model_config(name: str, **overrides) -> dict:
    """The JSON-able config of a named model (architecture or preset) with ``overrides``.

    ``model_config("cnn-local", activation="exponential", n_outputs=12)`` ->
    ``{"name": "cnn", "filters": 24, ..., "activation": "exponential", "n_outputs": 12}``.
    """
    key = _key(name)
    if key in PRESETS:
        arch, kwargs = PRESETS[key]
    elif key in ARCHITECTURES:
        arch, kwargs = key, {}
    else:
        raise ValueError(f"unknown model {name!r}; choose one of {list_models()}")
    return {"name": arch, **copy.deepcopy(kwargs), **overrides}


def build_model(model: str | dict, random_state: int | None = None, **overrides) -> nn.Module:
    """Build a zoo model.

    Parameters
    ----------
    model : an architecture (``"cnn"``, ``"residualbind"``, ``"cnn_attention"``), a preset
        (``"cnn_local"``, ``"cnn-p25"``, ``"deepstarr"``, ... see :func:`list_models`) or a config
        dict with key ``"name"`` (as in ``model.config``).
    random_state : seeds the weight initialisation (global torch RNG state is left untouched).
    overrides : keyword arguments of the architecture (``seq_length``, ``n_outputs``,
        ``activation``, ``pool``, ...).
    """
    if isinstance(model, dict):
        config = {**copy.deepcopy(model), **overrides}
        if "name" not in config:
            raise ValueError("a model config needs a 'name' key")
        config.pop("preset", None)
        arch = _key(config.pop("name"))
        if arch not in ARCHITECTURES:
            config = {**model_config(arch), **config}
            arch = config.pop("name")
    else:
        config = model_config(model, **overrides)
        arch = config.pop("name")
    cls = ARCHITECTURES[arch]
    try:
        if random_state is None:
            return cls(**config)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(random_state)
            return cls(**config)
    except TypeError as exc:
        raise ValueError(f"bad config for model {arch!r}: {exc}") from None
