"""Aligning each photo of a part to the product's reference image.

The models compare pixels at fixed positions, so every image is first brought
into the reference image's frame (shift, rotation, optionally scale), cropped to
the region of interest, and refused if it does not match the reference well
enough to be inspected.

The transform is estimated on a grey copy downscaled to ``working_side`` pixels
(fast, and insensitive to sensor noise) and then applied once to the
full-resolution colour image. Methods:

``"ecc"``
    OpenCV's enhanced correlation coefficient maximisation, run coarse to fine
    on an image pyramid so that shifts of a tenth of the image still converge.
``"orb"``
    ORB key points matched to the reference's, transform fitted with RANSAC
    (``estimateAffinePartial2D``); copes with any rotation.
``"orb+ecc"``
    ORB for the coarse transform, ECC to refine it to sub-pixel accuracy.
``"none"``
    For data sets photographed already aligned: only resize to the reference
    size and crop.

Default chosen by measurement on the circuitboard data set (one board at
varying position and angle, 1000x667 RGB): the 99 other photos aligned to
train-normal_1, ROI (266, 207, 467, 248) around the board, euclidean motion,
working_side=256, 2 CPU cores; the last column is the quality measured at full
resolution, a stricter check of sub-pixel accuracy::

    method    accepted  mean quality  min quality  ms/image  full-res NCC
    ecc        99/99       0.844         0.739          9       0.772
    orb        99/99       0.840         0.700         12       0.764
    orb+ecc    99/99       0.846         0.739         14       0.778
    none     (no check)    0.482         0.206          2       0.384

(times on an idle machine; 14/14/19/4 ms with other jobs on both cores.) The
photos move at most ~28 px and 2.6 degrees, which all three handle. On the
reference warped by known larger motions ECC alone fails from 10 degrees +
(80, -40) px on (rejected), while orb+ecc recovers even 90 degrees + (80, -40)
px to within 2.5 px: hence ``"orb+ecc"``, the most accurate and widest-reaching
for ~5 ms more than ECC. working_side=512 lifts full-resolution NCC to 0.803 at
twice the time; 256 matches the autoencoder's resolution (downsize factor 4).
ECC has no similarity model: with ``motion="similarity"`` it fits an affine
transform projected to a similarity, which is less reliable (93/99 accepted),
so prefer ``"orb+ecc"`` when scale really varies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from ..errors import RegistrationError
from ..data.imageio import to_gray
from ..progress import ProgressCallback, ProgressEvent, report

METHODS = ("ecc", "orb", "orb+ecc", "none")
_PARAMETERS = (
    "method", "motion", "working_side", "roi", "min_quality", "max_iterations", "epsilon",
    "max_features", "min_coverage",
)
MOTIONS = ("translation", "euclidean", "similarity")

# ECC pyramid: the coarsest level keeps at least this many pixels on its
# shorter side, below which correlation has too little structure to lock on.
_ECC_MIN_LEVEL_SIDE = 40
# A part is rigid and the camera fixed: a scale outside this range means the
# estimate latched onto something else, not that the part changed size.
_PLAUSIBLE_SCALE = (0.67, 1.5)
_MIN_ORB_INLIERS = 8


@dataclass
class RegistrationResult:
    """Outcome of aligning one image.

    ``image``: aligned and cropped float32 (h, w, C) in [0, 1], or None when
    rejected. ``quality``: zero-mean normalised cross-correlation, in [-1, 1],
    between the aligned image and the reference, both grey at the working
    resolution, inside the region of interest (1 = same picture up to a
    brightness gain and offset, about 0 = unrelated). ``matrix``: 2x3 affine
    map from reference pixel coordinates (x, y, 1) to pixel coordinates of the
    input image after it was resized to the reference size. ``reason``: why it
    was rejected, in words, or "" when accepted.
    """

    image: Optional[np.ndarray]
    quality: float
    matrix: np.ndarray
    accepted: bool
    reason: str = ""


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
    min_quality : images whose quality is below this are rejected. Not applied
        with method "none": there is no alignment to verify, and different
        samples of a textured surface correlate weakly even when aligned
        (magnetic tiles: median 0.33), so quality is only reported.
    max_iterations, epsilon : ECC stopping criteria per pyramid level.
    max_features : ORB key points per image.
    min_coverage : fraction of the region of interest that must come from
        inside the photographed image (the rest is filled by edge replication).

    Input handling: an image whose channel count differs from the reference is
    converted (grey is repeated to RGB, RGB is reduced to BT.601 grey); an
    image of a different size is resized to the reference size first, so a
    different camera resolution reads as the same field of view.
    """

    def __init__(
        self,
        *,
        method: str = "orb+ecc",
        motion: str = "euclidean",
        working_side: int = 256,
        roi: Optional[Sequence[int]] = None,
        min_quality: float = 0.6,
        max_iterations: int = 100,
        epsilon: float = 1e-5,
        max_features: int = 1000,
        min_coverage: float = 0.95,
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

    # ------------------------------------------------------------------ fit
    def fit(self, reference: np.ndarray) -> "Registrar":
        import cv2

        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {self.method!r}")
        if self.motion not in MOTIONS:
            raise ValueError(f"motion must be one of {MOTIONS}, not {self.motion!r}")
        reference = _as_image(reference, "reference")
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
        self.reference_small_ = grey_small
        self.roi_mask_small_ = roi_mask
        if self.method in ("orb", "orb+ecc"):
            self.reference_features_ = _orb_features(grey_small, roi_mask, self.max_features)
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
        """Align one image; a rejected image comes back with ``image=None``."""
        import cv2

        self._check_fitted()
        image = self._conform(_as_image(image, "image"))
        moving_small = cv2.resize(to_gray(image), self.reference_small_.shape[::-1], interpolation=cv2.INTER_AREA)

        small_matrix, failure = self._estimate(moving_small)
        full_matrix = _to_full_resolution(small_matrix, *self.working_scale_)
        if failure:
            return RegistrationResult(None, float("nan"), full_matrix, False, failure)

        quality, coverage = self._quality_and_coverage(moving_small, small_matrix)
        # Low similarity is checked first: an alignment that ran off also tends
        # to leave the frame, and "too different" is then the true reason.
        if self.method != "none" and not quality >= self.min_quality:
            failure = (f"too different from the reference after alignment: similarity {quality:.2f} "
                       f"is below the minimum {self.min_quality:.2f}")
        elif coverage < self.min_coverage:
            failure = (f"only {coverage:.0%} of the region of interest lies inside the image "
                       f"(at least {self.min_coverage:.0%} needed)")
        if failure:
            return RegistrationResult(None, quality, full_matrix, False, failure)
        return RegistrationResult(self._warp(image, full_matrix), quality, full_matrix, True, "")

    def register_many(
        self, images: Iterable[np.ndarray], progress: Optional[ProgressCallback] = None
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

    def _conform(self, image: np.ndarray) -> np.ndarray:
        import cv2

        height, width, channels = self.reference_.shape
        if image.shape[2] != channels:
            image = np.repeat(image, 3, axis=2) if channels == 3 else to_gray(image)[:, :, None]
        if image.shape[:2] != (height, width):
            # Area averaging avoids aliasing when shrinking, but blurs blocks
            # when enlarging; use it only when no side grows.
            shrinking = image.shape[0] >= height and image.shape[1] >= width
            interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
            image = cv2.resize(image, (width, height), interpolation=interpolation)
            if image.ndim == 2:
                image = image[:, :, None]
        return image

    # ----------------------------------------------------------- estimation
    def _estimate(self, moving_small: np.ndarray) -> tuple[np.ndarray, str]:
        """2x3 matrix at working scale, and a failure reason ('' on success)."""
        identity = np.eye(2, 3, dtype=np.float32)
        if self.method == "none":
            return identity, ""
        starts = [identity]
        if self.method in ("orb", "orb+ecc"):
            orb_matrix, failure = self._estimate_orb(moving_small)
            if self.method == "orb":
                return (identity, failure) if failure else self._checked_matrix(orb_matrix)
            if not failure:
                # Try ORB's coarse pose first; identity stays as a fallback for
                # smooth parts where ORB finds few or misleading features.
                starts.insert(0, orb_matrix)
        best_matrix, best_quality = identity, -np.inf
        for start in starts:
            matrix = self._estimate_ecc(moving_small, start)
            # ECC can run off on a weak or repetitive region; never keep a
            # result that matches worse than where it started.
            for candidate in (matrix, start):
                quality = self._quality_and_coverage(moving_small, candidate)[0]
                if quality > best_quality:
                    best_matrix, best_quality = candidate, quality
            if best_quality >= self.min_quality:
                break
        return self._checked_matrix(best_matrix)

    def _checked_matrix(self, matrix: np.ndarray) -> tuple[np.ndarray, str]:
        if not np.all(np.isfinite(matrix)):
            return np.eye(2, 3, dtype=np.float32), "alignment failed (no finite transform found)"
        scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
        if not _PLAUSIBLE_SCALE[0] <= scale <= _PLAUSIBLE_SCALE[1]:
            return matrix, f"alignment found an implausible scale change ({scale:.2f}x)"
        return matrix.astype(np.float32), ""

    def _estimate_ecc(self, moving_small: np.ndarray, start: np.ndarray) -> np.ndarray:
        import cv2

        motion_type = {
            "translation": cv2.MOTION_TRANSLATION,
            "euclidean": cv2.MOTION_EUCLIDEAN,
            "similarity": cv2.MOTION_AFFINE,  # ECC has no similarity model: fit affine, project below
        }[self.motion]
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, int(self.max_iterations), float(self.epsilon))

        templates, movings, masks = [self.reference_small_], [moving_small], [self.roi_mask_small_]
        roi_side = min(self.roi_[2] * self.working_scale_[0], self.roi_[3] * self.working_scale_[1])
        while min(min(templates[-1].shape), roi_side) // 2 >= _ECC_MIN_LEVEL_SIDE:
            roi_side /= 2
            templates.append(cv2.pyrDown(templates[-1]))
            movings.append(cv2.pyrDown(movings[-1]))
            masks.append(cv2.resize(masks[-1], templates[-1].shape[::-1], interpolation=cv2.INTER_NEAREST))
        levels = len(templates)

        warp = start.astype(np.float32).copy()
        warp[:, 2] /= 2 ** (levels - 1)
        for level in reversed(range(levels)):
            mask = masks[level] if masks[level].any() else None
            try:
                _, warp = cv2.findTransformECC(templates[level], movings[level], warp, motion_type, criteria, mask, 5)
            except cv2.error:
                # No convergence at this level: keep the coarser estimate; the
                # quality check decides whether it is good enough.
                pass
            if level:
                warp[:, 2] *= 2
        if self.motion == "similarity":
            warp = _nearest_similarity(warp)
        return warp

    def _estimate_orb(self, moving_small: np.ndarray) -> tuple[np.ndarray, str]:
        import cv2

        identity = np.eye(2, 3, dtype=np.float32)
        reference_points, reference_descriptors = self.reference_features_
        points, descriptors = _orb_features(moving_small, None, self.max_features)
        if reference_descriptors is None or descriptors is None or len(points) < _MIN_ORB_INLIERS:
            return identity, "alignment failed: too few distinctive features found"
        matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        pairs = matcher.knnMatch(reference_descriptors, descriptors, k=2)
        # Lowe's ratio test drops ambiguous matches on repetitive texture.
        good = [pair[0] for pair in pairs if len(pair) == 2 and pair[0].distance < 0.8 * pair[1].distance]
        if len(good) < _MIN_ORB_INLIERS:
            return identity, f"alignment failed: only {len(good)} features match the reference"
        source = reference_points[[match.queryIdx for match in good]]
        target = points[[match.trainIdx for match in good]]

        if self.motion == "translation":
            matrix, inliers = _translation_consensus(source, target, threshold=3.0)
        else:
            matrix, inlier_mask = cv2.estimateAffinePartial2D(
                source, target, method=cv2.RANSAC, ransacReprojThreshold=3.0, maxIters=2000,
                confidence=0.995, refineIters=10,
            )
            if matrix is None:
                return identity, "alignment failed: no consistent transform among matched features"
            inliers = inlier_mask.ravel().astype(bool)
            if self.motion == "euclidean":
                matrix = _remove_scale(matrix, source[inliers], target[inliers])
        if int(inliers.sum()) < _MIN_ORB_INLIERS:
            return identity, f"alignment failed: only {int(inliers.sum())} features agree on one transform"
        return matrix.astype(np.float32), ""

    # ------------------------------------------------------ quality / warp
    def _quality_and_coverage(self, moving_small: np.ndarray, matrix: np.ndarray) -> tuple[float, float]:
        import cv2

        size = self.reference_small_.shape[::-1]
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        aligned = cv2.warpAffine(moving_small, matrix, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
        inside = cv2.warpAffine(
            np.ones_like(moving_small), matrix, size, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0
        )
        region = self.roi_mask_small_.astype(bool)
        coverage = float(np.mean(inside[region] > 0.5))
        return _normalised_cross_correlation(aligned[region], self.reference_small_[region]), coverage

    def warp_mask(self, mask: np.ndarray, result: RegistrationResult) -> np.ndarray:
        """Bring a mask drawn on the original photo into the registered frame of ``result``.

        Ground-truth defect masks are drawn on the unregistered photo; pixel
        metrics compare them with anomaly maps in the registered frame, so the
        mask must undergo the same resize, warp and crop (nearest neighbour,
        and zero outside the photo, so it stays binary and adds nothing).
        """
        import cv2

        self._check_fitted()
        height, width = self.reference_.shape[:2]
        mask = np.asarray(mask).astype(np.uint8)
        if mask.ndim == 3:
            mask = mask[..., 0]
        if mask.shape != (height, width):
            mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)
        return self._warp(mask, result.matrix, nearest=True)[..., 0]

    def _warp(self, image: np.ndarray, matrix: np.ndarray, *, nearest: bool = False) -> np.ndarray:
        import cv2

        x, y, roi_width, roi_height = self.roi_
        # Warp straight into the crop: output pixel (u, v) is reference pixel
        # (u + x, v + y), so the translation absorbs the ROI offset.
        cropped = matrix.astype(np.float64).copy()
        cropped[:, 2] += cropped[:, :2] @ np.array([x, y], dtype=np.float64)
        interpolation = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
        border = cv2.BORDER_CONSTANT if nearest else cv2.BORDER_REPLICATE
        aligned = cv2.warpAffine(
            image, cropped, (roi_width, roi_height),
            flags=interpolation | cv2.WARP_INVERSE_MAP, borderMode=border, borderValue=0,
        )
        if aligned.ndim == 2:
            aligned = aligned[:, :, None]
        if nearest:
            return aligned
        return np.clip(aligned, 0.0, 1.0).astype(np.float32, copy=False)

    # -------------------------------------------------------- persistence
    def get_config(self) -> dict[str, Any]:
        """Hyper-parameters (JSON-able); the reference image is stored separately."""
        config = {name: _plain(getattr(self, name)) for name in _PARAMETERS}
        config["roi"] = None if self.roi is None else [int(value) for value in self.roi]
        if hasattr(self, "reference_"):
            config["reference_shape"] = [int(size) for size in self.reference_.shape]
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], reference: np.ndarray) -> "Registrar":
        parameters = {key: value for key, value in config.items() if key != "reference_shape"}
        expected = config.get("reference_shape")
        reference = _as_image(reference, "reference")
        if expected is not None and list(reference.shape) != list(expected):
            raise RegistrationError(
                f"reference image has shape {tuple(reference.shape)}, the configuration expects {tuple(expected)}"
            )
        return cls(**parameters).fit(reference)


