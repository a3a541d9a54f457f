"""Export a model bundle as a self-contained archive for ``inspection.runtime`` (ONNX Runtime, no TensorFlow).

``python -m inspection.engine export BUNDLE OUT`` writes the archive described
in :mod:`inspection.runtime.archive`: the method's networks as ONNX graphs
(tf2onnx), its learned arrays, the registration reference and settings, the
operating point in force and a metadata file with checksums. The runtime
reproduces the engine's scores within 1e-3 relative (tests/engine/test_export.py).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from .. import ENGINE_VERSION


def export_bundle(bundle_path: str | os.PathLike, out_path: str | os.PathLike, *,
                  threshold: Optional[float] = None) -> Path:
    """Write the archive of the bundle at ``bundle_path`` to ``out_path``; return it.

    ``threshold``: the operating point to record (the platform passes the
    version's one in force); by default the bundle's own, if it has one.
    """
    from ..bundle import load_bundle

    bundle = load_bundle(bundle_path)
    if threshold is None:
        threshold = bundle.thresholds.get("threshold")
    return export_model(
        out_path, detector=bundle.detector, image_shape=bundle.image_shape, registration=bundle.registration,
        reference=bundle.reference, threshold=threshold,
    )


def export_model(out_path, *, detector, image_shape, registration: Optional[dict[str, Any]] = None,
                 reference=None, threshold: Optional[float] = None) -> Path:
    """Write the archive of a fitted ``detector`` and its registration context."""
    from inspection.runtime.archive import write_archive

    from .plans import plan_for

    plan = plan_for(detector)
    metadata = {
        "engine_version": ENGINE_VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(),
        "method": detector.name,
        "image_shape": [int(side) for side in image_shape],
        "registration": registration or {},
        "threshold": None if threshold is None else float(threshold),
        "graphs": sorted(plan.graphs),
        "scoring": plan.scoring,
    }
    return write_archive(out_path, metadata=metadata, arrays=plan.arrays, graphs=plan.graphs, reference=reference)
