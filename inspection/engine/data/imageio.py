"""Reading and writing images for the engine, with refusals a person can act on.

Every image the engine sees goes through :func:`load_image` (files) or
:func:`decode_image_bytes` (uploads). Both return float32 arrays of shape
(H, W, C) with values in [0, 1], where C is 1 (grey) or 3 (RGB order, not
OpenCV's BGR). Anything that is not a complete, decodable image raises
:class:`~inspection.engine.errors.ImageError` naming the file, so a bad file in
a folder of hundreds says which one it is instead of failing deep inside NumPy.

Decoding is done by Pillow because it reports truncated files (OpenCV silently
returns a partly grey image for a cut JPEG). The one exception is 16-bit colour
PNG, which Pillow reduces to 8 bits: there the pixels are decoded by OpenCV
after Pillow has checked that the file is complete.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from ..errors import ImageError

#: file name endings the engine treats as images when listing folders
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

_MODES = (None, "gray", "rgb")
# ITU-R BT.601 luma weights: the same weights OpenCV's cvtColor uses, so grey
# images made here match grey images made anywhere else in the engine.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_EXIF_ORIENTATION_TAG = 0x0112

PathLike = str | os.PathLike


def load_image(path: PathLike, *, mode: str | None = None) -> np.ndarray:
    """Read an image file as float32 (H, W, C) in [0, 1].

    ``mode``: ``None`` keeps grey images as 1 channel and colour as 3;
    ``"gray"`` or ``"rgb"`` converts to that. Raises ImageError for a missing,
    empty, unreadable, truncated or non-image file.
    """
    _check_mode(mode)
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageError(path, "is a folder, not an image file") from None
    except PermissionError:
        raise ImageError(path, "permission denied when reading the file") from None
    except OSError as error:
        raise ImageError(path, f"cannot be read ({error.strerror or error})") from None
    return decode_image_bytes(data, str(path), mode=mode)


def decode_image_bytes(data: bytes, name: str, *, mode: str | None = None) -> np.ndarray:
    """Decode an uploaded file's bytes; ``name`` is used in error messages only."""
    from PIL import Image, ImageFile

    _check_mode(mode)
    if not data:
        raise ImageError(name, "file is empty (0 bytes)")
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # With this global switched on Pillow fills missing data with grey and
        # half an image would be inspected as if it were whole.
        raise ImageError(name, "cannot check for truncation: PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set")
    try:
        picture = Image.open(io.BytesIO(data))
        picture.load()
    except Image.DecompressionBombError:
        raise ImageError(name, "image is too large (more pixels than the safety limit)") from None
    except Image.UnidentifiedImageError:
        raise ImageError(name, "not an image file (format not recognised)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        message = str(error)
        if "truncated" in message.lower() or isinstance(error, EOFError):
            raise ImageError(name, "image file is truncated (incomplete data)") from None
        raise ImageError(name, f"image data is damaged ({message})") from None

    width, height = picture.size
    if width == 0 or height == 0:
        raise ImageError(name, f"image has zero size ({width}x{height})")
    orientation = _exif_orientation(picture)

    if picture.format == "PNG" and _is_16bit_colour_png(data):
        pixels = _decode_16bit_colour_png(data, name)
    else:
        pixels = _pillow_to_float(picture, name)
    pixels = _apply_orientation(pixels, orientation)
    return _convert_channels(pixels, mode)


def to_uint8(array: np.ndarray) -> np.ndarray:
    """[0, 1] floats to 8-bit, rounding to nearest; uint8 input is returned unchanged."""
    array = np.asarray(array)
    if array.dtype == np.uint8:
        return array
    return np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)


def save_image(path: PathLike, array: np.ndarray) -> None:
    """Write an (H, W), (H, W, 1) or (H, W, 3) [0, 1] image as an 8-bit file.

    The format follows the file name ending (.png, .jpg, ...). JPEG is written
    at quality 95 so that saved inspection images stay close to the original.
    """
    from PIL import Image

    path = Path(path)
    pixels = to_uint8(array)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise ValueError(f"cannot save an array of shape {pixels.shape} as an image")
    options = {"quality": 95} if path.suffix.lower() in (".jpg", ".jpeg") else {}
    try:
        Image.fromarray(pixels).save(path, **options)
    except (OSError, ValueError, KeyError) as error:
        raise ImageError(path, f"cannot be written ({error})") from None


def check_minimum_size(image: np.ndarray, min_side: int, path: PathLike) -> None:
    """Raise ImageError if either side of ``image`` is shorter than ``min_side`` pixels."""
    height, width = image.shape[:2]
    if min(height, width) < min_side:
        raise ImageError(path, f"image is {width}x{height} pixels; each side must be at least {min_side} pixels")


def to_gray(image: np.ndarray) -> np.ndarray:
    """(H, W, C) float image to (H, W) grey with BT.601 weights."""
    if image.ndim == 2:
        return image.astype(np.float32, copy=False)
    if image.shape[2] == 1:
        return image[:, :, 0].astype(np.float32, copy=False)
    return (image[:, :, :3].astype(np.float32, copy=False) @ _LUMA).astype(np.float32)


def _check_mode(mode: str | None) -> None:
    if mode not in _MODES:
        raise ValueError(f"mode must be None, 'gray' or 'rgb', not {mode!r}")


