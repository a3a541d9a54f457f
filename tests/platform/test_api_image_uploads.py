"""POST /api/products/{id}/images/: many files, zip archives, MVTec layout, and every kind of bad input.

Policy under test: valid images are stored and invalid ones reported by name;
a problem with an archive as a whole refuses the entire request.
"""

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inspection.models import Image, Job
from tests.platform.factories import ProductFactory
from tests.synthetic_images import distinct_part_pngs, part_png, zip_bytes


@pytest.fixture
def product(db):
    return ProductFactory()


def upload(api_client, product, *files, **fields):
    return api_client.post(f"/api/products/{product.pk}/images/", {"files": list(files), **fields}, format="multipart")


def files_in(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


@pytest.fixture
def nothing_changes(product, private_media):
    """Asserts after the test that no image row and no stored file was added."""
    images_before, files_before = Image.objects.count(), files_in(private_media)
    yield
    assert Image.objects.count() == images_before
    assert files_in(private_media) == files_before


def test_many_images_in_one_request_are_all_stored_with_the_given_label_and_split(
    api_client, product, private_media, user
):
    pictures = distinct_part_pngs(3)
    response = upload(
        api_client, product, *[SimpleUploadedFile(f"good_{i}.png", data) for i, data in enumerate(pictures)],
        label="normal", split="validation",
    )  # fmt: skip
    assert response.status_code == 201
    assert response.data["created_count"] == 3
    assert response.data["job"] is None  # no reference image yet, nothing to align to
    images = Image.objects.order_by("original_name")
    assert [image.original_name for image in images] == ["good_0.png", "good_1.png", "good_2.png"]
    assert {(image.label, image.split, image.width, image.height, image.uploaded_by) for image in images} == {
        ("normal", "validation", 128, 128, user)
    }
    assert all((private_media / image.file.name).read_bytes() == data for image, data in zip(images, pictures))


def test_uploading_to_a_product_with_a_reference_image_queues_a_registration_job(api_client, product):
    api_client.post(
        f"/api/products/{product.pk}/reference-image/",
        {"file": SimpleUploadedFile("ref.png", part_png())},
        format="multipart",
    )
    Job.objects.update(status=Job.Status.SUCCEEDED)
    response = upload(api_client, product, SimpleUploadedFile("new.png", part_png(shift=(2, 1))))
    assert response.status_code == 201
    assert response.data["job"]["status"] == "queued"
    assert Image.objects.get().registration_status == "pending"


def test_a_file_that_is_not_an_image_is_refused_with_its_name_and_reason(api_client, product, nothing_changes):
    response = upload(api_client, product, SimpleUploadedFile("notes.png", b"shopping list: bolts, nuts"))
    assert response.status_code == 400
    assert response.data["invalid"] == [{"name": "notes.png", "reason": "not an image file (format not recognised)"}]
    assert response.data["detail"].startswith("No image was stored")


def test_a_truncated_image_is_refused(api_client, product, nothing_changes):
    response = upload(api_client, product, SimpleUploadedFile("cut.png", part_png()[:-400]))
    assert response.status_code == 400
    assert "truncated" in response.data["invalid"][0]["reason"]


def test_an_image_with_more_pixels_than_allowed_is_refused(api_client, product, settings, nothing_changes):
    settings.IMAGE_MAX_PIXELS = 100 * 100
    response = upload(api_client, product, SimpleUploadedFile("big.png", part_png(size=128)))
    assert response.status_code == 400
    assert "128x128 pixels, more than the 10000 allowed" in response.data["invalid"][0]["reason"]


def test_of_200_images_the_valid_ones_are_stored_and_the_invalid_ones_reported_by_name(api_client, product):
    pictures = distinct_part_pngs(197, size=32)
    files = [SimpleUploadedFile(f"part_{index:03d}.png", data) for index, data in enumerate(pictures)]
    files += [
        SimpleUploadedFile("readme.txt", b"not an image"),
        SimpleUploadedFile("cut.png", pictures[0][:-60]),
        SimpleUploadedFile("empty.png", b""),
    ]
    response = upload(api_client, product, *files)
    assert response.status_code == 201
    assert response.data["created_count"] == 197
    assert Image.objects.filter(product=product).count() == 197
    assert sorted(entry["name"] for entry in response.data["invalid"]) == ["cut.png", "empty.png", "readme.txt"]
    assert response.data["detail"] == "197 stored, 0 duplicates, 3 invalid, 0 skipped."


def test_an_image_already_stored_for_the_product_is_reported_as_duplicate_not_stored_again(
    api_client, product, private_media
):
    first = upload(api_client, product, SimpleUploadedFile("a.png", part_png()))
    files_before = files_in(private_media)
    again = upload(api_client, product, SimpleUploadedFile("a_copy.png", part_png()))
    assert again.status_code == 409
    assert again.data["duplicates"] == [{"name": "a_copy.png", "existing_image_id": first.data["created"][0]["id"]}]
    assert Image.objects.count() == 1
    assert files_in(private_media) == files_before


def test_the_same_image_twice_in_one_request_is_stored_once(api_client, product):
    response = upload(
        api_client, product, SimpleUploadedFile("a.png", part_png()), SimpleUploadedFile("b.png", part_png())
    )
    assert response.status_code == 201
    assert (response.data["created_count"], len(response.data["duplicates"])) == (1, 1)


def test_the_same_image_may_belong_to_two_products(api_client, product):
    other = ProductFactory()
    assert upload(api_client, product, SimpleUploadedFile("a.png", part_png())).status_code == 201
    assert upload(api_client, other, SimpleUploadedFile("a.png", part_png())).status_code == 201


def test_a_request_without_files_is_refused(api_client, product, nothing_changes):
    response = api_client.post(f"/api/products/{product.pk}/images/", {"label": "normal"}, format="multipart")
    assert response.status_code == 400
    assert "files" in response.data


def test_a_defect_type_on_a_normal_image_is_refused(api_client, product, nothing_changes):
    response = upload(
        api_client, product, SimpleUploadedFile("a.png", part_png()), label="normal", defect_type="scratch"
    )
    assert response.status_code == 400
    assert "only be given together with label=defective" in response.data["detail"]


def test_a_request_larger_than_the_upload_limit_is_refused_with_413(api_client, product, settings, nothing_changes):
    settings.UPLOAD_MAX_REQUEST_BYTES = 10_000
    response = upload(
        api_client, product, *[SimpleUploadedFile(f"{i}.png", d) for i, d in enumerate(distinct_part_pngs(3))]
    )
    assert response.status_code == 413
    assert "UPLOAD_MAX_REQUEST_BYTES" in response.json()["detail"]


def test_more_files_than_allowed_in_one_request_are_refused(api_client, product, settings, nothing_changes):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    response = upload(
        api_client, product, *[SimpleUploadedFile(f"{i}.png", d) for i, d in enumerate(distinct_part_pngs(3))]
    )
    assert response.status_code == 400
    assert "Too many files" in response.data["detail"]


def test_a_flat_zip_archive_stores_its_images_with_the_given_label(api_client, product):
    pictures = distinct_part_pngs(2)
    archive = zip_bytes({"batch/one.png": pictures[0], "batch/two.png": pictures[1], "__MACOSX/._one.png": b"x"})
    response = upload(
        api_client,
        product,
        SimpleUploadedFile("batch.zip", archive),
        label="defective",
        split="test",
        defect_type="dent",
    )
    assert response.status_code == 201
    assert sorted(Image.objects.values_list("original_name", "label", "split", "defect_type")) == [
        ("batch.zip/batch/one.png", "defective", "test", "dent"),
        ("batch.zip/batch/two.png", "defective", "test", "dent"),
    ]
    assert [entry["reason"] for entry in response.data["skipped"]] == ["file added by an archiving tool"]


def mvtec_archive(pictures: list[bytes], mask: bytes) -> bytes:
    return zip_bytes({
        "zipper/license.txt": b"CC BY-NC-SA",
        "zipper/train/good/000.png": pictures[0],
        "zipper/train/good/001.png": pictures[1],
        "zipper/test/good/000.png": pictures[2],
        "zipper/test/broken_teeth/000.png": pictures[3],
        "zipper/test/squeezed/000.png": pictures[4],
        "zipper/ground_truth/broken_teeth/000_mask.png": mask,
    })  # fmt: skip


def test_a_zip_in_mvtec_layout_gets_labels_splits_defect_types_and_masks_from_its_folders(
    api_client, product, private_media
):
    import numpy as np

    from tests.synthetic_images import png_bytes

    mask = png_bytes(np.zeros((128, 128), np.uint8))
    response = upload(api_client, product, SimpleUploadedFile("zipper.zip", mvtec_archive(distinct_part_pngs(5), mask)))
    assert response.status_code == 201
    stored = {
        image.original_name.removeprefix("zipper.zip/zipper/"): (
            image.label,
            image.split,
            image.defect_type,
            bool(image.mask_file),
        )
        for image in Image.objects.all()
    }
    assert stored == {
        "train/good/000.png": ("normal", "train", "", False),
        "train/good/001.png": ("normal", "train", "", False),
        "test/good/000.png": ("normal", "test", "", False),
        "test/broken_teeth/000.png": ("defective", "test", "broken_teeth", True),
        "test/squeezed/000.png": ("defective", "test", "squeezed", False),
    }
    masked = Image.objects.get(defect_type="broken_teeth")
    assert (private_media / masked.mask_file.name).read_bytes() == mask
    assert response.data["skipped"] == [
        {"name": "zipper.zip/zipper/license.txt", "reason": "not part of the train/, test/ or ground_truth/ folders"}
    ]


def test_a_mask_of_the_wrong_size_is_reported_and_its_image_kept(api_client, product):
    import numpy as np

    from tests.synthetic_images import png_bytes

    archive = mvtec_archive(distinct_part_pngs(5), png_bytes(np.zeros((10, 10), np.uint8)))
    response = upload(api_client, product, SimpleUploadedFile("zipper.zip", archive))
    assert response.status_code == 201
    assert "mask is 10x10 but its image is 128x128" in response.data["invalid"][0]["reason"]
    assert not Image.objects.get(defect_type="broken_teeth").mask_file


@pytest.mark.parametrize(
    "evil_name", ["../evil.png", "good/../../evil.png", "/etc/evil.png", "C:/evil.png", "..\\evil.png"]
)
def test_a_zip_with_a_path_escaping_its_folder_is_refused_entirely(api_client, product, nothing_changes, evil_name):
    archive = zip_bytes({"fine.png": part_png(), evil_name: part_png(shift=(1, 1))})
    response = upload(api_client, product, SimpleUploadedFile("evil.zip", archive))
    assert response.status_code == 400
    assert "points outside the archive's folder" in response.data["detail"]


def test_a_zip_inside_a_zip_is_refused_entirely(api_client, product, nothing_changes):
    inner = zip_bytes({"a.png": part_png()})
    response = upload(
        api_client,
        product,
        SimpleUploadedFile("outer.zip", zip_bytes({"b.png": part_png(shift=(2, 0)), "inner.zip": inner})),
    )
    assert response.status_code == 400
    assert "nested archives are not accepted" in response.data["detail"]


def test_a_zip_renamed_to_png_inside_a_zip_is_refused_entirely(api_client, product, nothing_changes):
    inner = zip_bytes({"a.png": part_png()})
    response = upload(
        api_client,
        product,
        SimpleUploadedFile("outer.zip", zip_bytes({"b.png": part_png(shift=(2, 0)), "c.png": inner})),
    )
    assert response.status_code == 400
    assert "c.png is itself an archive" in response.data["detail"]


def test_a_zip_bomb_with_an_absurd_compression_ratio_is_refused(api_client, product, nothing_changes):
    archive = zip_bytes({"a.png": part_png(), "bomb.png": bytes(50 * 1024 * 1024)})
    assert len(archive) < 200_000
    response = upload(api_client, product, SimpleUploadedFile("bomb.zip", archive))
    assert response.status_code == 400
    assert "looks like a zip bomb" in response.data["detail"]


def test_a_zip_that_would_decompress_beyond_the_size_limit_is_refused_with_413(
    api_client, product, settings, nothing_changes
):
    pictures = distinct_part_pngs(4)
    settings.ZIP_MAX_TOTAL_BYTES = sum(len(data) for data in pictures) - 1
    archive = zip_bytes({f"{i}.png": data for i, data in enumerate(pictures)}, compression=zipfile.ZIP_STORED)
    response = upload(api_client, product, SimpleUploadedFile("big.zip", archive))
    assert response.status_code == 413
    assert f"more than {settings.ZIP_MAX_TOTAL_BYTES} bytes" in response.data["detail"]


def test_a_zip_with_more_members_than_allowed_is_refused_with_413(api_client, product, settings, nothing_changes):
    settings.ZIP_MAX_MEMBERS = 3
    archive = zip_bytes({f"{i}.png": data for i, data in enumerate(distinct_part_pngs(4, size=16))})
    response = upload(api_client, product, SimpleUploadedFile("many.zip", archive))
    assert response.status_code == 413
    assert "holds 4 entries; at most 3" in response.data["detail"]


def test_a_damaged_member_of_a_zip_is_reported_and_the_others_stored(api_client, product):
    pictures = distinct_part_pngs(2)
    archive = bytearray(zip_bytes({"good.png": pictures[0], "bad.png": pictures[1]}, compression=zipfile.ZIP_STORED))
    member = zipfile.ZipFile(io.BytesIO(bytes(archive))).getinfo("bad.png")
    data_start = member.header_offset + 30 + len(member.filename) + len(member.extra)
    archive[data_start + member.file_size // 2] ^= 0xFF  # the stored CRC no longer matches
    response = upload(api_client, product, SimpleUploadedFile("batch.zip", bytes(archive)))
    assert response.status_code == 201
    assert [image.original_name for image in Image.objects.all()] == ["batch.zip/good.png"]
    assert response.data["invalid"][0]["name"] == "batch.zip/bad.png"
    assert response.data["invalid"][0]["reason"].startswith("damaged inside the archive (Bad CRC-32")


def test_a_damaged_zip_is_refused(api_client, product, nothing_changes):
    response = upload(api_client, product, SimpleUploadedFile("broken.zip", b"PK\x03\x04 this is not really a zip"))
    assert response.status_code == 400
    assert "not a readable zip archive" in response.data["detail"]


def test_one_unsafe_archive_refuses_the_whole_request_including_plain_images(api_client, product, nothing_changes):
    response = upload(
        api_client, product,
        SimpleUploadedFile("plain.png", part_png()),
        SimpleUploadedFile("evil.zip", zip_bytes({"../x.png": part_png(shift=(1, 0))})),
    )  # fmt: skip
    assert response.status_code == 400
