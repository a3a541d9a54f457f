"""Registry of the engine's anomaly-detection methods, selectable by name.

Imports are lazy so that choosing a light method does not pay for TensorFlow.
"""

from __future__ import annotations

import importlib

from ..base import AnomalyDetector

# name -> "module:ClassName", relative to this package
_REGISTRY = {
    "cpcae-knn": "cpcae_knn:CPCAEKNNDetector",
    "ae-l2": "cpcae_knn:AutoencoderL2Detector",
    "deep-feature": "deep_feature:DeepFeatureDetector",
    "variation": "variation:VariationModelDetector",
    "nn": "nearest_image:NearestImageDetector",
    "patch-knn": "patch_knn:PatchKNNDetector",
}

METHOD_NAMES = tuple(_REGISTRY)


def method_class(name: str) -> type[AnomalyDetector]:
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(METHOD_NAMES)}") from None
    module_name, class_name = target.split(":")
    module = importlib.import_module(f"{__name__}.{module_name}")
    return getattr(module, class_name)


def create_method(name: str, **params) -> AnomalyDetector:
    return method_class(name)(**params)
