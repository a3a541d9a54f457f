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
* batch composition: the networks' float32 sums change in the last digits
  with the number of images in a batch (about 3e-7 relative, measured on
  CPCAE-kNN), so every image is scored in a call of its own.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from inspection.engine.data.imageio import decode_image_bytes
from inspection.engine.detector import AnomalyDetector, Explanation


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

    return Explanation(scores=joined("scores"), maps=joined("maps"), reconstructions=joined("reconstructions"),
                       nearest_indices=joined("nearest_indices"))
