"""The PNG files stored beside pictures: lossless either way, and compact where they are kept in bulk."""

import io

import numpy as np
from PIL import Image as PillowImage

from inspection.lib.png_files import anomaly_map_png, image_png


def _smooth_colour_picture() -> np.ndarray:
    rows, columns = np.mgrid[0:240, 0:320]
    rng = np.random.default_rng(0)
    shading = 120 + 40 * np.sin(columns / 37.0) + 30 * np.cos(rows / 23.0) + rng.normal(0, 2, rows.shape)
    return np.clip(np.stack([shading, shading * 0.9, shading * 0.8], axis=-1), 0, 255).astype(np.uint8)


def _decoded(data: bytes) -> np.ndarray:
    return np.asarray(PillowImage.open(io.BytesIO(data)))


def test_a_picture_decodes_to_the_same_pixels_whether_stored_fast_or_compact():
    picture = _smooth_colour_picture()
    assert np.array_equal(_decoded(image_png(picture)), picture)
    assert np.array_equal(_decoded(image_png(picture, compact=True)), picture)
    grey = picture[:, :, :1]
    assert np.array_equal(_decoded(image_png(grey, compact=True)), grey[:, :, 0])


def test_compact_files_are_smaller_than_the_fast_ones_on_a_smooth_picture():
    picture = _smooth_colour_picture()
    assert len(image_png(picture, compact=True)) < 0.9 * len(image_png(picture))


def test_an_anomaly_map_is_stored_as_16_bit_levels_of_its_colour_scale():
    anomaly_map = np.array([[0.0, 0.5], [1.0, 3.0]], np.float32)
    levels = _decoded(anomaly_map_png(anomaly_map, 2.0))
    assert levels.tolist() == [[0, 16384], [32768, 65535]]
    assert _decoded(anomaly_map_png(anomaly_map, float("nan"))).max() == 0
