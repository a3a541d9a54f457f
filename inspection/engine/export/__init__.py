"""Export a model bundle as a self-contained archive for ``inspection.runtime`` (ONNX Runtime, no TensorFlow).

``python -m inspection.engine export BUNDLE OUT`` writes the archive described
in :mod:`inspection.runtime.archive`: the method's networks as ONNX graphs
(tf2onnx), its learned arrays, the registration reference and settings, the
operating point in force and a metadata file with checksums. The runtime
reproduces the engine's scores within 1e-3 relative (tests/engine/test_export.py).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import ENGINE_VERSION


def export_bundle(
    bundle_path: str | os.PathLike, out_path: str | os.PathLike, *, operating_point: dict[str, float] | None = None
) -> Path:
    """Write the archive of the bundle at ``bundle_path`` to ``out_path``; return it.

    ``operating_point``: ``{"threshold": t}`` or ``{"band_lower": l, "band_upper": u}``
    (the platform passes the version's one in force); by default the bundle's
    own threshold, if it has one.
    """
    from ..bundle import load_bundle

    bundle = load_bundle(bundle_path)
    if operating_point is None and bundle.thresholds.get("threshold") is not None:
        operating_point = {"threshold": bundle.thresholds["threshold"]}
    return export_model(
        out_path,
        detector=bundle.detector,
        image_shape=bundle.image_shape,
        registration=bundle.registration,
        reference=bundle.reference,
        operating_point=operating_point,
    )


def checked_operating_point(operating_point: dict[str, Any] | None) -> dict[str, float] | None:
    """A single threshold or a review band [lower, upper), as numbers; None when there is none."""
    if not operating_point:
        return None
    if operating_point.get("threshold") is not None:
        return {"threshold": float(operating_point["threshold"])}
    lower, upper = operating_point.get("band_lower"), operating_point.get("band_upper")
    if lower is None or upper is None or float(lower) > float(upper):
        raise ValueError(f"an operating point is a threshold or a band with lower <= upper, not {operating_point!r}")
    return {"band_lower": float(lower), "band_upper": float(upper)}


def export_model(
    out_path,
    *,
    detector,
    image_shape,
    registration: dict[str, Any] | None = None,
    reference=None,
    operating_point: dict[str, Any] | None = None,
    allow_inexact_bfloat16: bool = False,
) -> Path:
    """Write the archive of a fitted ``detector`` and its registration context.

    ``allow_inexact_bfloat16``: see :func:`.plans.plan_for` (for measurements only).
    """
    from inspection.runtime.archive import write_archive

    from .plans import network_precision, plan_for

    plan = plan_for(detector, allow_inexact_bfloat16=allow_inexact_bfloat16)
    metadata = {
        "engine_version": ENGINE_VERSION,
        "created_at": datetime.now(UTC).isoformat(),
        "method": detector.name,
        # The runtime computes bfloat16 networks with float32 arithmetic between bfloat16 casts (export.bfloat16).
        "precision": network_precision(detector),
        "image_shape": [int(side) for side in image_shape],
        "registration": registration or {},
        "operating_point": checked_operating_point(operating_point),
        "graphs": sorted(plan.graphs),
        "scoring": plan.scoring,
    }
    return write_archive(out_path, metadata=metadata, arrays=plan.arrays, graphs=plan.graphs, reference=reference)
