"""seqlens.models: the model zoo.

Build by name or config: ``build_model("cnn_local", activation="exponential", n_outputs=12)``;
``build_model(model.config)`` rebuilds. Save/load: ``save_model(model, folder)`` /
``load_model(folder)``. First layer: ``model.conv1``, ``model.activation1``,
``model.first_layer_activations(X, pooled=...)`` or :func:`first_layer` for any module.
Attention: ``CNNAttention.attention_maps(X) -> (N, heads, L', L')``.
Profiles: :class:`BPNet` returns ``(profile, counts)`` heads (``--loss profile`` in training);
:class:`OutputHead` makes one head a plain model.
Any model in: :func:`load_any_model` (run folder, ``file.py:make_model`` + weights, TorchScript,
``torch.export``, ONNX, Keras ``.h5``/``.keras`` converted without TensorFlow by :func:`load_keras`);
:func:`open_model` also checks input shapes and layout.
"""

from seqlens.models.attention import CNNAttention
from seqlens.models.base import (
    ZooModel,
    count_parameters,
    first_layer,
    first_layer_activations,
    resolve_device,
)
from seqlens.models.bpnet import BPNet, OutputHead, ProfileOutput
from seqlens.models.checkpoint import CheckpointError, load_model, read_checkpoint_info, save_model
from seqlens.models.cnn import CNN
from seqlens.models.keras import KerasModel, load_keras
from seqlens.models.layers import ACTIVATIONS, Exponential, get_activation
from seqlens.models.loading import LoadedModel, load_any_model, open_model
from seqlens.models.residualbind import ResidualBind
from seqlens.models.zoo import ARCHITECTURES, PRESETS, build_model, list_models, model_config

__all__ = [
    "ACTIVATIONS", "ARCHITECTURES", "BPNet", "CNN", "CNNAttention", "CheckpointError", "Exponential",
    "KerasModel", "LoadedModel", "OutputHead", "PRESETS", "ProfileOutput", "ResidualBind", "ZooModel",
    "build_model", "count_parameters",
    "first_layer", "first_layer_activations",
    "get_activation", "list_models", "load_any_model", "load_keras", "load_model", "model_config",
    "open_model", "read_checkpoint_info", "resolve_device", "save_model",
]
