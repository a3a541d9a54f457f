"""The engine's anomaly-detection methods, one module each, selectable by name.

``cpcae_knn`` (the paper's pipeline and its autoencoder baseline),
``patch_knn`` (a memory bank of patch features), ``deep_feature``,
``variation`` and ``nearest_image``. This registry maps names to classes and
is the one place that resolves former names (``nn``), so that command lines,
API requests, stored bundles and saved versions written under an old name
keep working. Imports are lazy so that choosing a light method does not pay
for TensorFlow.
"""

from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # scikit-learn, which the detector base class needs, stays out of light imports
    from ..detector import AnomalyDetector

# name -> "module:ClassName", relative to this package
_REGISTRY = {
    "cpcae-knn": "cpcae_knn:CPCAEKNNDetector",
    "ae-l2": "cpcae_knn:AutoencoderL2Detector",
    "deep-feature": "deep_feature:DeepFeatureDetector",
    "variation": "variation:VariationModelDetector",
    "nearest-image": "nearest_image:NearestImageDetector",
    "patch-knn": "patch_knn:PatchKNNDetector",
}

METHOD_NAMES = tuple(_REGISTRY)

# former name -> current name; still accepted wherever a method is named.
METHOD_ALIASES = {"nn": "nearest-image"}


def canonical_method_name(name: str) -> str:
    """The current name of a method given by its current or a former name (other names unchanged)."""
    return METHOD_ALIASES.get(name, name)


def method_class(name: str) -> type[AnomalyDetector]:
    try:
        target = _REGISTRY[canonical_method_name(name)]
    except (KeyError, TypeError):
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(METHOD_NAMES)}") from None
    module_name, class_name = target.split(":")
    module = importlib.import_module(f"{__name__}.{module_name}")
    return getattr(module, class_name)


def accepted_parameters(name: str) -> set[str]:
    """Hyper-parameter names the method takes: its constructor's keyword arguments (scikit-learn's contract)."""
    return set(inspect.signature(method_class(name)).parameters)


def create_method(name: str, **params) -> AnomalyDetector:
    unknown = set(params) - accepted_parameters(name)
    if unknown:
        raise ValueError(f"method {name!r} takes no parameter(s) {', '.join(sorted(unknown))}")
    return method_class(name)(**params)
