"""Aligning each photo of a part to the product's reference image.

The models compare pixels at fixed positions, so every image is first brought
into the reference image's frame (shift, rotation, optionally scale), cropped to
the region of interest, and refused if it does not match the reference well
enough to be inspected.

The transform is estimated on a grey copy downscaled to ``working_side`` pixels
(fast, and insensitive to sensor noise) and then applied once to the
full-resolution colour image. Methods: ``"ecc"`` (OpenCV's enhanced
correlation coefficient, coarse to fine on a pyramid), ``"orb"`` (ORB key
points and RANSAC; any rotation), ``"orb+ecc"`` (ORB's coarse transform refined
by ECC to sub-pixel accuracy) and ``"none"`` (already aligned: resize and crop).

The default method of a fixed mode is ``"orb+ecc"``: on the circuitboard photos
it was the most accurate and the widest-reaching for a few milliseconds more
than ECC (figures in docs/benchmarks.md, "Registration").

Every method also tries the identity (and ECC from a phase-correlation shift),
and the identity is kept unless a warp matches the reference better by a clear
margin: a fixtured part stays untouched, and a nearly symmetric part is not
turned by a rotation that gains nothing. Warps outside the product's motion
bounds (``max_rotation``, ``max_shift``, ``max_scale_change``) are not taken;
the next best one inside them is. Pixels a warp brings in from outside the
picture are filled with the reference's own pixels (so they look like a good
part to every method) and marked invalid in ``RegistrationResult.valid_mask``;
a picture is refused for that only when less than ``min_coverage`` of the
region stays valid.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..data.imageio import to_gray
from ..errors import RegistrationError
from ..progress import ProgressCallback, ProgressEvent, report
from .candidates import CandidateSearch
from .estimators import orb_features
from .motion import Candidate, MotionBounds, choose_candidate, motion_of, rotation_limit, shown_apart
from .result import RegistrationResult
from .shapes import as_image, conform
from .warping import to_full_resolution as _to_full_resolution
from .warping import warp_filled_from_reference, warp_into_crop

METHODS = ("ecc", "orb", "orb+ecc", "none")
_PARAMETERS = (
    "method",
    "motion",
    "working_side",
    "roi",
    "min_quality",
    "max_iterations",
    "epsilon",
    "max_features",
    "min_coverage",
    "max_rotation",
    "max_shift",
    "max_scale_change",
    "identity_margin",
)
MOTIONS = ("translation", "euclidean", "similarity")
#: Similarity minimum of an aligning method before it was calibrated on a product's pictures.
FALLBACK_MIN_QUALITY = 0.6


class Registrar:
    """Aligns images to one reference image (scikit-learn estimator contract).

    Parameters
    ----------
    method : "orb+ecc" (default), "ecc", "orb" or "none", see module docstring.
    motion : "translation", "euclidean" (shift + rotation, default) or
        "similarity" (also uniform scale).
    working_side : longest side in pixels of the grey copy the transform is
        estimated on.
    roi : (x, y, w, h) in reference pixels; the aligned image is cropped to it
        and only this region drives the alignment and the quality.
    min_quality : images whose quality is below this are refused. "auto"
        (until ``auto.fit_registration`` calibrates it on the product's good
        pictures): ``FALLBACK_MIN_QUALITY`` for the aligning methods and no
        check with "none", since different samples of a textured surface
        correlate weakly even when aligned (magnetic tiles: median 0.33).
    max_iterations, epsilon : ECC stopping criteria per pyramid level.
    max_features : ORB key points per image.
    min_coverage : fraction of the region of interest that must stay valid
        (come from inside the picture) for the picture to be judged.
    max_rotation : largest rotation in degrees a picture may need, or "any".
    max_shift : largest shift of the region's centre, as a fraction of the
        reference's longer side.
    max_scale_change : largest relative scale change (motion "similarity").
    identity_margin : how much better than the unwarped picture a warp must
        match the reference (in quality) to be taken.

    Input handling: an image whose channel count differs from the reference is
    converted (grey is repeated to RGB, RGB is reduced to BT.601 grey); an
    image of a different size is brought to the reference size first, see
    ``shapes.conform``.
    """

    def __init__(
        self,
        *,
        method: str = "orb+ecc",
        motion: str = "euclidean",
        working_side: int = 256,
        roi: Sequence[int] | None = None,
        min_quality: float | str = "auto",
        max_iterations: int = 100,
        epsilon: float = 1e-5,
        max_features: int = 1000,
        min_coverage: float = 0.5,
        max_rotation: float | str = 30.0,
        max_shift: float = 0.5,
        max_scale_change: float = 0.1,
        identity_margin: float = 0.02,
    ):
        self.method = method
        self.motion = motion
        self.working_side = working_side
        self.roi = roi
        self.min_quality = min_quality
        self.max_iterations = max_iterations
        self.epsilon = epsilon
        self.max_features = max_features
        self.min_coverage = min_coverage
        self.max_rotation = max_rotation
        self.max_shift = max_shift
        self.max_scale_change = max_scale_change
        self.identity_margin = identity_margin

    # ------------------------------------------------------------------ fit
    def fit(self, reference: np.ndarray) -> Registrar:
        import cv2

        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {self.method!r}")
        if self.motion not in MOTIONS:
            raise ValueError(f"motion must be one of {MOTIONS}, not {self.motion!r}")
        for name in ("min_coverage", "max_shift", "max_scale_change", "identity_margin"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= (1.0 if name != "max_shift" else 2.0):
                raise ValueError(f"{name} must be a number between 0 and 1, not {value!r}")
        if self.min_quality != "auto" and not isinstance(self.min_quality, (int, float)):
            raise ValueError(f"min_quality must be a number between -1 and 1 or 'auto', not {self.min_quality!r}")
        reference = as_image(reference, "reference")
        height, width, channels = reference.shape
        roi = self._checked_roi(height, width)
        x, y, roi_width, roi_height = roi

        scale = min(1.0, float(self.working_side) / max(height, width))
        small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
        grey_small = cv2.resize(to_gray(reference), small_size, interpolation=cv2.INTER_AREA)
        # Rounding makes the two axes' scales differ slightly; keep both.
        scale_x, scale_y = small_size[0] / width, small_size[1] / height
        roi_mask = np.zeros(grey_small.shape, np.uint8)
        x0, y0 = int(np.floor(x * scale_x)), int(np.floor(y * scale_y))
        x1, y1 = int(np.ceil((x + roi_width) * scale_x)), int(np.ceil((y + roi_height) * scale_y))
        roi_mask[y0:y1, x0:x1] = 1

        self.reference_ = reference
        self.roi_ = roi
        self.output_shape_ = (roi_height, roi_width, channels)
        self.working_scale_ = (scale_x, scale_y)
        self.bounds_ = MotionBounds(
            max_rotation=rotation_limit(self.max_rotation),
            max_shift=float(self.max_shift),
            max_scale_change=float(self.max_scale_change),
            frame_side=float(max(height, width)),
        )
        self.search_ = CandidateSearch(
            method=self.method,
            motion=self.motion,
            max_features=self.max_features,
            max_iterations=self.max_iterations,
            epsilon=self.epsilon,
            reference_small=grey_small,
            roi_mask_small=roi_mask,
            working_scale=self.working_scale_,
            roi_centre=self._roi_centre(),
            roi_side=min(roi_width * scale_x, roi_height * scale_y),
            bounds=self.bounds_,
            reference_features=(
                orb_features(grey_small, roi_mask, self.max_features) if self.method in ("orb", "orb+ecc") else None
            ),
        )
        return self

    def _checked_roi(self, height: int, width: int) -> tuple[int, int, int, int]:
        if self.roi is None:
            return (0, 0, width, height)
        if len(self.roi) != 4:
            raise ValueError(f"roi must be (x, y, w, h), got {self.roi!r}")
        x, y, roi_width, roi_height = (int(value) for value in self.roi)
        if roi_width < 1 or roi_height < 1 or x < 0 or y < 0 or x + roi_width > width or y + roi_height > height:
            raise RegistrationError(
                f"region of interest {self.roi!r} does not fit inside the {width}x{height} reference image"
            )
        return (x, y, roi_width, roi_height)

    # ------------------------------------------------------------- register
    def register(self, image: np.ndarray) -> RegistrationResult:
        """Align one image; a refused image comes back with ``image=None`` and its reason."""
        import cv2

        self._check_fitted()
        image, validity, adjustment = conform(as_image(image, "image"), self.reference_.shape)
        small_size = self.search_.reference_small.shape[::-1]
        moving_small = cv2.resize(to_gray(image), small_size, interpolation=cv2.INTER_AREA)
        validity_small = cv2.resize(validity, small_size, interpolation=cv2.INTER_AREA)

        candidates = self.search_.candidates(moving_small, validity_small)
        chosen, failure = choose_candidate(
            candidates,
            radius=self._roi_radius(),
            identity_margin=float(self.identity_margin),
            min_coverage=float(self.min_coverage),
        )
        if chosen is None:
            return self._refused(candidates[0], failure, adjustment)
        full_matrix = _to_full_resolution(chosen.matrix, *self.working_scale_)
        minimum = self._min_quality()
        if minimum is not None and not chosen.quality >= minimum:
            # Identity first must never cost a picture: an allowed warp that
            # clears the minimum is taken even when its gain is small.
            passing = [
                candidate
                for candidate in candidates
                if candidate.violation is None
                and candidate.coverage >= self.min_coverage
                and candidate.quality >= minimum
            ]
            if not passing:
                return self._refused(chosen, self._too_different(chosen, candidates), adjustment)
            chosen = max(passing, key=lambda candidate: candidate.quality)
            full_matrix = _to_full_resolution(chosen.matrix, *self.working_scale_)
        aligned, valid_mask = self._warp_with_validity(image, validity, full_matrix)
        return RegistrationResult(
            aligned,
            chosen.quality,
            full_matrix,
            True,
            "",
            valid_mask=valid_mask,
            coverage=chosen.coverage,
            motion=self._motion_dict(full_matrix),
            size_adjustment=adjustment,
            measured_quality=chosen.quality,
        )

    def _refused(self, candidate: Candidate, reason: str, adjustment: str) -> RegistrationResult:
        full_matrix = _to_full_resolution(candidate.matrix, *self.working_scale_)
        return RegistrationResult(
            None,
            float("nan"),
            full_matrix,
            False,
            reason,
            coverage=candidate.coverage,
            motion=self._motion_dict(full_matrix),
            size_adjustment=adjustment,
            measured_quality=candidate.quality,
        )

    def _min_quality(self) -> float | None:
        if self.min_quality != "auto":
            return float(self.min_quality)
        return None if self.method == "none" else FALLBACK_MIN_QUALITY

    def _too_different(self, chosen: Candidate, candidates: Sequence[Candidate]) -> str:
        minimum = self._min_quality()
        # A warp that does match but was not allowed is the true reason, not
        # "something else": say which limit it broke.
        matching = [
            candidate for candidate in candidates if math.isfinite(candidate.quality) and candidate.quality >= minimum
        ]
        if matching:
            best = max(matching, key=lambda candidate: candidate.quality)
            if best.violation is not None:
                return f"the alignment that matches the reference (similarity {best.quality:.2f}) is not allowed: {best.violation}"
            shown, needed = shown_apart(best.coverage, float(self.min_coverage), percent=True)
            return (
                f"the alignment that matches the reference (similarity {best.quality:.2f}) leaves only {shown} of "
                f"the region of interest inside the picture (at least {needed} needed to judge it)"
            )
        shown, limit = shown_apart(chosen.quality, minimum)
        return (
            f"too different from the reference after alignment (a different part or something else "
            f"entirely?): similarity {shown} is below the minimum {limit}"
        )

    def register_many(
        self, images: Iterable[np.ndarray], progress: ProgressCallback | None = None
    ) -> list[RegistrationResult]:
        """Register each image in turn, reporting progress (stage "register")."""
        images = list(images)
        results = []
        for index, image in enumerate(images):
            results.append(self.register(image))
            message = f"aligned {index + 1} of {len(images)} images"
            report(progress, ProgressEvent(stage="register", fraction=(index + 1) / len(images), message=message))
        return results

    def _check_fitted(self) -> None:
        if not hasattr(self, "reference_"):
            raise RegistrationError("the registrar has no reference image yet: call fit(reference) first")

    def _roi_radius(self) -> float:
        _, _, roi_width, roi_height = self.roi_
        return 0.5 * math.hypot(roi_width, roi_height)

    def _roi_centre(self) -> tuple[float, float]:
        x, y, roi_width, roi_height = self.roi_
        return (x + roi_width / 2.0, y + roi_height / 2.0)

    def _motion_dict(self, full_matrix: np.ndarray) -> dict:
        motion = motion_of(full_matrix, self._roi_centre())
        return {
            "rotation": motion.rotation,
            "shift_x": motion.shift_x,
            "shift_y": motion.shift_y,
            "scale": motion.scale,
        }

    # ------------------------------------------------------------------ warp
    def warp_mask(self, mask: np.ndarray, result: RegistrationResult) -> np.ndarray:
        """Bring a mask drawn on the original photo into the registered frame of ``result``.

        Ground-truth defect masks are drawn on the unregistered photo; pixel
        metrics compare them with anomaly maps in the registered frame, so the
        mask must undergo the same resize, warp and crop (nearest neighbour,
        and zero outside the photo, so it stays binary and adds nothing).
        """
        self._check_fitted()
        mask = np.asarray(mask).astype(np.uint8)
        if mask.ndim == 3:
            mask = mask[..., 0]
        mask, _, _ = conform(mask[:, :, None], self.reference_.shape[:2] + (1,), nearest=True)
        return self._warp(mask, result.matrix, nearest=True)[..., 0]

    def _warp_with_validity(self, image: np.ndarray, validity: np.ndarray, matrix: np.ndarray):
        return warp_filled_from_reference(image, validity, matrix, self.roi_, self.reference_)

    def _warp(self, image: np.ndarray, matrix: np.ndarray, *, nearest: bool = False) -> np.ndarray:
        return warp_into_crop(image, matrix, self.roi_, nearest=nearest)

    # -------------------------------------------------------- persistence
    def get_config(self) -> dict[str, Any]:
        """Hyper-parameters (JSON-able); the reference image is stored separately."""
        config = {name: _plain(getattr(self, name)) for name in _PARAMETERS}
        config["roi"] = None if self.roi is None else [int(value) for value in self.roi]
        if hasattr(self, "reference_"):
            config["reference_shape"] = [int(size) for size in self.reference_.shape]
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], reference: np.ndarray) -> Registrar:
        parameters = {key: value for key, value in config.items() if key != "reference_shape"}
        # Saved before motion bounds existed: those registrations took any rotation.
        parameters.setdefault("max_rotation", "any")
        expected = config.get("reference_shape")
        reference = as_image(reference, "reference")
        if expected is not None and list(reference.shape) != list(expected):
            raise RegistrationError(
                f"reference image has shape {tuple(reference.shape)}, the configuration expects {tuple(expected)}"
            )
        return cls(**parameters).fit(reference)


def _plain(value):
    """NumPy scalars to Python ones, so the config is JSON-able."""
    return value.item() if isinstance(value, np.generic) else value