def _plain(value):
    """NumPy scalars to Python ones, so the config is JSON-able."""
    return value.item() if isinstance(value, np.generic) else value


def _as_image(image: np.ndarray, what: str) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3) or image.shape[0] < 2 or image.shape[1] < 2:
        raise ValueError(f"{what} must be an (H, W, 1|3) array, got shape {image.shape}")
    return image.astype(np.float32, copy=False)


def _orb_features(grey: np.ndarray, mask: Optional[np.ndarray], max_features: int):
    import cv2

    detector = cv2.ORB_create(nfeatures=int(max_features), scaleFactor=1.2, nlevels=6, edgeThreshold=15, patchSize=15)
    keypoints, descriptors = detector.detectAndCompute(np.round(np.clip(grey, 0, 1) * 255).astype(np.uint8), mask)
    points = np.array([keypoint.pt for keypoint in keypoints], dtype=np.float32).reshape(-1, 2)
    return points, descriptors


def _translation_consensus(source: np.ndarray, target: np.ndarray, threshold: float):
    """Shift most matched pairs agree on (exhaustive consensus, vectorised)."""
    shifts = target - source
    distances = np.linalg.norm(shifts[:, None, :] - shifts[None, :, :], axis=2)
    best = int(np.argmax((distances < threshold).sum(axis=1)))
    inliers = distances[best] < threshold
    shift = shifts[inliers].mean(axis=0)
    return np.array([[1, 0, shift[0]], [0, 1, shift[1]]], dtype=np.float64), inliers