def _pillow_to_float(picture, name: str) -> np.ndarray:
    """Pillow image of any common mode to float32 (H, W, 1|3) in [0, 1]."""
    picture_mode = picture.mode
    if picture_mode == "P":
        # A palette whose used entries are all grey is a grey image stored
        # compactly: keep it 1-channel like any other grey image.
        has_alpha = "transparency" in picture.info
        if _palette_is_grey(picture):
            picture = picture.convert("LA" if has_alpha else "L")
        else:
            picture = picture.convert("RGBA" if has_alpha else "RGB")
        picture_mode = picture.mode
    if picture_mode == "PA":
        picture = picture.convert("RGBA")
        picture_mode = "RGBA"
    if picture_mode == "1":
        picture = picture.convert("L")
        picture_mode = "L"

    if picture_mode in ("L", "RGB"):
        pixels = np.asarray(picture, dtype=np.float32) / 255.0
    elif picture_mode in ("LA", "RGBA"):
        pixels = _composite_on_black(np.asarray(picture, dtype=np.float32) / 255.0)
    elif picture_mode.startswith("I;16") or picture_mode == "I":
        # 16-bit PNG/TIFF open as "I;16*" or "I": full scale is 65535.
        pixels = np.clip(np.asarray(picture, dtype=np.float32) / 65535.0, 0.0, 1.0)
    elif picture_mode == "F":
        raw = np.asarray(picture, dtype=np.float32)
        if not np.all(np.isfinite(raw)):
            raise ImageError(name, "floating-point image contains NaN or infinite values")
        # Float TIFFs come either normalised or in 8/16-bit units; pick the scale
        # from the largest value rather than guessing a camera convention.
        peak = float(raw.max()) if raw.size else 0.0
        scale = 1.0 if peak <= 1.0 else (255.0 if peak <= 255.0 else 65535.0)
        pixels = np.clip(raw / scale, 0.0, 1.0)
    elif picture_mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        pixels = np.asarray(picture.convert("RGB"), dtype=np.float32) / 255.0
    else:
        try:
            pixels = np.asarray(picture.convert("RGB"), dtype=np.float32) / 255.0
        except (ValueError, OSError):
            raise ImageError(name, f"unsupported pixel format {picture_mode!r}") from None

    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return np.ascontiguousarray(pixels, dtype=np.float32)


def _composite_on_black(pixels: np.ndarray) -> np.ndarray:
    """Drop the alpha channel after compositing on black.

    Transparent pixels carry no observation of the part; compositing on black
    makes them one constant value (the same as the zero padding used elsewhere)
    instead of whatever colour happened to be stored under zero alpha, which
    would otherwise look like texture to the models.
    """
    colour, alpha = pixels[:, :, :-1], pixels[:, :, -1:]
    return colour * alpha


def _palette_is_grey(picture) -> bool:
    palette = picture.getpalette()
    if not palette or picture.palette is None or picture.palette.mode != "RGB":
        return False
    entries = np.asarray(palette, dtype=np.int32).reshape(-1, 3)
    used = np.unique(np.asarray(picture))
    used = used[used < len(entries)]
    colours = entries[used]
    return bool(np.all(colours[:, 0] == colours[:, 1]) and np.all(colours[:, 1] == colours[:, 2]))


def _is_16bit_colour_png(data: bytes) -> bool:
    # IHDR is always the first chunk: byte 24 is the bit depth, byte 25 the
    # colour type (2 = RGB, 6 = RGBA).
    return len(data) > 25 and data[24] == 16 and data[25] in (2, 6)


def _decode_16bit_colour_png(data: bytes, name: str) -> np.ndarray:
    import cv2

    raw = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.dtype != np.uint16 or raw.ndim != 3:
        raise ImageError(name, "16-bit colour PNG could not be decoded")
    pixels = raw.astype(np.float32) / 65535.0
    if pixels.shape[2] == 4:
        pixels = _composite_on_black(pixels[:, :, [2, 1, 0, 3]])
    else:
        pixels = pixels[:, :, ::-1]
    return np.ascontiguousarray(pixels, dtype=np.float32)


def _exif_orientation(picture) -> int:
    try:
        value = int(picture.getexif().get(_EXIF_ORIENTATION_TAG, 1))
    except Exception:  # damaged EXIF must not make a good image unreadable
        return 1
    return value if 1 <= value <= 8 else 1


def _apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels upright as the camera's EXIF orientation tag says."""
    if orientation == 2:
        pixels = pixels[:, ::-1]
    elif orientation == 3:
        pixels = pixels[::-1, ::-1]
    elif orientation == 4:
        pixels = pixels[::-1, :]
    elif orientation == 5:
        pixels = pixels.transpose(1, 0, 2)
    elif orientation == 6:
        pixels = np.rot90(pixels, -1)
    elif orientation == 7:
        pixels = pixels[::-1, ::-1].transpose(1, 0, 2)
    elif orientation == 8:
        pixels = np.rot90(pixels, 1)
    return np.ascontiguousarray(pixels, dtype=np.float32)


def _convert_channels(pixels: np.ndarray, mode: str | None) -> np.ndarray:
    channels = pixels.shape[2]
    if mode == "gray" and channels == 3:
        return to_gray(pixels)[:, :, None]
    if mode == "rgb" and channels == 1:
        return np.repeat(pixels, 3, axis=2)
    return pixels
