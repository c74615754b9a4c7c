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
