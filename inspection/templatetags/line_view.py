"""Template tags of the line's view: the drift warning of a product, wherever a product is shown."""

from django import template

from inspection.selectors.drift import drift_warning_open

register = template.Library()


@register.simple_tag
def drift_warning_for(product):
    """The open drift warning of the product's active version, or None."""
    return drift_warning_open(product=product)