def _remove_scale(matrix: np.ndarray, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Keep the rotation of a similarity and refit the shift for unit scale."""
    angle = np.arctan2(matrix[1, 0], matrix[0, 0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    shift = (target - source @ rotation.T).mean(axis=0)
    return np.hstack([rotation, shift[:, None]])


def _to_full_resolution(matrix: np.ndarray, scale_x: float, scale_y: float) -> np.ndarray:
    """Conjugate a working-scale transform by the downscaling: S^-1 M S."""
    scaling = np.diag([scale_x, scale_y, 1.0])
    homogeneous = np.vstack([matrix.astype(np.float64), [0.0, 0.0, 1.0]])
    return (np.linalg.inv(scaling) @ homogeneous @ scaling)[:2].astype(np.float32)


def _nearest_similarity(affine: np.ndarray) -> np.ndarray:
    # Closest matrix of the form [[a, -b], [b, a]]: average the two estimates
    # of a and of b, dropping shear and anisotropic scale.
    a = (affine[0, 0] + affine[1, 1]) / 2
    b = (affine[1, 0] - affine[0, 1]) / 2
    return np.array([[a, -b, affine[0, 2]], [b, a, affine[1, 2]]], dtype=np.float32)


def _normalised_cross_correlation(first: np.ndarray, second: np.ndarray) -> float:
    first = first.astype(np.float64) - first.mean()
    second = second.astype(np.float64) - second.mean()
    denominator = np.sqrt((first * first).sum() * (second * second).sum())
    if denominator < 1e-12:
        return 0.0
    return float((first * second).sum() / denominator)
