"""manage.py commands: import_images, seed_demo, ensure_admin and reap_jobs."""

from datetime import timedelta
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from inspection.models import Image, Job, Product
from tests.platform.factories import JobFactory, ProductFactory
from tests.synthetic_images import distinct_part_pngs, png_bytes


def run(*arguments) -> str:
    output = StringIO()
    call_command(*arguments, stdout=output, stderr=output)
    return output.getvalue()


@pytest.fixture
def mvtec_folder(tmp_path) -> Path:
    pictures = iter(distinct_part_pngs(6))
    files = {
        "train/good/000.png": next(pictures),
        "train/good/001.png": next(pictures),
        "test/good/000.png": next(pictures),
        "test/crack/000.png": next(pictures),
        "test/crack/001.png": next(pictures),
        "test/hole/000.png": next(pictures),
        "ground_truth/crack/000_mask.png": png_bytes(np.full((128, 128), 255, np.uint8)),
        "readme.txt": b"a data set",
        "test/hole/broken.png": b"not really a png",
    }
    for name, data in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return tmp_path


def test_import_images_reads_a_folder_in_mvtec_layout(db, mvtec_folder):
    output = run("import_images", "Widget", str(mvtec_folder), "--create")
    product = Product.objects.get(name="Widget")
    stored = set(product.images.values_list("original_name", "label", "split", "defect_type"))
    assert stored == {
        ("train/good/000.png", "normal", "train", ""),
        ("train/good/001.png", "normal", "train", ""),
        ("test/good/000.png", "normal", "test", ""),
        ("test/crack/000.png", "defective", "test", "crack"),
        ("test/crack/001.png", "defective", "test", "crack"),
        ("test/hole/000.png", "defective", "test", "hole"),
    }
    assert list(product.images.exclude(mask_file="").values_list("original_name", flat=True)) == ["test/crack/000.png"]
    assert "invalid: test/hole/broken.png: not an image file" in output
    assert "skipped: readme.txt" in output
    assert "Widget: 6 images stored, 0 duplicates, 1 invalid, 1 skipped." in output


def test_importing_the_same_folder_again_stores_nothing_twice(db, mvtec_folder):
    run("import_images", "Widget", str(mvtec_folder), "--create")
    output = run("import_images", "Widget", str(mvtec_folder))
    assert "Widget: 0 images stored, 6 duplicates" in output
    assert Image.objects.count() == 6


def test_import_images_takes_a_plain_folder_with_the_given_label_and_split(db, tmp_path):
    for index, data in enumerate(distinct_part_pngs(2)):
        (tmp_path / f"shot_{index}.png").write_bytes(data)
    product = ProductFactory(name="Bracket")
    run("import_images", "Bracket", str(tmp_path), "--label", "normal", "--split", "validation")
    assert set(product.images.values_list("label", "split")) == {("normal", "validation")}


def test_import_images_refuses_an_unknown_product_or_a_missing_folder(db, tmp_path):
    with pytest.raises(CommandError, match="No product named 'Nothing'; pass --create"):
        run("import_images", "Nothing", str(tmp_path))
    ProductFactory(name="Bracket")
    with pytest.raises(CommandError, match="is not a folder"):
        run("import_images", "Bracket", str(tmp_path / "missing"))


def test_import_images_queues_registration_when_the_product_has_a_reference(db, mvtec_folder):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from inspection.services.products import product_set_reference_image

    product = ProductFactory(name="Widget")
    product_set_reference_image(
        product=product, file=SimpleUploadedFile("ref.png", (mvtec_folder / "train/good/000.png").read_bytes())
    )
    Job.objects.update(status=Job.Status.SUCCEEDED)
    output = run("import_images", "Widget", str(mvtec_folder))
    assert "Registration job" in output
    assert Job.objects.filter(status=Job.Status.QUEUED).count() == 1


def test_seed_demo_creates_a_product_from_synthetic_zipper_cursors_and_queues_alignment(db):
    output = run("seed_demo", "--train", "3", "--test-good", "1", "--test-defective", "2", "--size", "96")
    product = Product.objects.get(name="Zipper cursor (demo)")
    assert product.images.count() == 6
    assert product.images.filter(label="defective").exclude(mask_file="").count() == 2
    assert product.reference_image
    assert Job.objects.get().status == Job.Status.QUEUED
    assert "alignment job" in output
    again = run("seed_demo")
    assert "already has 6 images; nothing to do" in again
    assert Image.objects.count() == 6


def test_ensure_admin_creates_the_administrator_once_and_shows_the_same_password_again(db, settings):
    first = run("ensure_admin")
    password = first.strip().rsplit(" ", 1)[1]
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)
    assert run("ensure_admin").strip() == f"Administrator 'admin', password: {password}"
    assert (Path(settings.VAR_DIR) / "admin_password").stat().st_mode & 0o077 == 0
    admin.set_password("changed by the administrator")
    admin.save()
    assert "its password was changed" in run("ensure_admin")
    assert get_user_model().objects.count() == 1


def test_reap_jobs_marks_stale_running_jobs_failed(db):
    JobFactory(status=Job.Status.RUNNING, heartbeat_at=timezone.now() - timedelta(days=1))
    assert "1 stale job(s) marked as failed." in run("reap_jobs")
    assert Job.objects.get().status == Job.Status.FAILED
