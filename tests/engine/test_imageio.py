import io

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from inspection.engine.data.imageio import (
    check_minimum_size,
    decode_image_bytes,
    load_image,
    save_image,
    to_uint8,
)
from inspection.engine.errors import ImageError


def _gradient_rgb(height=40, width=60):
    rows = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    cols = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    red = np.broadcast_to(rows, (height, width))
    green = np.broadcast_to(cols, (height, width))
    blue = np.full((height, width), 60, np.float32)
    return np.stack([red, green, blue], axis=2).round().astype(np.uint8)


def _png_bytes(array, **options):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", **options)
    return buffer.getvalue()


def _jpeg_bytes(array, **options):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=95, **options)
    return buffer.getvalue()


def test_rgb_png_loads_as_float_rgb_in_unit_range(tmp_path):
    pixels = _gradient_rgb()
    path = tmp_path / "part.png"
    path.write_bytes(_png_bytes(pixels))
    image = load_image(path)
    assert image.dtype == np.float32
    assert image.shape == (40, 60, 3)
    np.testing.assert_allclose(image, pixels / 255.0, atol=1e-6)


def test_grey_png_keeps_one_channel_and_converts_on_request(tmp_path):
    grey = _gradient_rgb()[:, :, 1]
    path = tmp_path / "grey.png"
    path.write_bytes(_png_bytes(grey))
    assert load_image(path).shape == (40, 60, 1)
    rgb = load_image(path, mode="rgb")
    assert rgb.shape == (40, 60, 3)
    np.testing.assert_array_equal(rgb[:, :, 0], rgb[:, :, 2])


def test_rgb_to_gray_uses_luma_weights(tmp_path):
    pixels = _gradient_rgb()
    path = tmp_path / "part.png"
    path.write_bytes(_png_bytes(pixels))
    grey = load_image(path, mode="gray")
    expected = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY) / 255.0
    assert grey.shape == (40, 60, 1)
    np.testing.assert_allclose(grey[:, :, 0], expected, atol=1 / 255 + 1e-6)


def test_sixteen_bit_grey_png_is_scaled_by_65535(tmp_path):
    values = np.array([[0, 1000, 65535], [32768, 40000, 12345]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    assert cv2.imwrite(str(path), values)
    image = load_image(path)
    assert image.shape == (2, 3, 1)
    np.testing.assert_allclose(image[:, :, 0], values / 65535.0, atol=1e-6)


def test_sixteen_bit_colour_png_keeps_full_precision_and_rgb_order(tmp_path):
    rgb = np.zeros((4, 5, 3), np.uint16)
    rgb[..., 0] = 65535  # red
    rgb[..., 1] = 257  # a value 8-bit decoding would round away
    path = tmp_path / "deep_colour.png"
    assert cv2.imwrite(str(path), rgb[:, :, ::-1])
    image = load_image(path)
    assert image.shape == (4, 5, 3)
    np.testing.assert_allclose(image[0, 0], [1.0, 257 / 65535, 0.0], atol=1e-7)


def test_colour_palette_png_becomes_rgb(tmp_path):
    pixels = _gradient_rgb()
    palette_image = Image.fromarray(pixels).quantize(colors=16)
    path = tmp_path / "palette.png"
    palette_image.save(path)
    image = load_image(path)
    assert image.shape == (40, 60, 3)
    expected = np.asarray(palette_image.convert("RGB"), np.float32) / 255
    np.testing.assert_allclose(image, expected, atol=1e-6)


def test_grey_palette_png_stays_one_channel(tmp_path):
    grey = _gradient_rgb()[:, :, 1]
    palette_image = Image.fromarray(grey).convert("P")
    path = tmp_path / "grey_palette.png"
    palette_image.save(path)
    image = load_image(path)
    assert image.shape == (40, 60, 1)
    np.testing.assert_allclose(image[:, :, 0], grey / 255.0, atol=1e-6)


def test_alpha_is_dropped_after_compositing_on_black(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[..., 3] = [[255, 0], [128, 255]]
    path = tmp_path / "alpha.png"
    path.write_bytes(_png_bytes(rgba))
    image = load_image(path)
    assert image.shape == (2, 2, 3)
    np.testing.assert_allclose(image[0, 0], 200 / 255, atol=1e-6)
    np.testing.assert_allclose(image[0, 1], 0.0, atol=1e-6)
    np.testing.assert_allclose(image[1, 0], 200 / 255 * 128 / 255, atol=1e-6)

    grey_alpha = Image.fromarray(rgba[..., [0, 3]], mode="LA")
    grey_path = tmp_path / "grey_alpha.png"
    grey_alpha.save(grey_path)
    assert load_image(grey_path).shape == (2, 2, 1)


def test_cmyk_jpeg_is_read_as_rgb(tmp_path):
    cmyk = Image.fromarray(_gradient_rgb()).convert("CMYK")
    path = tmp_path / "cmyk.jpg"
    cmyk.save(path, quality=95)
    image = load_image(path)
    assert image.shape == (40, 60, 3)
    assert 0.0 <= image.min() and image.max() <= 1.0


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow(tmp_path, orientation):
    pixels = _gradient_rgb(20, 30)
    pixels[2:6, 3:9] = [255, 0, 0]  # an asymmetric mark
    picture = Image.fromarray(pixels)
    exif = picture.getexif()
    exif[0x0112] = orientation
    path = tmp_path / "oriented.png"
    picture.save(path, exif=exif.tobytes())
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)), np.float32) / 255
    image = load_image(path)
    assert image.shape == expected.shape
    np.testing.assert_allclose(image, expected, atol=1e-6)


