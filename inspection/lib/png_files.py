"""PNG bytes of the pictures the platform stores beside an image: registered pictures, reconstructions, anomaly maps.

On the synchronous inspection path they are written with Huffman-only
coding: twice as fast as level-1 deflate for about the same size on 16-bit
anomaly maps (1024 x 1024: 36 against 78 ms). Registration, a background job
that keeps an aligned copy of every picture of a data set, asks for
``compact`` files instead (deflate level 6): Huffman-only files of the shared
sets' pictures are 1.1 times (circuitboard photos) to 1.8 times (smooth
magnetic tiles) larger. Both are lossless, so a picture decodes to the same
pixels whichever way it was stored.
"""

from __future__ import annotations

import math

import numpy as np

from inspection.engine.data.imageio import to_uint8
from inspection.engine.errors import EngineError

_COMPACT_LEVEL = 6  # zlib's default level, as Pillow writes PNGs


def image_png(pixels: np.ndarray, *, compact: bool = False) -> bytes:
    """8-bit grey or RGB PNG of an image (any dtype the engine returns; values as ``to_uint8`` reads them).

    `compact`: smaller and slower (for files kept in bulk, written off the inspection path).
    """
    import cv2

    array = to_uint8(pixels)
    if array.ndim == 3 and array.shape[2] == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    elif array.ndim == 3:
        array = array[:, :, 0]
    options = [cv2.IMWRITE_PNG_COMPRESSION, _COMPACT_LEVEL] if compact else _fast_options()
    ok, encoded = cv2.imencode(".png", array, options)
    if not ok:
        raise EngineError("could not encode a PNG")
    return encoded.tobytes()


def anomaly_map_png(anomaly_map: np.ndarray, scale: float) -> bytes:
    """16-bit grey PNG of a map, 0 to `scale` spread over 0 to 65535 (all 0 without a usable scale)."""
    import cv2

    if scale > 0 and math.isfinite(scale):
        levels = np.round(np.clip(anomaly_map / scale, 0.0, 1.0) * 65535.0).astype(np.uint16)
    else:
        levels = np.zeros(anomaly_map.shape, dtype=np.uint16)
    ok, encoded = cv2.imencode(".png", levels, _fast_options())
    if not ok:
        raise EngineError("could not encode the anomaly map")
    return encoded.tobytes()


def _fast_options() -> list[int]:
    import cv2

    return [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY]
