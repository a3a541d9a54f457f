"""One scoring path: evaluation and inspection score the same pixels with the same code.

A version's evaluation score of an image and the score a live inspection of
the same file gets must be equal, or the numbers on the version page are not
what the line does. Three things made them differ, and each is settled here:

* pixels: training and evaluation read the aligned copy the registration job
  stored as an 8-bit PNG, while an inspection scored the registered image in
  floating point. An inspection now scores its registered picture as stored:
  encoded to the same 8-bit grid and decoded the way training decodes.
* model: evaluation used the detector in memory, inspections the one saved
  and loaded from the bundle; training now evaluates with the saved and
  loaded one (see services.training).
* maps: both set the map to 0 where the aligned picture showed nothing of
  its own (a warp brought it in from outside the picture); the score is
  left as the detector gives it, which the reference fill keeps within the
  spread of good parts (docs/engine.md, "Registration").
* batch composition: the networks' float32 sums change in the last digits
  with the number of images in a batch (about 3e-7 relative, measured on
  CPCAE-kNN), so every image is scored in a call of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from django.conf import settings

from inspection.engine.data.imageio import decode_image_bytes
from inspection.engine.detector import AnomalyDetector, Explanation
from inspection.engine.registration.result import without_outside_pixels
from inspection.models import Image, ModelVersion
from inspection.services.pixel_evaluation import PixelCollector


def registered_as_stored(png: bytes) -> np.ndarray:
    """The pixels of a registered picture stored as an 8-bit PNG, decoded as training decodes aligned copies."""
    return decode_image_bytes(png, "registered image")


def explain_each(detector: AnomalyDetector, images: Sequence[np.ndarray]) -> Explanation:
    """The detector's explanation of `images`, each scored alone so its score never depends on its neighbours."""
    parts = [detector.explain([image]) for image in images]
    if not parts:
        return Explanation(scores=np.zeros(0), maps=np.zeros((0, 0, 0), np.float32))

    def joined(name: str):
        values = [getattr(part, name) for part in parts]
        return None if any(value is None for value in values) else np.concatenate(values)

    return Explanation(
        scores=joined("scores"),
        maps=joined("maps"),
        reconstructions=joined("reconstructions"),
        nearest_indices=joined("nearest_indices"),
    )


def evaluation_scores_compute(*, detector: AnomalyDetector, rows, images, valid_masks, check, version: ModelVersion):
    """(scores, normal images' map peaks, pixel collector) of a version's evaluation images.

    `rows` are the evaluation snapshot rows, `images` their aligned pixels and
    `valid_masks` where those show the picture's own pixels (None: all);
    `check(stage, fraction, message)` reports progress and stops a cancelled training.
    """
    scores: list[float] = []
    normal_map_peaks: list[float] = []
    # The maps are at hand only now: the pixel evaluation takes what it needs from each chunk.
    pixels = PixelCollector(version=version, rows=rows)
    chunk = settings.INSPECTION_BATCH_CHUNK
    for start in range(0, len(images), chunk):
        check("evaluate", start / len(images), f"Scored {start} of {len(images)} evaluation images.")
        explanation = explain_each(detector, images[start : start + chunk])
        scores += [float(value) for value in explanation.scores]
        maps = [
            without_outside_pixels(anomaly_map, valid_mask)
            for anomaly_map, valid_mask in zip(explanation.maps, valid_masks[start : start + chunk])
        ]
        for row, anomaly_map, score in zip(rows[start : start + chunk], maps, explanation.scores):
            pixels.add(row, anomaly_map, float(score))
        normal_map_peaks += [
            float(np.max(anomaly_map))
            for anomaly_map, row in zip(maps, rows[start : start + chunk])
            if row.label == Image.Label.NORMAL
        ]
    return scores, normal_map_peaks, pixels
