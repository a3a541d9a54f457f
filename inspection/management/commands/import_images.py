from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inspection.errors import ServiceError
from inspection.models import Image, Product
from inspection.services.products import product_create
from inspection.services.uploads import image_import_directory


class Command(BaseCommand):
    help = (
        "Import a folder of images into a product. A folder in MVTec layout (train/good, test/good, "
        "test/<defect>, ground_truth/<defect>/<stem>_mask.png) gets labels, splits, defect types and masks "
        "from its folders; any other folder imports every image with --label and --split."
    )

    def add_arguments(self, parser):
        parser.add_argument("product", help="product name (or id)")
        parser.add_argument("directory", type=Path)
        parser.add_argument("--create", action="store_true", help="create the product if it does not exist")
        parser.add_argument("--label", default=Image.Label.UNKNOWN, choices=Image.Label.values)
        parser.add_argument("--split", default=Image.Split.TRAIN, choices=Image.Split.values)

    def handle(self, *args, product, directory, create, label, split, **options):
        found = Product.objects.filter(name=product).first()
        if found is None and product.isdigit():
            found = Product.objects.filter(pk=int(product)).first()
        try:
            if found is None:
                if not create:
                    raise CommandError(f"No product named {product!r}; pass --create to create it.")
                found = product_create(name=product)
            report = image_import_directory(product=found, directory=directory, label=label, split=split)
        except ServiceError as error:
            raise CommandError(error.message) from None
        for entry in report.invalid:
            self.stderr.write(f"invalid: {entry['name']}: {entry['reason']}")
        for entry in report.duplicates:
            self.stdout.write(f"duplicate: {entry['name']} (already stored as image {entry['existing_image_id']})")
        for entry in report.skipped:
            self.stdout.write(f"skipped: {entry['name']}: {entry['reason']}")
        self.stdout.write(
            f"{found.name}: {len(report.created)} images stored, {len(report.duplicates)} duplicates, "
            f"{len(report.invalid)} invalid, {len(report.skipped)} skipped."
        )
        if report.job is not None:
            self.stdout.write(f"Registration job {report.job.pk} queued.")
