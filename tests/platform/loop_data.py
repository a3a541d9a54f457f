"""A small synthetic product for the training / inspection / review tests.

Its pictures come from tests.synthetic_images (good_pixels, defective_pixels).
At 96x96 both the fast "variation" method and the paper's cpcae-knn (tiny
settings) separate them by a wide margin, so tests can assert decisions
without luck.
"""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile

from inspection.models import Image, Product
from tests.platform.factories import ImageFactory, ProductFactory
from tests.synthetic_images import SIZE, defect_type, defective_png, good_png, reference_png

# Registration that accepts these parts (one-pixel shifts, large defects) and refuses noise.
REGISTRATION = {"method": "ecc", "motion": "translation", "min_coverage": 0.85, "min_quality": 0.3}
# The paper's method, small enough to train in seconds on two cores.
TINY_CPCAE = {
    "downsize_factor": 1,
    "patch_size": 16,
    "stride": 8,
    "latent_dim": 16,
    "filters": [8, 16],
    "dense_units": 32,
    "epochs": 2,
    "batch_size": 32,
    "n_neighbors": 2,
}


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
        product=product,
        content=content,
        label=label,
        split=split,
        defect_type=defect,
        width=SIZE,
        height=SIZE,
        registration_status=Image.RegistrationStatus.REGISTERED,
        registration_quality=1.0,
        aligned_file=ContentFile(content, name="aligned.png"),
    )


def trained_version(product: Product, method: str = "variation", **params):
    """Train a version in this process (no worker) and return it."""
    from unittest import mock

    from inspection.services.model_versions import model_version_create
    from inspection.services.training import training_job_run

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
    threshold_set(
        product=product,
        version=version,
        threshold=gap_threshold(version),
        set_by=user,
        reason="between the normal and defective evaluation scores",
    )
    model_version_activate(version=version, operating_point="saved", reason="first model", activated_by=user)
    product.refresh_from_db()
    return version
