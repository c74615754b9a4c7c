"""Saved MSA models: a folder in the checkpoint format of :mod:`seqlens.io.checkpoint`.

``config.json`` holds the class, hyper-parameters, scalar learned state, column table and
alphabet; ``weights.pt`` the learned arrays (and the VAE's network) as tensors. One hash covers
both files; loading reads tensors (as numpy arrays, without torch:
:func:`seqlens.io.tensor_archive.read_archive`) and JSON only and checks every value against
the class. Only the VAE's and factored attention's modules import torch.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

from seqlens.errors import SeqlensError
from seqlens.io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

FORMAT = "seqlens-msa-model"
KEYS = {"class", "params", "state", "tables", "columns", "alphabet"}


# class name -> module; a class is imported only when a model of it is loaded (the VAE and
# factored attention import torch)
CLASSES = {"PSSM": "seqlens.msa.pssm", "Potts": "seqlens.msa.potts",
           "Gaussian": "seqlens.msa.gaussian", "FactoredAttention": "seqlens.msa.attention",
           "VAE": "seqlens.msa.vae"}


def _model_class(name):
    """The class of a saved model's ``class`` entry, or None for an unknown name."""
    import importlib

    if not isinstance(name, str) or name not in CLASSES:
        return None
    return getattr(importlib.import_module(CLASSES[name]), name)


def _init_names(cls) -> list[str]:
    return [n for n in inspect.signature(cls.__init__).parameters if n != "self"]


def save_msa_model(model, path: str | Path) -> Path:
    """Save a fitted MSA model to folder ``path``; returns the folder. Models whose learned
    state is numpy arrays are saved without importing torch (:mod:`seqlens.io.tensor_archive`)."""
    import sys

    cls = type(model).__name__
    if cls not in CLASSES:
        raise TypeError(f"cannot save {cls}")
    torch = sys.modules.get("torch")  # only a model holding a torch module (the VAE) needs it
    pd = sys.modules.get("pandas")  # a model holding a table was made with pandas loaded
    params = {}
    for name in _init_names(type(model)):
        if hasattr(model, name):
            v = getattr(model, name)
            params[name] = list(v) if isinstance(v, tuple) else v
    state, tensors, tables = {}, {}, {}
    for key, value in vars(model).items():
        if not key.endswith("_") or key.startswith("_") or key in ("columns_", "alphabet_"):
            continue
        if isinstance(value, np.ndarray):
            tensors[key] = value
        elif torch is not None and isinstance(value, torch.nn.Module):
            for k, t in value.state_dict().items():
                tensors[f"{key}.{k}"] = t
        elif pd is not None and isinstance(value, pd.DataFrame):
            tables[key] = value.to_dict(orient="list")
        elif isinstance(value, (int, float, str, bool, np.integer, np.floating)) or value is None:
            state[key] = value.item() if isinstance(value, np.generic) else value
    payload = {
        "class": cls, "params": params, "state": state, "tables": tables,
        "columns": model.column_lists(),
        "alphabet": {"name": model.alphabet_.name, "letters": model.alphabet_.letters},
    }
    if torch is not None and not all(isinstance(t, np.ndarray) for t in tensors.values()):
        tensors = {k: torch.from_numpy(np.ascontiguousarray(t)) if isinstance(t, np.ndarray) else t
                   for k, t in tensors.items()}
    return save_checkpoint(path, tensors, payload, FORMAT)


