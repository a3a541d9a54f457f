"""Template tags of the line's view: a product's drift warning wherever the product is shown, and the
reviewer's last verdict, which the review pages offer to undo."""

from django import template

from inspection.selectors.review_hotkeys import defect_types_in_hotkey_order
from inspection.selectors.review_verdicts import review_item_last_verdict

register = template.Library()


@register.simple_tag
def last_verdict_for(product, user):
    """The review item whose verdict `user` gave last on `product`, while it can be undone, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return review_item_last_verdict(product=product, user=user)


@register.simple_tag
def hotkey_types_for(product):
    """The product's defect types in the order of the review queue's number keys."""
    return list(defect_types_in_hotkey_order(product=product))
