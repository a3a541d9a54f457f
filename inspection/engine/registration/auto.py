"""Choosing and calibrating a product's registration on its good training pictures.

``fit_registration`` is what training runs: with ``method="auto"`` (the
default) it registers the training pictures with each of ``AUTO_METHODS``
(none, ECC alone, feature matching + ECC, each bounded), keeps the one with the
fewest refusals and then the best median similarity, and picks "none" where
alignment does not apply: when the aligned similarity is not at least
``ALIGNMENT_GAIN`` of the way from the unaligned one to a perfect match
(textured surfaces, where every picture has its own texture: 0.00 unaligned,
0.01 aligned). A relative gain, because a nearly symmetric part matches well
even unaligned (0.95) and its alignment gains little in absolute terms. The chosen
Registrar then gets its similarity minimum and motion bounds from what the
training pictures measured (see ``calibration``), and the report says what was
chosen, why, the figures of every candidate and the refused pictures.

The region of interest defaults to the part, not the frame: unless the settings
give one (``roi``, or ``"frame"`` for the whole frame), the candidates are
measured on the whole frame and the chosen one then takes the region suggested
on the reference if it aligns the good pictures as the whole frame does (see
``default_region``). The report's ``region`` says which region is in force and why.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..progress import ProgressCallback, ProgressEvent, report
from .alignment import FALLBACK_MIN_QUALITY, Registrar
from .calibration import (
    MIN_CALIBRATION_PICTURES,
    MIN_QUALITY_RULE,
    QUALITY_MARGIN,
    bounds_from_spread,
    calibrated_min_quality,
    spread,
)
from .default_region import SUGGESTED, suggested_region
from .motion import ANY_ROTATION

AUTO = "auto"
AUTO_METHODS = ("none", "ecc", "orb+ecc")
#: Share of the unaligned pictures' dissimilarity (1 - median similarity) alignment must remove to be worth it.
#: Measured: parts 73 % (circuitboard) to 98 % (synthetic square plate); magnetic tiles 24 %, where ECC
#: only bends one texture towards another; synthetic random textures 1 %.
ALIGNMENT_GAIN = 0.5
#: What ``auto`` means while there is no picture to choose on: the widest-reaching mode.
UNCHOSEN_METHOD = "orb+ecc"
#: Medians closer than this are a tie, decided by the worst picture's similarity.
MEDIAN_TIE = 0.005
#: The ``roi`` setting for the whole frame. Without a region (None or "auto") the part is suggested
#: (``default_region``).
WHOLE_FRAME = "frame"
__all__ = ["AUTO", "SUGGESTED", "WHOLE_FRAME", "fit_registration"]


def fit_registration(
    reference: np.ndarray,
    training_images: Sequence[np.ndarray],
    *,
    settings: dict[str, Any] | None = None,
    names: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[Registrar, dict[str, Any]]:
    """A Registrar chosen (``method="auto"``) and calibrated on ``training_images``, and its report.

    ``settings`` are Registrar parameters; ``min_quality="auto"`` and
    ``max_rotation="auto"`` (the defaults here) are calibrated, numbers are kept
    as given. Bounds are narrowed to the measured spread plus a margin, never
    beyond the configured ones.
    """
    settings = dict(settings or {})
    method = settings.pop("method", AUTO)
    min_quality = settings.pop("min_quality", AUTO)
    settings["roi"], region = _requested_region(settings.pop("roi", None))
    # Unless the product sets a largest rotation, the pictures are measured
    # with any rotation and the bound is set from what they needed.
    if settings.get("max_rotation", AUTO) == AUTO:
        settings["max_rotation"] = ANY_ROTATION
    names = list(names) if names is not None else [f"picture {index + 1}" for index in range(len(training_images))]
    methods = AUTO_METHODS if method == AUTO else (method,)

    figures, measured = [], {}
    for position, candidate in enumerate(methods):
        started = time.perf_counter()
        # Similarity is only measured here: its minimum comes from these figures.
        registrar = Registrar(method=candidate, min_quality=-1.0, **settings).fit(reference)
        results = [registrar.register(image) for image in training_images]
        measured[candidate] = (registrar, results)
        figures.append(_figures(candidate, registrar, results, time.perf_counter() - started))
        report(
            progress,
            ProgressEvent(
                stage="choose-registration",
                fraction=(position + 1) / len(methods),
                message=f"tried registration {candidate!r}",
            ),
        )

    if method != AUTO:
        chosen, why = method, "chosen in the product's settings"
    elif not training_images:
        chosen, why = UNCHOSEN_METHOD, "no good training pictures to choose on yet: the general default until there are"
    else:
        chosen, why = _choose(figures)
    registrar, results = measured[chosen]
    if region is None:
        # Chosen and measured on the whole frame; the part's region is taken if it aligns them alike.
        trial, trial_results, region = suggested_region(reference, chosen, settings, training_images, results)
        if trial is not None:
            registrar, results = trial, trial_results
    region["roi"] = [int(value) for value in registrar.roi_]
    region["whole_frame"] = region["roi"] == [0, 0, int(reference.shape[1]), int(reference.shape[0])]
    accepted = [result for result in results if result.accepted]
    resolved = registrar.get_config()
    resolved.pop("reference_shape", None)
    qualities = [result.measured_quality for result in accepted]
    if min_quality == AUTO and len(qualities) >= MIN_CALIBRATION_PICTURES:
        resolved["min_quality"] = calibrated_min_quality(qualities)
        quality_source = f"calibrated on {len(qualities)} good training pictures: {MIN_QUALITY_RULE}"
    elif min_quality == AUTO:
        resolved["min_quality"] = AUTO
        quality_source = (
            f"the general minimum: {len(qualities)} good training pictures are too few to calibrate "
            f"on (at least {MIN_CALIBRATION_PICTURES})"
        )
        general = None if chosen == "none" else FALLBACK_MIN_QUALITY
        finite = [value for value in qualities if np.isfinite(value)]
        median = float(np.median(finite)) if finite else float("nan")
        alike = [value for value in finite if abs(value - median) <= QUALITY_MARGIN]
        if general is not None and alike and median < general:
            # The product's pictures agree with one another but do not reach the general minimum: refusing
            # them would leave nothing to train on. A picture far from the others (another part) stays refused.
            resolved["min_quality"] = round(min(alike) - QUALITY_MARGIN, 4)
            quality_source += (
                f", lowered to {QUALITY_MARGIN} below the least similar of those within {QUALITY_MARGIN} of their "
                "median, which the general minimum would refuse"
            )
    else:
        resolved["min_quality"] = float(min_quality)
        quality_source = "set in the product's settings"
    if chosen != "none" and len(accepted) >= MIN_CALIBRATION_PICTURES:
        resolved.update(
            bounds_from_spread(
                [result.motion for result in accepted],
                frame_side=registrar.bounds_.frame_side,
                ceiling={key: resolved[key] for key in ("max_rotation", "max_shift", "max_scale_change")},
            )
        )
    final = Registrar(**resolved).fit(reference)
    final_results = [final.register(image) for image in training_images]
    chosen_figures = next(figure for figure in figures if figure["method"] == chosen)
    registration_report = {
        "mode": AUTO if method == AUTO else "fixed",
        "chosen": chosen,
        "why": why,
        "candidates": figures,
        "settings": final.get_config(),
        "min_quality_source": quality_source,
        "bounds_source": (
            "no motion with registration 'none'"
            if chosen == "none"
            else "largest motion of the registered training pictures with a margin, within the configured bounds"
            if len(accepted) >= MIN_CALIBRATION_PICTURES
            else "the configured bounds (too few pictures to measure)"
        ),
        "region": region,
        "training_pictures": len(training_images),
        "refused": [
            {"picture": name, "reason": result.reason}
            for name, result in zip(names, final_results)
            if not result.accepted
        ],
        "rotations": chosen_figures.pop("_rotations"),
        "shifts": chosen_figures.pop("_shifts"),
    }
    for figure in figures:
        figure.pop("_rotations", None), figure.pop("_shifts", None)
    return final, registration_report


def _requested_region(setting) -> tuple[list[int] | None, dict[str, Any] | None]:
    """The region the candidates are measured on, and its report (None: to be suggested after the choice)."""
    if setting is None or setting == AUTO:
        return None, None
    if setting == WHOLE_FRAME:
        return None, {"source": "saved", "why": "the whole frame, as set in the settings"}
    return [int(value) for value in setting], {"source": "saved", "why": "as set in the settings"}


def _figures(method: str, registrar: Registrar, results, seconds: float) -> dict[str, Any]:
    accepted = [result for result in results if result.accepted]
    rotations = [round(result.motion["rotation"], 3) for result in accepted]
    shifts = [round(float(np.hypot(result.motion["shift_x"], result.motion["shift_y"])), 2) for result in accepted]
    qualities = [result.measured_quality for result in results]
    return {
        "method": method,
        "refused": len(results) - len(accepted),
        "median_quality": spread(qualities)["median"],
        "quality": spread(qualities),
        "rotation": spread(rotations),
        "shift_px": spread(shifts),
        "ms_per_picture": round(1000 * seconds / max(1, len(results)), 1),
        "_rotations": rotations,
        "_shifts": shifts,
    }


def _choose(figures: list[dict[str, Any]]) -> tuple[str, str]:
    fewest = min(figure["refused"] for figure in figures)
    contenders = [figure for figure in figures if figure["refused"] == fewest]
    best = max(contenders, key=lambda figure: _median(figure))
    tied = [figure for figure in contenders if _median(best) - _median(figure) < MEDIAN_TIE]
    best = max(tied, key=lambda figure: -1.0 if figure["quality"]["min"] is None else figure["quality"]["min"])
    unaligned = next((figure for figure in contenders if figure["method"] == "none"), None)
    gain = (_median(best) - _median(unaligned)) / max(1e-6, 1.0 - _median(unaligned)) if unaligned else 1.0
    if unaligned is not None and best["method"] != "none" and gain < ALIGNMENT_GAIN:
        return "none", (
            f"alignment does not make the pictures more similar to the reference (median similarity "
            f"{_median(best):.3f} aligned with {best['method']!r}, {_median(unaligned):.3f} unaligned, "
            f"{gain:.0%} of the way to a perfect match): each picture is its own texture, or the parts are "
            f"already in place"
        )
    refused = "no picture refused" if fewest == 0 else f"fewest refusals ({fewest})"
    return best["method"], (
        f"{refused}, then the best median similarity ({_median(best):.3f}; ties within "
        f"{MEDIAN_TIE} go to the best worst picture, {best['quality']['min']:.3f})"
    )


def _median(figure: dict[str, Any]) -> float:
    value = figure["median_quality"]
    return -1.0 if value is None else float(value)
