"""A small synthetic product for the training / inspection / review tests.

Good parts are the factories' textured part, shifted by at most one pixel,
with sensor noise; defective ones carry a bright scratch or a blob. At 96x96
both the fast "variation" method and the paper's cpcae-knn (tiny settings)
separate them by a wide margin, so tests can assert decisions without luck.
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
from django.core.files.base import ContentFile

from inspection.models import Image, Product
from tests.platform.factories import ImageFactory, ProductFactory, part_pixels, png_bytes, zip_bytes

SIZE = 96
# Registration that accepts these parts (one-pixel shifts, large defects) and refuses noise.
REGISTRATION = {"method": "ecc", "motion": "translation", "min_coverage": 0.85, "min_quality": 0.3}
# The paper's method, small enough to train in seconds on two cores.
TINY_CPCAE = {
    "downsize_factor": 1, "patch_size": 16, "stride": 8, "latent_dim": 16, "filters": [8, 16],
    "dense_units": 32, "epochs": 2, "batch_size": 32, "n_neighbors": 2,
}
DEFECT_TYPES = ("scratch", "blob")


def good_pixels(index: int, *, size: int = SIZE) -> np.ndarray:
    rng = np.random.default_rng(1000 + index)
    shift = (0, 0) if index % 3 else (int(rng.integers(-1, 2)), 0)
    pixels = part_pixels(size=size, shift=shift).astype(np.float32) + rng.normal(0, 1, (size, size))
    return np.clip(pixels, 0, 255).astype(np.uint8)


def defective_pixels(index: int, *, size: int = SIZE) -> np.ndarray:
    pixels = good_pixels(500 + index, size=size).copy()
    rng = np.random.default_rng(index)
    x, y = (int(value) for value in rng.integers(size // 4, size * 3 // 4, 2))
    # Drawn in the colour furthest from the part around it, so every defect stands out.
    around = pixels[max(0, y - 12):y + 12, max(0, x - 12):x + 12]
    colour = 255 if around.mean() < 128 else 0
    if index % 2:
        cv2.circle(pixels, (x, y), max(3, size // 7), colour, -1)
    else:
        cv2.line(pixels, (x - size // 5, y - size // 8), (x + size // 5, y + size // 8), colour, 7)
    return pixels


def defect_type(index: int) -> str:
    return DEFECT_TYPES[index % 2]


def good_png(index: int) -> bytes:
    return png_bytes(good_pixels(index))


def defective_png(index: int) -> bytes:
    return png_bytes(defective_pixels(index))


def reference_png() -> bytes:
    return png_bytes(part_pixels(size=SIZE))


def mvtec_zip(*, train: int, test_good: int, test_defective: int, offset: int = 0) -> bytes:
    """An MVTec-layout archive: train/good, test/good and test/<defect type>."""
    members = {f"part/train/good/{index:03d}.png": good_png(offset + index) for index in range(train)}
    members.update({f"part/test/good/{index:03d}.png": good_png(offset + 200 + index) for index in range(test_good)})
    members.update({
        f"part/test/{defect_type(index)}/{index:03d}.png": defective_png(offset + index) for index in range(test_defective)
    })
    return zip_bytes(members)


def ready_product(*, train: int = 12, test_good: int = 4, test_defective: int = 4, **product_fields) -> Product:
    """A product whose images are stored as already aligned (no registration job needed)."""
    product = ProductFactory(registration_settings=REGISTRATION, **product_fields)
    reference = reference_png()
    product.reference_image.save("reference.png", ContentFile(reference), save=False)
    product.reference_checksum = hashlib.sha256(reference).hexdigest()
    product.save()
    for index in range(train):
        _aligned_image(product, good_png(index), Image.Label.NORMAL, Image.Split.TRAIN)
    for index in range(test_good):
        _aligned_image(product, good_png(200 + index), Image.Label.NORMAL, Image.Split.TEST)
    for index in range(test_defective):
        _aligned_image(product, defective_png(index), Image.Label.DEFECTIVE, Image.Split.TEST, defect_type(index))
    return product


def _aligned_image(product, content: bytes, label: str, split: str, defect: str = "") -> Image:
    return ImageFactory(
        product=product, content=content, label=label, split=split, defect_type=defect, width=SIZE, height=SIZE,
        registration_status=Image.RegistrationStatus.REGISTERED, registration_quality=1.0,
        aligned_file=ContentFile(content, name="aligned.png"),
    )


def trained_version(product: Product, method: str = "variation", **params):
    """Train a version in this process (no worker) and return it."""
    from unittest import mock

    from inspection.services.training import model_version_create, training_job_run

    # Not handed to the workers: in a test that commits (browser tests), a
    # session's worker could claim the job before this process runs it.
    with mock.patch("inspection.services.jobs.job_dispatch"):
        version = model_version_create(product=product, method=method, params=params)
    training_job_run(job_id=version.job_id, worker="here:1")
    version.refresh_from_db()
    assert version.status == "trained", version.error
    return version


def gap_threshold(version) -> float:
    """Midway between the highest normal and the lowest defective evaluation score."""
    scores = list(version.evaluation_scores.all())
    normal = max(score.score for score in scores if score.label == "normal")
    defective = min(score.score for score in scores if score.label == "defective")
    assert normal < defective, "the evaluation images are not separated"
    return (normal + defective) / 2


def activated_version(product: Product, *, user=None):
    """A trained, activated version whose threshold lies between the normal and defective scores."""
    from inspection.services.thresholds import model_version_activate, threshold_set

    version = trained_version(product)
    threshold_set(product=product, version=version, threshold=gap_threshold(version), set_by=user,
                  reason="between the normal and defective evaluation scores")
    model_version_activate(version=version, operating_point="saved", reason="first model", activated_by=user)
    product.refresh_from_db()
    return version
