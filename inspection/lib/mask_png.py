"""Reading and writing annotation masks: binary PNGs at the registered image's size.

Accepted on input (what browsers' canvases and common tools write): 1-bit,
8-bit grey, grey + alpha, palette, and RGB/RGBA whose red, green and blue are
equal; alpha, when present, must be opaque everywhere; pixel values only 0
and 255 (0 and 1 for 1-bit). White is defect. Stored masks are always 8-bit
grey 0/255 PNGs, whatever mode they arrived in.
"""

from __future__ import annotations

import io

import numpy as np

from inspection.errors import InvalidInput

_MAX_VALUES_NAMED = 6


def mask_decode(*, data: bytes, name: str, width: int, height: int) -> np.ndarray:
    """The mask in `data` as a bool (height, width) array, or InvalidInput saying exactly what is wrong."""
    from PIL import Image as PillowImage

    try:
        with PillowImage.open(io.BytesIO(data)) as header:
            found_format, size, mode = header.format, header.size, header.mode
            # The size is checked before decoding, so a huge file is never unpacked.
            if found_format != "PNG":
                raise InvalidInput(f'Mask "{name}" is not a PNG file (it is {found_format or "an unknown format"}).')
            if size != (width, height):
                raise InvalidInput(
                    f"Mask {name!r} is {size[0]}x{size[1]} pixels; it must be exactly {width}x{height}, "
                    "the size of the registered image."
                )
            header.load()
            picture = header.copy()
    except InvalidInput:
        raise
    except PillowImage.UnidentifiedImageError:
        # Pillow's message names the in-memory buffer, which means nothing to the sender.
        raise InvalidInput(f'Mask "{name}" is not a PNG file (not an image at all).') from None
    except (OSError, ValueError, SyntaxError, PillowImage.DecompressionBombError) as error:
        raise InvalidInput(f'Mask "{name}" cannot be read as a PNG image ({error}).') from None
    return _binary(picture, mode, name)


def _binary(picture, mode: str, name: str) -> np.ndarray:
    if mode == "1":
        return np.asarray(picture.convert("L")) > 0
    if mode == "P":
        picture, mode = picture.convert("RGBA"), "RGBA"
    if mode in ("L", "LA"):
        array = np.asarray(picture)
        grey = array if mode == "L" else array[..., 0]
        alpha = None if mode == "L" else array[..., 1]
    elif mode in ("RGB", "RGBA"):
        array = np.asarray(picture)
        if not (np.array_equal(array[..., 0], array[..., 1]) and np.array_equal(array[..., 0], array[..., 2])):
            raise InvalidInput(
                f"Mask {name!r} has coloured pixels; a mask must be black and white (red = green = blue)."
            )
        grey = array[..., 0]
        alpha = array[..., 3] if mode == "RGBA" else None
    else:
        raise InvalidInput(
            f"Mask {name!r} is a {mode} PNG; use 1-bit, 8-bit grey, or RGB/RGBA with black and white only."
        )
    if alpha is not None and not (alpha == 255).all():
        raise InvalidInput(f"Mask {name!r} has transparent pixels; its alpha must be 255 everywhere.")
    values = np.unique(grey)
    unexpected = values[(values != 0) & (values != 255)]
    if unexpected.size:
        shown = ", ".join(str(int(value)) for value in values[:_MAX_VALUES_NAMED])
        more = f" and {values.size - _MAX_VALUES_NAMED} more" if values.size > _MAX_VALUES_NAMED else ""
        raise InvalidInput(
            f"Mask {name!r} is not binary: it has pixel values {shown}{more}; only 0 (no defect) and 255 "
            "(defect) are allowed."
        )
    return grey == 255


def mask_encode(mask: np.ndarray) -> bytes:
    """8-bit grey PNG, 0 and 255, of a bool (or 0/non-zero) array."""
    from PIL import Image as PillowImage

    buffer = io.BytesIO()
    PillowImage.fromarray(np.where(np.asarray(mask) != 0, 255, 0).astype(np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def mask_read(stored) -> np.ndarray:
    """A stored mask (FieldFile) as a bool array; OSError/ValueError when it cannot be read."""
    from PIL import Image as PillowImage

    with stored.open("rb") as handle:
        data = handle.read()
    with PillowImage.open(io.BytesIO(data)) as picture:
        return np.asarray(picture.convert("L")) > 0


def mask_area_and_bbox(mask: np.ndarray) -> tuple[int, list[int]]:
    """Defect pixel count and [x, y, width, height] of the smallest box holding them (mask non-empty)."""
    rows = np.flatnonzero(mask.any(axis=1))
    columns = np.flatnonzero(mask.any(axis=0))
    x, y = int(columns[0]), int(rows[0])
    return int(np.count_nonzero(mask)), [x, y, int(columns[-1]) - x + 1, int(rows[-1]) - y + 1]


def registered_size(image) -> tuple[int, int]:
    """(width, height) of an image's aligned copy, read from the PNG header."""
    from PIL import Image as PillowImage

    with image.aligned_file.open("rb") as handle:
        with PillowImage.open(handle) as picture:
            return picture.size


def valid_mask_encode(valid_mask) -> bytes | None:
    """The PNG kept beside an aligned copy (white = the picture's own pixel), or None when every pixel is valid."""
    if valid_mask is None or np.asarray(valid_mask).all():
        return None
    return mask_encode(valid_mask)


def valid_mask_read(stored) -> np.ndarray | None:
    """A stored validity mask as a bool array, or None (all valid) when none was stored."""
    return mask_read(stored) if stored else None
