"""Registry of the engine's anomaly-detection methods, selectable by name.

Imports are lazy so that choosing a light method does not pay for TensorFlow.
"""

from __future__ import annotations

import importlib
import inspect

from ..detector import AnomalyDetector

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


def accepted_parameters(name: str) -> set[str]:
    """Hyper-parameter names the method's constructor takes (through its whole class chain)."""
    names: set[str] = set()
    for klass in method_class(name).__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for parameter in inspect.signature(init).parameters.values():
            if parameter.kind is parameter.KEYWORD_ONLY or parameter.kind is parameter.POSITIONAL_OR_KEYWORD:
                names.add(parameter.name)
    names.discard("self")
    return names


def create_method(name: str, **params) -> AnomalyDetector:
    unknown = set(params) - accepted_parameters(name)
    if unknown:
        raise ValueError(f"method {name!r} takes no parameter(s) {', '.join(sorted(unknown))}")
    return method_class(name)(**params)
