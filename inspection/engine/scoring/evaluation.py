"""Train a method on ``train/good`` of an MVTec-layout folder and measure it on ``test/``.

This is what ``python -m inspection.engine evaluate`` runs, and what the
benchmark script calls. Every figure in the returned record is measured here:
nothing is estimated or copied.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import ENGINE_VERSION
from ..errors import EngineError, TrainingRefusedByRegistration
from ..progress import ProgressCallback, ProgressEvent, report

#: How many test images are inspected one at a time to measure latency.
LATENCY_SAMPLE = 12
SCORING_BATCH = 8


@dataclass
class RegisteredSet:
    images: list[np.ndarray]
    paths: list[Path]
    rejected: list[tuple[Path, str]]
    results: list[Any]


def peak_rss_mb() -> float:
    # ru_maxrss is kilobytes on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def build_registrar(
    reference_path: Path,
    *,
    registration: str,
    registration_settings: dict[str, Any] | None = None,
    image_size: tuple[int, int] | None,
    mode,
    roi=None,
    training_paths: Sequence[Path] = (),
    training_images: Sequence[np.ndarray] | None = None,
    progress: ProgressCallback | None = None,
):
    """The Registrar chosen (``registration="auto"``) and calibrated on the training pictures, and its report.

    The reference is loaded and optionally resized to ``image_size`` =
    (width, height). ``training_images``, when given, are the pictures of
    ``training_paths`` already loaded.
    """
    import cv2

    from ..data.imageio import load_image
    from ..registration.auto import fit_registration

    reference = load_image(reference_path, mode=mode)
    if image_size is not None:
        reference = cv2.resize(reference, image_size, interpolation=cv2.INTER_AREA)
        if reference.ndim == 2:
            reference = reference[..., None]
    if training_images is None:
        training_images = [load_image(path, mode=mode) for path in training_paths]
    return fit_registration(
        reference,
        training_images,
        settings={**(registration_settings or {}), "method": registration, "roi": roi},
        names=[Path(path).name for path in training_paths],
        progress=progress,
    )


def register_paths(
    registrar, paths: Sequence[Path], *, mode, progress: ProgressCallback | None, stage: str, images=None
):
    """Register the pictures at `paths` (`images`: the same pictures, already loaded)."""
    from ..data.imageio import load_image

    kept = RegisteredSet(images=[], paths=[], rejected=[], results=[])
    for index, path in enumerate(paths):
        result = registrar.register(images[index] if images is not None else load_image(path, mode=mode))
        kept.results.append(result)
        if result.accepted:
            kept.images.append(result.image)
            kept.paths.append(Path(path))
        else:
            kept.rejected.append((Path(path), result.reason))
        report(progress, ProgressEvent(stage=stage, fraction=(index + 1) / len(paths)))
    return kept


def registered_mask(registrar, mask_path: Path | None, result, shape: tuple[int, int]) -> np.ndarray:
    """The ground-truth mask in registered coordinates (all zero for a normal image)."""
    if mask_path is None:
        return np.zeros(shape, dtype=bool)
    from ..data.dataset import load_mask

    reference_shape = registrar.reference_.shape[:2]
    return registrar.warp_mask(load_mask(mask_path, reference_shape), result) > 0


def refused_training_report(settings: dict, registration_report: dict, train: RegisteredSet, total: int):
    """The error that lists the training pictures registration refused, why, and which setting to change.

    With ``registration="auto"`` and no limit set by hand it does not happen to
    pictures registration can compare with the reference: the mode that refuses
    the fewest is chosen and its limits are calibrated below what the pictures reach.
    """
    reasons = [reason for _, reason in train.rejected]
    changes = []
    if settings.get("method", "auto") != "auto":
        changes.append(
            f"registration {settings['method']!r} is set by hand: 'auto' tries none, ecc and orb+ecc and keeps "
            "the one that refuses the fewest good pictures"
        )
    if any("below the minimum" in reason for reason in reasons):
        changes.append(
            "the similarity minimum is above what these pictures reach: leave min_quality 'auto' (calibrated on "
            "the good pictures) or lower it"
            if settings.get("min_quality", "auto") != "auto"
            else "the pictures do not look like --reference: choose a reference that shows a good part like them"
        )
    if any("not allowed" in reason for reason in reasons):
        changes.append("the motion bounds are narrower than the pictures need: widen max_rotation or max_shift")
    if any("inside the picture" in reason for reason in reasons):
        changes.append("the region leaves the frame when the part moves: lower min_coverage or choose a smaller --roi")
    change = "; ".join(changes) or "check the training pictures and the reference"
    lines = [
        f"registration refused {len(train.rejected)} of {total} training pictures, so nothing could be trained "
        f"(at least 2 must register; no result, exit status non-zero). What to change: {change}.",
        "Refused training pictures:",
        *[f"  {path.name}: {reason}" for path, reason in train.rejected],
    ]
    report = {
        "settings": settings,
        "registration_report": registration_report,
        "registered": len(train.images),
        "training_pictures": total,
        "refused": [{"picture": path.name, "reason": reason} for path, reason in train.rejected],
        "what_to_change": change,
    }
    return TrainingRefusedByRegistration("\n".join(lines), report)


def _scores_in_batches(detector, images: Sequence[np.ndarray], progress, *, with_maps: bool):
    scores, maps = [], []
    for start in range(0, len(images), SCORING_BATCH):
        batch = images[start : start + SCORING_BATCH]
        if with_maps:
            explanation = detector.explain(batch)
            scores.append(explanation.scores)
            maps.extend(explanation.maps)
        else:
            scores.append(detector.score(batch))
        report(progress, ProgressEvent(stage="score", fraction=min(1.0, (start + len(batch)) / len(images))))
    return np.concatenate(scores) if scores else np.zeros(0), maps


def measure_latency(detector, registrar, paths: Sequence[Path], *, mode) -> float:
    """Median milliseconds for one image, from file to score, after one warm-up."""
    from ..data.imageio import load_image

    sample = list(paths[: LATENCY_SAMPLE + 1])
    timings = []
    for index, path in enumerate(sample):
        started = time.perf_counter()
        result = registrar.register(load_image(path, mode=mode))
        if result.accepted:
            detector.score([result.image])
        if index > 0:  # the first call pays for graph tracing and caches
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings) if timings else float("nan")


def evaluate(
    data_dir: str | Path,
    *,
    method: str = "cpcae-knn",
    params: dict[str, Any] | None = None,
    registration: str = "auto",
    registration_settings: dict[str, Any] | None = None,
    roi: tuple[int, int, int, int] | str | None = None,
    image_size: tuple[int, int] | None = None,
    mode: str | None = None,
    reference: str | Path | None = None,
    progress: ProgressCallback | None = None,
    keep_detector: bool = False,
) -> dict[str, Any]:
    """Fit ``method`` on the folder's normal training images and score its test images.

    ``registration_settings``: further Registrar parameters (``min_quality``,
    ``max_rotation``...; "auto" where calibrated, the default).
    """
    from ..data.dataset import load_mvtec_layout
    from ..methods import create_method
    from ..registration.result import without_outside_pixels
    from .metrics import average_precision, image_auroc, pixel_auroc

    params = dict(params or {})
    # Built first so that a wrong method name or hyper-parameter fails at once.
    detector = create_method(method, **params)
    dataset = load_mvtec_layout(data_dir)
    reference_path = Path(reference) if reference else Path(dataset.train_paths[0])
    started = time.perf_counter()
    from ..data.imageio import load_image

    # Read once: the same pictures calibrate the registration and are then registered.
    training_pictures = [load_image(path, mode=mode) for path in dataset.train_paths]
    registrar, registration_report = build_registrar(
        reference_path,
        registration=registration,
        registration_settings=registration_settings,
        image_size=image_size,
        mode=mode,
        roi=roi,
        training_paths=dataset.train_paths,
        training_images=training_pictures,
        progress=progress,
    )
    train = register_paths(
        registrar, dataset.train_paths, mode=mode, progress=progress, stage="register-train", images=training_pictures
    )
    if len(train.images) < 2:
        requested = {"method": registration, **(registration_settings or {})}
        raise refused_training_report(requested, registration_report, train, len(dataset.train_paths))
    detector.fit(train.images, progress=progress)
    train_seconds = time.perf_counter() - started

    test_items = dataset.test_items
    test = register_paths(
        registrar, [item.path for item in test_items], mode=mode, progress=progress, stage="register-test"
    )
    accepted = [result.accepted for result in test.results]
    has_masks = any(item.mask_path is not None for item in test_items)
    scores, maps = _scores_in_batches(detector, test.images, progress, with_maps=has_masks)
    # Pixels a warp brought in from outside the picture hold the reference's
    # pixels; whatever a map says there is not about the part.
    accepted_results = [result for result in test.results if result.accepted]
    maps = [
        without_outside_pixels(anomaly_map, result.valid_mask) for anomaly_map, result in zip(maps, accepted_results)
    ]

    labels = np.array([item.label for item in test_items], dtype=int)
    all_scores = np.empty(len(test_items), dtype=np.float64)
    all_scores[np.array(accepted, dtype=bool)] = scores
    # A part that cannot be registered is never passed by the product (it goes
    # to review), so for the metrics it counts as flagged: above every score.
    ceiling = (scores.max() + 1.0) if len(scores) else 1.0
    all_scores[~np.array(accepted, dtype=bool)] = ceiling

    record: dict[str, Any] = {
        "method": detector.name,  # the current name, also when a former one was given
        "backbone": getattr(detector, "backbone", None),
        "engine_version": ENGINE_VERSION,
        "data_dir": str(data_dir),
        "params": params,
        "registration": registrar.method,
        "registration_mode": registration_report["mode"],
        "registration_report": registration_report,
        # The region in force: the one given, or the one suggested on the reference.
        "roi": [int(value) for value in registrar.roi_],
        "image_shape": list(train.images[0].shape),
        "n_train": len(train.images),
        "n_train_rejected": len(train.rejected),
        "n_test": len(test_items),
        "n_test_defective": int(labels.sum()),
        "n_test_rejected": len(test.rejected),
        "unregistered_count": len(test.rejected),
        "unregistered_counted_as": (
            "flagged: scored above every registered picture in image AUROC and AP, as the product sends a picture "
            "it cannot register to review; left out of pixel AUROC"
        ),
        "rejected": [f"{path.name}: {reason}" for path, reason in train.rejected + test.rejected],
        "image_auroc": image_auroc(labels, all_scores),
        "image_ap": average_precision(labels, all_scores),
        "pixel_auroc": None,
        "train_seconds": round(train_seconds, 2),
    }
    if has_masks and maps:
        accepted_items = [item for item, ok in zip(test_items, accepted) if ok]
        masks = [
            registered_mask(registrar, item.mask_path, result, anomaly_map.shape)
            for item, result, anomaly_map in zip(accepted_items, accepted_results, maps)
        ]
        record["pixel_auroc"] = pixel_auroc(np.stack(masks), np.stack(maps))
    report(progress, ProgressEvent(stage="latency", fraction=0.0, message="measuring per-image latency"))
    record["infer_ms_per_image"] = round(
        measure_latency(detector, registrar, [i.path for i in test_items], mode=mode), 1
    )
    record["peak_rss_mb"] = round(peak_rss_mb(), 1)
    record["scores"] = [float(value) for value in all_scores]
    record["labels"] = [int(value) for value in labels]
    record["test_registered"] = [bool(value) for value in accepted]
    record["test_files"] = [str(item.path) for item in test_items]
    if keep_detector:
        record["_detector"] = detector
        record["_registrar"] = registrar
    return record


def evaluate_all(data_dir, *, methods: Sequence[str], on_record: Callable[[dict], None] | None = None, **options):
    """Every method on one data set in one process; a failing method is recorded, not fatal."""
    from ..methods import accepted_parameters

    shared_params = dict(options.pop("params", None) or {})
    records = []
    for method in methods:
        try:
            # Shared options like seed or backbone go to the methods that take them.
            accepted = accepted_parameters(method)
            params = {key: value for key, value in shared_params.items() if key in accepted}
            record = evaluate(data_dir, method=method, params=params, **options)
        except EngineError as error:
            record = {"method": method, "error": str(error)}
        records.append(record)
        if on_record is not None:
            on_record(record)
    return records
