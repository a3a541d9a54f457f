"""Model bundles: a trained inspection model as a versioned directory, no pickle.

Layout of a bundle directory::

    bundle.json          manifest: format and engine version, method name and
                         config, registration config, image shape, thresholds,
                         metrics, and the SHA-256 of every other file
    arrays.npz           the method's learned arrays (scaler, embeddings, ...)
    reference.npz        the registration reference image (float32, exact)
    <name>.weights.h5    weights of each Keras network the method owns

A bundle is written into a temporary sibling directory and renamed into place,
so a crash mid-write never leaves something that looks like a usable bundle.
Loading verifies the format version and every checksum and names the file
that is wrong.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from . import BUNDLE_FORMAT_VERSION, ENGINE_VERSION
from .detector import AnomalyDetector, MethodState
from .errors import BundleError

MANIFEST_NAME = "bundle.json"
ARRAYS_NAME = "arrays.npz"
REFERENCE_NAME = "reference.npz"
WEIGHTS_SUFFIX = ".weights.h5"


@dataclass
class Bundle:
    """A loaded bundle: the fitted method plus what is needed to register and decide."""

    detector: AnomalyDetector
    registration: dict[str, Any]
    reference: np.ndarray | None
    image_shape: tuple[int, ...]
    thresholds: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)

    def registrar(self):
        """The product's Registrar, rebuilt from the bundle's config and reference."""
        from .registration.alignment import Registrar

        if self.reference is None:
            raise BundleError(MANIFEST_NAME, "this bundle was saved without a registration reference")
        return Registrar.from_config(self.registration, self.reference)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def save_bundle(
    path: str | os.PathLike,
    *,
    detector: AnomalyDetector,
    image_shape: tuple[int, ...],
    registration: dict[str, Any] | None = None,
    reference: np.ndarray | None = None,
    thresholds: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    registration_report: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``detector`` and its context to the directory ``path``; return it."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise BundleError(target, "already exists; pass overwrite=True to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    state: MethodState = detector.get_state()
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        np.savez(staging / ARRAYS_NAME, **{key: np.asarray(value) for key, value in state.arrays.items()})
        if reference is not None:
            np.savez(staging / REFERENCE_NAME, reference=np.asarray(reference, dtype=np.float32))
        for name, model in state.keras_models.items():
            model.save_weights(staging / f"{name}{WEIGHTS_SUFFIX}")
        files = {entry.name: _sha256(entry) for entry in sorted(staging.iterdir()) if entry.name != MANIFEST_NAME}
        manifest = {
            "format_version": BUNDLE_FORMAT_VERSION,
            "engine_version": ENGINE_VERSION,
            "created_at": datetime.now(UTC).isoformat(),
            "method": detector.name,
            "method_config": state.config,
            "keras_models": sorted(state.keras_models),
            "registration": registration or {},
            # How the registration was chosen and calibrated on the training pictures.
            "registration_report": registration_report or {},
            "image_shape": list(image_shape),
            "thresholds": thresholds or {},
            "metrics": metrics or {},
            "files": files,
        }
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, default=_json_default))
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """The bundle's manifest, checked for a compatible format; files are not verified."""
    root = Path(path)
    manifest_path = root / MANIFEST_NAME
    if not root.is_dir():
        raise BundleError(root, "is not a bundle directory")
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise BundleError(manifest_path, "is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(manifest_path, f"is not valid JSON ({error})") from None
    if not isinstance(manifest, dict) or "format_version" not in manifest:
        raise BundleError(manifest_path, "has no format_version: not a model bundle")
    if manifest["format_version"] != BUNDLE_FORMAT_VERSION:
        raise BundleError(
            manifest_path,
            f"bundle format {manifest['format_version']} (engine {manifest.get('engine_version')}) "
            f"is incompatible with this engine's format {BUNDLE_FORMAT_VERSION} (engine {ENGINE_VERSION}); "
            "retrain the model with this engine version",
        )
    for key in ("method", "method_config", "files", "image_shape"):
        if key not in manifest:
            raise BundleError(manifest_path, f"lacks the field {key!r}")
    return manifest


def verify_bundle(path: str | os.PathLike) -> dict[str, Any]:
    """Check the manifest and every file's checksum; return the manifest."""
    root = Path(path)
    manifest = read_manifest(root)
    for name, expected in manifest["files"].items():
        file_path = root / name
        if not file_path.is_file():
            raise BundleError(file_path, "is missing from the bundle")
        if _sha256(file_path) != expected:
            raise BundleError(file_path, "is damaged (checksum mismatch)")
    return manifest


def load_bundle(path: str | os.PathLike) -> Bundle:
    """Load and verify a bundle written by :func:`save_bundle`."""
    from .methods import method_class

    root = Path(path)
    manifest = verify_bundle(root)
    try:
        with np.load(root / ARRAYS_NAME, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        reference = None
        if (root / REFERENCE_NAME).is_file():
            with np.load(root / REFERENCE_NAME, allow_pickle=False) as archive:
                reference = archive["reference"]
    except (OSError, ValueError) as error:
        raise BundleError(root / ARRAYS_NAME, f"cannot be read ({error})") from None
    weights = {name: root / f"{name}{WEIGHTS_SUFFIX}" for name in manifest.get("keras_models", [])}
    state = MethodState(config=manifest["method_config"], arrays=arrays, keras_models=weights)
    try:
        detector = method_class(manifest["method"]).from_state(state)
    except ValueError as error:
        raise BundleError(root / MANIFEST_NAME, str(error)) from None
    return Bundle(
        detector=detector,
        registration=manifest.get("registration", {}),
        reference=reference,
        image_shape=tuple(manifest["image_shape"]),
        thresholds=manifest.get("thresholds", {}),
        metrics=manifest.get("metrics", {}),
        manifest=manifest,
    )