def test_truncated_png_is_refused_with_the_file_name(tmp_path):
    data = _png_bytes((np.random.default_rng(0).random((80, 80, 3)) * 255).astype(np.uint8))
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError) as caught:
        load_image(path)
    assert caught.value.path == str(path)
    assert "truncated" in caught.value.reason
    assert "cut.png" in str(caught.value)


def test_truncated_jpeg_is_refused_not_filled_with_grey(tmp_path):
    data = _jpeg_bytes((np.random.default_rng(1).random((120, 160, 3)) * 255).astype(np.uint8))
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: int(len(data) * 0.7)])
    with pytest.raises(ImageError, match="truncated"):
        load_image(path)


def test_missing_file_is_refused_with_the_file_name(tmp_path):
    with pytest.raises(ImageError, match="not found") as caught:
        load_image(tmp_path / "absent.png")
    assert caught.value.path.endswith("absent.png")


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        load_image(path)


def test_text_file_is_refused_as_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture")
    with pytest.raises(ImageError, match="not an image"):
        load_image(path)


def test_folder_is_refused(tmp_path):
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)


def test_uploaded_bytes_decode_and_errors_name_the_upload():
    pixels = _gradient_rgb()
    image = decode_image_bytes(_png_bytes(pixels), "upload.png", mode="gray")
    assert image.shape == (40, 60, 1)
    with pytest.raises(ImageError) as caught:
        decode_image_bytes(b"GIF89a broken", "upload.gif")
    assert caught.value.path == "upload.gif"


def test_unknown_mode_is_a_programming_error():
    with pytest.raises(ValueError):
        decode_image_bytes(b"x", "a.png", mode="bgr")


def test_save_and_reload_round_trips_eight_bit_values(tmp_path):
    rng = np.random.default_rng(2)
    image = rng.random((16, 24, 3)).astype(np.float32)
    path = tmp_path / "saved.png"
    save_image(path, image)
    np.testing.assert_allclose(load_image(path), to_uint8(image) / 255.0, atol=1e-6)
    grey_path = tmp_path / "saved_grey.jpg"
    save_image(grey_path, image[:, :, :1])
    assert load_image(grey_path).shape == (16, 24, 1)


def test_to_uint8_clips_and_rounds():
    values = np.array([-0.5, 0.0, 0.5, 1.0, 2.0], np.float32)
    np.testing.assert_array_equal(to_uint8(values), [0, 0, 128, 255, 255])


def test_too_small_image_is_refused_with_its_size():
    with pytest.raises(ImageError, match="20x10"):
        check_minimum_size(np.zeros((10, 20, 1), np.float32), 16, "tiny.png")
    check_minimum_size(np.zeros((16, 20, 1), np.float32), 16, "ok.png")
