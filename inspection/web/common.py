"""Small helpers shared by the page views."""

from __future__ import annotations

from inspection.models import Product
from inspection.selectors.reviews import review_pending_count


def form_error_words(form) -> list[str]:
    """Every error of a form as a sentence naming the field it belongs to."""
    words = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else None
        for error in errors:
            words.append(f"{label}: {error}" if label and name != "__all__" else error)
    return words


def product_page_context(product: Product, tab: str) -> dict:
    """What the product's tab bar needs: the product, the current tab, and the parts waiting for review."""
    return {
        "product": product,
        "tab": tab,
        "review_pending": review_pending_count(product=product),
    }


def number(value, digits: int = 4) -> str:
    """A score as people read it: four significant digits, no trailing zeros."""
    if value is None:
        return "–"
    return f"{value:.{digits}g}"


def describe_setting(setting) -> str:
    """An operating point in words: "reject from 0.1234" or "review from 0.1, reject from 0.2"."""
    if setting is None:
        return ""
    if setting.threshold is not None:
        return f"reject from {number(setting.threshold)}"
    return f"review from {number(setting.band_lower)}, reject from {number(setting.band_upper)}"


def safe_next(request, fallback: str) -> str:
    """The page to go back to from the form's "next" field, if it is a page of this site."""
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback
