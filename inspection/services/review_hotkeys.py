"""The review queue's defect types: the order of their hotkeys, and a typed new type made a product type."""

from __future__ import annotations

from django.db import transaction

from inspection.errors import InvalidInput
from inspection.models import DefectType, Product, ReviewItem
from inspection.selectors.review_hotkeys import defect_types_in_hotkey_order
from inspection.services.annotations import PALETTE, defect_type_create
from inspection.services.reviews import review_item_decide


def defect_type_order_set(*, product: Product, ids: list[int]) -> list[DefectType]:
    """Put the product's defect types in this order (every one of them, each once): keys 1, 2, ... follow it."""
    types = {defect_type.pk: defect_type for defect_type in DefectType.objects.filter(product=product)}
    if sorted(ids) != sorted(types) or len(set(ids)) != len(ids):
        raise InvalidInput(f"Give every defect type of {product.name} exactly once: ids {sorted(types)}.")
    with transaction.atomic():
        for position, identifier in enumerate(ids, start=1):
            DefectType.objects.filter(pk=identifier).update(position=position)
    return list(defect_types_in_hotkey_order(product=product))


def defect_type_move(*, defect_type: DefectType, step: int) -> list[DefectType]:
    """Move one defect type `step` places earlier (negative) or later (positive) in the hotkey order."""
    ordered = [item.pk for item in defect_types_in_hotkey_order(product=defect_type.product)]
    index = ordered.index(defect_type.pk)
    target = max(0, min(len(ordered) - 1, index + step))
    ordered.insert(target, ordered.pop(index))
    return defect_type_order_set(product=defect_type.product, ids=ordered)


def defect_type_next_color(*, product: Product) -> str:
    """The colour a new defect type of the product gets unless someone picks another: the first unused one."""
    used = set(DefectType.objects.filter(product=product).values_list("color", flat=True))
    return next((color for color in PALETTE if color not in used), PALETTE[len(used) % len(PALETTE)])


def review_item_decide_with_new_defect_type(
    *, item: ReviewItem, user, defect_type: str, color: str, note: str = ""
) -> ReviewItem:
    """Make `defect_type` a defect type of the product (with `color`) and confirm the part has it, together."""
    with transaction.atomic():
        created = defect_type_create(product=item.product, name=defect_type, color=color)
        return review_item_decide(
            item=item, user=user, decision=ReviewItem.Verdict.DEFECTIVE, defect_type=created.name, note=note
        )
