"""Test data: factory_boy factories and synthetic part images made on the fly.

The part image is smooth random texture with a few bright shapes: enough
structure for the engine's alignment to lock on, so a shifted copy registers
and pure noise does not.
"""

from __future__ import annotations

import hashlib
import io
import zipfile

import factory
import numpy as np
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from PIL import Image as PillowImage

from inspection.models import Activation, DefectType, Image, Job, ModelVersion, Product, ThresholdSetting


def part_pixels(*, size: int = 128, shift: tuple[int, int] = (0, 0), seed: int = 0) -> np.ndarray:
    """A grey uint8 picture of the same part, moved by `shift` (dx, dy) pixels."""
    import cv2

    rng = np.random.default_rng(seed)
    texture = cv2.resize(rng.random((size // 8, size // 8)).astype(np.float32), (size * 2, size * 2))
    canvas = (texture * 120 + 60).astype(np.uint8)
    center = size
    cv2.circle(canvas, (center - size // 4, center - size // 5), size // 6, 230, -1)
    cv2.rectangle(canvas, (center, center), (center + size // 4, center + size // 3), 20, -1)
    dx, dy = shift
    top, left = size // 2 - dy, size // 2 - dx
    return np.ascontiguousarray(canvas[top : top + size, left : left + size])


def noise_pixels(*, size: int = 128, seed: int = 99) -> np.ndarray:
    return (np.random.default_rng(seed).random((size, size)) * 255).astype(np.uint8)


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    PillowImage.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def part_png(*, size: int = 128, shift: tuple[int, int] = (0, 0), seed: int = 0) -> bytes:
    return png_bytes(part_pixels(size=size, shift=shift, seed=seed))


def distinct_part_pngs(count: int, *, size: int = 128) -> list[bytes]:
    """`count` different pictures of the same part, each moved a little (different bytes, same part)."""
    shifts = [(dx, dy) for dy in range(-6, 7) for dx in range(-6, 7)]
    pictures = []
    for index in range(count):
        pixels = part_pixels(size=size, shift=shifts[index % len(shifts)]).copy()
        # One changed pixel keeps pictures with the same shift from being duplicates.
        pixels[0, 0] = index % 256
        pixels[0, 1] = index // 256
        pictures.append(png_bytes(pixels))
    return pictures


def zip_bytes(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda number: f"inspector{number}")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def role(user, create, extracted, **kwargs):
        """The user's role: admin unless the test names another, or `role=""` for none.

        Admin, because most tests exercise what a user does, not who may do it;
        tests/platform/test_role_table.py checks every role against every write.
        """
        from inspection.services.accounts import user_set_role

        role = "admin" if extracted is None else extracted
        if create:
            user_set_role(user=user, role=role or None)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda number: f"Product {number}")
    description = "A part on the line"
    created_by = factory.SubFactory(UserFactory)


class ImageFactory(factory.django.DjangoModelFactory):
    """A stored image; pass `content=` (PNG bytes) to choose the picture."""

    class Meta:
        model = Image
        exclude = ("content",)

    product = factory.SubFactory(ProductFactory)
    content = factory.Sequence(lambda number: part_png(shift=(number % 7 - 3, number % 5 - 2), seed=number % 3))
    original_name = factory.Sequence(lambda number: f"part_{number:03d}.png")
    checksum = factory.LazyAttribute(lambda image: hashlib.sha256(image.content).hexdigest())
    file = factory.LazyAttribute(lambda image: ContentFile(image.content, name=f"{image.checksum}.png"))
    width = 128
    height = 128
    label = Image.Label.NORMAL
    split = Image.Split.TRAIN


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    kind = Job.Kind.REGISTRATION
    product = factory.SubFactory(ProductFactory)
    status = Job.Status.QUEUED


class RegisteredImageFactory(ImageFactory):
    """An image already aligned to its product's reference: its aligned copy is the picture itself,
    cropped to `aligned_size=(width, height)` (as a region of interest would)."""

    class Meta:
        model = Image
        exclude = ("content", "aligned_size")

    aligned_size = (128, 128)
    registration_status = Image.RegistrationStatus.REGISTERED
    registration_quality = 0.99
    aligned_file = factory.LazyAttribute(
        lambda image: ContentFile(_cropped_png(image.content, image.aligned_size), name=f"{image.checksum}-aligned.png")
    )


def _cropped_png(content: bytes, size: tuple[int, int]) -> bytes:
    """The top left `size` (width, height) of a PNG, so each image's aligned copy differs like the images do."""
    with PillowImage.open(io.BytesIO(content)) as picture:
        return png_bytes(np.asarray(picture)[: size[1], : size[0]].copy())


class DefectTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DefectType

    product = factory.SubFactory(ProductFactory)
    name = factory.Sequence(lambda number: f"defect-{number}")
    color = "#e6194b"


class TrainedVersionFactory(factory.django.DjangoModelFactory):
    """A model version recorded as trained (no bundle: enough for pages and lists, not for inspecting)."""

    class Meta:
        model = ModelVersion

    product = factory.SubFactory(ProductFactory)
    number = factory.Sequence(lambda number: number + 1)
    method = "variation"
    status = ModelVersion.Status.TRAINED
    job = factory.SubFactory(JobFactory, product=factory.SelfAttribute("..product"), kind=Job.Kind.TRAINING,
                             status=Job.Status.SUCCEEDED, created_by=factory.SubFactory(UserFactory))
    created_by = factory.SubFactory(UserFactory)


class ThresholdSettingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ThresholdSetting

    version = factory.SubFactory(TrainedVersionFactory)
    product = factory.SelfAttribute("version.product")
    threshold = 0.5
    set_by = factory.SubFactory(UserFactory)


class ActivationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activation

    version = factory.SubFactory(TrainedVersionFactory)
    product = factory.SelfAttribute("version.product")
    activated_by = factory.SubFactory(UserFactory)
