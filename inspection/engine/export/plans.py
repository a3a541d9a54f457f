"""What each method puts into an export: ONNX graphs, arrays and the scoring settings the runtime reads.

The keys written here are the ones ``inspection.runtime.scorers`` reads; the
two are kept side by side so that a change to a method's scoring pass is
made in both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .graphs import convert, convert_keras


@dataclass
class ExportPlan:
    scoring: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    graphs: dict[str, bytes] = field(default_factory=dict)


def network_precision(detector) -> str:
    """The number format the detector's backbone computes in: as fitted; float32 for methods without the setting."""
    return detector.__dict__.get("precision_", "float32")


# bfloat16 models of these methods are refused: the runtime computes each operation in float32 between
# bfloat16 casts, exactly as far as the rounding goes, but it adds a convolution's products in another
# order than TensorFlow's oneDNN kernels, so about 1 value in 10,000 rounds the other way; through
# the backbone and the k-NN distances that moves scores further than an archive may differ from the
# platform (1e-3 relative). The largest relative score difference measured (scripts/benchmark_runtime.py,
# docs/benchmarks.md):
BFLOAT16_EXPORT_REFUSED = {
    "cpcae-knn": "4.3e-3 with Xception at 256 px",
    "deep-feature": "6.2e-2 with Xception at 256 px",
    "patch-knn": "2.2e-1 with EfficientNet-Lite0 at 256 px",
}


def plan_for(detector, *, allow_inexact_bfloat16: bool = False) -> ExportPlan:
    """``allow_inexact_bfloat16``: write a refused bfloat16 model anyway, to measure how far its
    archive's scores depart from the engine's (scripts/benchmark_runtime.py); never for a product."""
    try:
        planner = _PLANNERS[detector.name]
    except KeyError:
        raise ValueError(f"the method {detector.name!r} cannot be exported yet") from None
    refused = detector.name in BFLOAT16_EXPORT_REFUSED and not allow_inexact_bfloat16
    if network_precision(detector) == "bfloat16" and refused:
        raise ValueError(
            f"this {detector.name} model runs its backbone in bfloat16; ONNX Runtime rounds bfloat16 "
            "convolutions differently often enough that the archive's scores would differ from the platform's "
            f"by more than 1e-3 relative (up to {BFLOAT16_EXPORT_REFUSED[detector.name]}); "
            "train a version with precision=float32 to export it"
        )
    return planner(detector)


def _cpcae(plan: ExportPlan, autoencoder) -> None:
    patch_size, channels = int(autoencoder.patch_size), int(autoencoder.image_shape_[2])
    plan.scoring["cpcae"] = {"downsized_shape": list(autoencoder.downsized_shape_), "patch_size": patch_size}
    plan.arrays["cpcae.positions"] = np.asarray(autoencoder.positions_, dtype=np.int64).reshape(-1, 2)
    plan.graphs["cpcae"] = convert_keras(
        autoencoder.network_,
        [("patches", [None, patch_size, patch_size, channels]), ("conditions", [None, 1])],
    )


def _knn(plan: ExportPlan, knn, prefix: str = "knn.") -> None:
    plan.scoring["knn"] = {"n_neighbors": int(knn.n_neighbors_)}
    plan.arrays[f"{prefix}scaler_mean"] = knn.scaler_mean_
    plan.arrays[f"{prefix}scaler_scale"] = knn.scaler_scale_
    plan.arrays[f"{prefix}train_embeddings"] = knn.train_embeddings_


def _autoencoder_l2(detector) -> ExportPlan:
    plan = ExportPlan(scoring={})
    _cpcae(plan, detector.autoencoder_)
    return plan


def _cpcae_knn(detector) -> ExportPlan:
    from ..features.map_embedding import compiled_forward
    from ..methods.cpcae_knn import NORMALISED_MAP_GAIN

    plan = ExportPlan(scoring={"map_gain": NORMALISED_MAP_GAIN})
    _cpcae(plan, detector.autoencoder_)
    _knn(plan, detector.knn_)
    if detector.residual_scale_ is not None:
        plan.arrays["residual_scale"] = np.asarray(detector.residual_scale_, dtype=np.float32)
    height, width = detector.autoencoder_.image_shape_[:2]
    precision = network_precision(detector)
    forward = compiled_forward(
        detector.backbone, detector.weights, "paper-pooling", grid=detector.pooling_grid, precision=precision
    )
    plan.graphs["embedding"] = convert(forward, [("maps", [None, height, width, 3])], precision=precision)
    return plan


def _deep_feature(detector) -> ExportPlan:
    from ..features.map_embedding import compiled_forward

    plan = ExportPlan(scoring={})
    _knn(plan, detector.knn_)
    plan.arrays["feature_mean"] = detector.feature_mean_
    height, width = detector.image_shape_[:2]
    precision = network_precision(detector)
    forward = compiled_forward(detector.backbone, detector.weights, "max-pooling-and-features", precision=precision)
    plan.graphs["features"] = convert(forward, [("images", [None, height, width, 3])], precision=precision)
    return plan


def _variation(detector) -> ExportPlan:
    return ExportPlan(
        scoring={"std_floor": float(detector.std_floor_)}, arrays={"mean": detector.mean_, "std": detector.std_}
    )


def _nearest_image(detector) -> ExportPlan:
    return ExportPlan(
        scoring={"working_shape": list(detector.working_shape_)},
        arrays={"training_images": detector.training_images_},
    )


def _patch_knn(detector) -> ExportPlan:
    plan = ExportPlan(scoring={"passes": []})
    passes = [detector] + ([detector.fine_pass_] if detector.__dict__.get("fine_pass_") is not None else [])
    for index, one_pass in enumerate(passes):
        graph, prefix = f"patch_features_{index}", f"pass{index}."
        height, width = one_pass.input_shape_
        plan.graphs[graph] = convert(
            one_pass._extractor()._extract,
            [("images", [None, height, width, 3])],
            precision=network_precision(one_pass),
        )
        plan.arrays[f"{prefix}memory_bank"] = one_pass.memory_bank_
        plan.arrays[f"{prefix}training_descriptors"] = one_pass.training_descriptors_
        plan.scoring["passes"].append(
            {
                "graph": graph,
                "prefix": prefix,
                "input_shape": [height, width],
                "smoothing_sigma": float(one_pass.smoothing_sigma or 0.0),
                "score_top_fraction": float(one_pass.score_top_fraction),
            }
        )
    if len(passes) > 1:
        plan.scoring["score_normalisation"] = [list(scale) for scale in detector.score_normalisation_]
    return plan


_PLANNERS = {
    "ae-l2": _autoencoder_l2,
    "cpcae-knn": _cpcae_knn,
    "deep-feature": _deep_feature,
    "variation": _variation,
    "nearest-image": _nearest_image,
    "patch-knn": _patch_knn,
}
