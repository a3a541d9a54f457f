"""The pure machine-learning core of the inspection platform.

Nothing below this package imports Django, Django REST Framework or Celery: the
platform calls the engine, never the other way round, so the engine can be run,
tested and benchmarked on its own (``python -m inspection.engine --help``).
"""

ENGINE_VERSION = "0.1.0"
# Bundles written by an engine whose major.minor differs from this are refused.
BUNDLE_FORMAT_VERSION = 1
