"""Run an exported inspection model without the platform: ONNX Runtime, numpy and OpenCV only.

An archive written by ``python -m inspection.engine export BUNDLE OUT`` holds
the method's networks as ONNX graphs, its learned arrays (k-NN memory,
standardisation, pixel statistics) in a ``.npz`` read without pickle, the
registration reference and settings, the operating point and a metadata file
with the SHA-256 of every member. ``python -m inspection.runtime ARCHIVE
IMAGES...`` prints a score and a decision per image.

Nothing in this package imports TensorFlow, Keras or Django: a line PC next to
the camera needs ``onnxruntime``, ``numpy`` and ``opencv-python-headless``
(plus this package and the engine's registration module, which is plain OpenCV).
"""

from .archive import ARCHIVE_FORMAT_VERSION, ArchiveError, read_archive
from .model import ExportedModel, load_model

__all__ = ["ARCHIVE_FORMAT_VERSION", "ArchiveError", "ExportedModel", "load_model", "read_archive"]
