"""Bringing every picture of a part into its reference image's frame before any model sees it."""
