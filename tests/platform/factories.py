"""Test data: factory_boy factories of the platform's models (their images come from tests.synthetic_images)."""

from __future__ import annotations

import hashlib
import io

import factory
import numpy as np
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from PIL import Image as PillowImage

from inspection.models import Activation, DefectType, Image, Job, ModelVersion, Product, ThresholdSetting
from tests.synthetic_images import part_png, png_bytes


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
    job = factory.SubFactory(
        JobFactory,
        product=factory.SelfAttribute("..product"),
        kind=Job.Kind.TRAINING,
        status=Job.Status.SUCCEEDED,
        created_by=factory.SubFactory(UserFactory),
    )
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
