"""seqlens.train: trainer, metrics, robust training (adversarial, noise, mixup) and EvoAug.

``fit(model, train, valid, loss="bce", ...) -> FitResult``; ``evaluate``; ``predict``;
``AdversarialTraining``/``pgd``/``fgsm``; ``EvoAug`` and the single augmentations.
"""

from seqlens.train.adversarial import AdversarialTraining, fgsm, pgd
from seqlens.train.augment import (
    AUGMENTATIONS,
    EvoAug,
    RandomDeletion,
    RandomInsertion,
    RandomInversion,
    RandomMutation,
    RandomNoise,
    RandomRC,
    RandomTranslocation,
)
from seqlens.train.metrics import aupr, auroc, evaluate_predictions, pearson, spearman
from seqlens.train.state import TrainingStateError
from seqlens.train.trainer import (
    LINKS,
    FitResult,
    evaluate,
    fit,
    loss_function,
    predict,
    resolve_monitor,
)

__all__ = [
    "AUGMENTATIONS", "AdversarialTraining", "EvoAug", "FitResult", "LINKS", "RandomDeletion",
    "RandomInsertion", "RandomInversion", "RandomMutation", "RandomNoise", "RandomRC",
    "RandomTranslocation", "aupr", "auroc", "evaluate", "evaluate_predictions", "fgsm", "fit",
    "TrainingStateError", "loss_function", "pearson", "pgd", "predict", "resolve_monitor", "spearman",
]