def load_msa_model(path: str | Path):
    """Load a model saved by :func:`save_msa_model`; refuses modified, corrupt or foreign
    checkpoints with :class:`CheckpointError`."""
    import pandas as pd

    from seqlens.alphabet import Alphabet

    path = Path(path)
    config, tensors = load_checkpoint(path, FORMAT, KEYS, numpy=True)  # torch is not imported
    where = path / "config.json"
    cls = _model_class(config.get("class"))
    if cls is None:
        raise CheckpointError(f"{where}: unknown model class {config.get('class')!r}")
    params, state, tables = config.get("params"), config.get("state"), config.get("tables")
    if not all(isinstance(x, dict) for x in (params, state, tables)):
        raise CheckpointError(f"{where}: 'params', 'state' and 'tables' must be JSON objects")
    unknown = sorted(set(params) - set(_init_names(cls)))
    bad_state = sorted(k for k in [*state, *tables, *tensors]
                       if not k.split(".")[0].endswith("_") or k.startswith("_"))
    if unknown or bad_state:
        raise CheckpointError(f"{where}: unknown {cls.__name__} keys {unknown + bad_state}")
    try:
        model = cls(**params)
        for k, v in state.items():
            setattr(model, k, v)
        for k, v in tables.items():
            setattr(model, k, pd.DataFrame(v))
        model.columns_ = pd.DataFrame(config["columns"])
        model.alphabet_ = Alphabet(config["alphabet"]["name"], config["alphabet"]["letters"])
        modules = {}
        for k, t in tensors.items():
            if "." in k:
                head, rest = k.split(".", 1)
                modules.setdefault(head, {})[rest] = t
            else:
                setattr(model, k, t)
        if "net_" in modules:  # the VAE
            import torch

            net = model._build(len(model.columns_), int(state["q_"]))
            net.load_state_dict({k: torch.from_numpy(v) for k, v in modules["net_"].items()})
            net.eval()
            model.net_ = net
    except (TypeError, ValueError, KeyError, RuntimeError, OverflowError) as exc:
        raise CheckpointError(f"{where}: cannot rebuild {cls.__name__} ({exc})") from None
    if "loss_history_" in vars(model):
        model.loss_history_ = np.asarray(model.loss_history_)
    _check_consistent(model, where)
    return model


COLUMNS = ("column", "alignment_column", "residue", "focus_letter")


def _check_consistent(model, where: Path) -> None:
    """Refuse a rebuilt model whose parts disagree (column table, alphabet, array shapes), as a
    checkpoint edited with its hash recomputed can: score its focus sequence as a smoke test."""
    import pandas as pd

    name = type(model).__name__
    cols, letters = model.columns_, model.alphabet_.letters
    L, q = len(cols), len(letters)
    width = getattr(model, "alignment_width_", None)
    problem = None
    if list(cols.columns) != list(COLUMNS) or L == 0:
        problem = f"the column table must have the columns {list(COLUMNS)} and at least one row"
    elif not (letters.endswith("-") and len(set(letters)) == q >= 2):
        problem = f"alphabet {letters!r} must be distinct letters ending with the gap '-'"
    elif not (pd.api.types.is_integer_dtype(cols["alignment_column"])
              and cols["alignment_column"].min() >= 1):
        problem = "alignment columns must be integers >= 1"
    elif width is not None and not (isinstance(width, int)
                                    and width >= cols["alignment_column"].max()):
        problem = f"alignment_width_ {width!r} is below its largest alignment column"
    elif hasattr(model, "h_") and hasattr(model, "J_"):
        Q = model.h_.shape[-1] if model.h_.ndim == 2 else -1
        if model.h_.shape != (L, Q) or model.J_.shape != (L, Q, L, Q) or Q not in (q - 1, q):
            problem = (f"fields {model.h_.shape} / couplings {model.J_.shape} do not fit {L} "
                       f"columns of {q} letters")
    if problem is None and hasattr(model, "_score_codes"):
        focus = "".join(map(str, cols["focus_letter"])).replace(".", "-")
        try:
            score = model.score([focus])
            if not np.isfinite(score).all():
                problem = "scoring its focus sequence gives a non-finite value"
        except (SeqlensError, ValueError, TypeError, IndexError, KeyError, RuntimeError) as exc:
            problem = f"scoring its focus sequence fails: {exc}"
    if problem:
        raise CheckpointError(f"{where}: inconsistent {name} checkpoint: {problem}")
