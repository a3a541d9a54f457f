import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inspection.errors import ServiceError
from inspection.models import Image, Product
from inspection.services.products import product_create, product_set_reference_image
from inspection.services.uploads import image_import_directory

DEMO_NAME = "Zipper cursor (demo)"


class Command(BaseCommand):
    help = (
        "Create a demo product from synthetic zipper-cursor images (MVTec layout, made by the engine) "
        "and queue the job that aligns them. Does nothing if the demo product already has images."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", default=DEMO_NAME)
        parser.add_argument(
            "--set", type=int, default=1, choices=range(1, 7), dest="set_id", help="which of the six cursor types"
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--train", type=int, default=40, help="good training images")
        parser.add_argument("--test-good", type=int, default=10)
        parser.add_argument("--test-defective", type=int, default=10)
        parser.add_argument("--size", type=int, default=256, help="image side in pixels")

    def handle(self, *args, name, set_id, seed, train, test_good, test_defective, size, **options):
        product = Product.objects.filter(name=name).first()
        if product is not None and product.images.exists():
            self.stdout.write(f"Demo product {name!r} already has {product.images.count()} images; nothing to do.")
            return
        try:
            from inspection.engine.data.synth import render_set
        except ImportError as error:
            raise CommandError(f"The engine's synthetic data generator is not available ({error}).") from None
        try:
            if product is None:
                product = product_create(
                    name=name,
                    description="Synthetic zipper cursors: learn the good ones, flag bubbles, residue, scratches and halos.",
                )
            with tempfile.TemporaryDirectory() as folder:
                render_set(
                    Path(folder),
                    set_id=set_id,
                    seed=seed,
                    n_train=train,
                    n_test_good=test_good,
                    n_test_defective=test_defective,
                    size=(size, size),
                )
                report = image_import_directory(product=product, directory=Path(folder))
            reference = (
                Image.objects.filter(product=product, label=Image.Label.NORMAL, split=Image.Split.TRAIN)
                .order_by("original_name")
                .first()
            )
            if reference is None:
                raise CommandError("The synthetic data set holds no good training image to use as reference.")
            job = product_set_reference_image(product=product, image=reference)
        except ServiceError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"Demo product {name!r}: {len(report.created)} images, {len(report.invalid)} invalid; "
            f"reference {reference.original_name}; alignment job {job.pk if job else '-'} queued."
        )
