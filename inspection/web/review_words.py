"""What a reviewer is told after marking a part normal: whether it can join the training images now."""

from __future__ import annotations

from django.contrib import messages

from inspection.models import Image, ReviewItem


def normal_verdict_words(item: ReviewItem) -> tuple[int, str]:
    """(message level, sentence) for a part just marked normal.

    Training uses only images aligned to the product's reference. A part whose
    alignment the inspection could reuse joins at once; otherwise a
    registration job aligns it first, and a part that could not be aligned
    when inspected may well fail again, which the reviewer should know now
    rather than discover as a missing training image.
    """
    name = item.inspection.original_name
    image = item.resulting_image
    if image is None or image.split != Image.Split.TRAIN:
        return messages.SUCCESS, f"{name} marked normal; it joins the test images."
    if image.registration_status == Image.RegistrationStatus.REGISTERED:
        return messages.SUCCESS, f"{name} marked normal; it joins the training images as a good part."
    if not item.inspection.registered_file:
        reason = item.inspection.reason or "it could not be aligned"
        return messages.WARNING, (
            f"{name} marked normal, but it could not be aligned to the reference when inspected ({reason}). "
            "It joins the training images only if the alignment now under way succeeds; if not, the Dataset "
            "page shows it among the images that could not be aligned, and training leaves it out."
        )
    return messages.INFO, (
        f"{name} marked normal; it is being aligned to the product's current reference and joins the training "
        "images once aligned."
    )
