"""seqlens.models: the model zoo.

Build by name or config: ``build_model("cnn_local", activation="exponential", n_outputs=12)``;
``build_model(model.config)`` rebuilds. Save/load: ``save_model(model, folder)`` /
``load_model(folder)``. First layer: ``model.conv1``, ``model.activation1``,
``model.first_layer_activations(X, pooled=...)`` or :func:`first_layer` for any module.
Attention: ``CNNAttention.attention_maps(X) -> (N, heads, L', L')``.
"""

from seqlens.models.attention import CNNAttention
from seqlens.models.base import (
    ZooModel,
    count_parameters,
    first_layer,
    first_layer_activations,
    resolve_device,
)
from seqlens.models.checkpoint import CheckpointError, load_model, read_checkpoint_info, save_model
from seqlens.models.cnn import CNN
from seqlens.models.layers import ACTIVATIONS, Exponential, get_activation
from seqlens.models.residualbind import ResidualBind
from seqlens.models.zoo import ARCHITECTURES, PRESETS, build_model, list_models, model_config

__all__ = [
    "ACTIVATIONS", "ARCHITECTURES", "CNN", "CNNAttention", "CheckpointError", "Exponential",
    "PRESETS", "ResidualBind", "ZooModel", "build_model", "count_parameters", "first_layer",
    "first_layer_activations",
    "get_activation", "list_models", "load_model", "model_config", "read_checkpoint_info",
    "resolve_device", "save_model",
]
