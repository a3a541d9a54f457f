"""Ways to estimate the warp between a picture and the reference, on grey working-size copies.

Each returns a 2x3 matrix from reference to picture coordinates at working
scale, or None when it finds nothing; whether the warp is any good is decided
by the caller, which compares every candidate on the region of interest.
"""

from __future__ import annotations

import numpy as np

# ECC pyramid: the coarsest level keeps at least this many pixels on its
# shorter side, below which correlation has too little structure to lock on.
_ECC_MIN_LEVEL_SIDE = 40
_MIN_ORB_INLIERS = 8


def ecc_warp(
    template: np.ndarray,
    moving: np.ndarray,
    mask: np.ndarray,
    start: np.ndarray,
    *,
    motion: str,
    roi_side: float,
    max_iterations: int,
    epsilon: float,
) -> np.ndarray:
    """ECC maximisation coarse to fine on an image pyramid, from ``start``."""
    import cv2

    motion_type = {
        "translation": cv2.MOTION_TRANSLATION,
        "euclidean": cv2.MOTION_EUCLIDEAN,
        "similarity": cv2.MOTION_AFFINE,  # ECC has no similarity model: fit affine, project below
    }[motion]
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, int(max_iterations), float(epsilon))
    templates, movings, masks = [template], [moving], [mask]
    while min(min(templates[-1].shape), roi_side) // 2 >= _ECC_MIN_LEVEL_SIDE:
        roi_side /= 2
        templates.append(cv2.pyrDown(templates[-1]))
        movings.append(cv2.pyrDown(movings[-1]))
        masks.append(cv2.resize(masks[-1], templates[-1].shape[::-1], interpolation=cv2.INTER_NEAREST))
    levels = len(templates)

    warp = start.astype(np.float32).copy()
    warp[:, 2] /= 2 ** (levels - 1)
    for level in reversed(range(levels)):
        level_mask = masks[level] if masks[level].any() else None
        try:
            _, warp = cv2.findTransformECC(templates[level], movings[level], warp, motion_type, criteria, level_mask, 5)
        except cv2.error:
            # No convergence at this level: keep the coarser estimate; the
            # comparison of candidates decides whether it is good enough.
            pass
        if level:
            warp[:, 2] *= 2
    if motion == "similarity":
        warp = nearest_similarity(warp)
    return warp


def phase_shift(template: np.ndarray, moving: np.ndarray) -> np.ndarray | None:
    """The translation phase correlation finds; a start for ECC beyond its reach (a part placed anywhere)."""
    import cv2

    window = cv2.createHanningWindow(template.shape[::-1], cv2.CV_32F)
    (shift_x, shift_y), response = cv2.phaseCorrelate(template.astype(np.float32), moving.astype(np.float32), window)
    if not np.isfinite(shift_x) or not np.isfinite(shift_y) or response <= 0:
        return None
    return np.array([[1, 0, shift_x], [0, 1, shift_y]], dtype=np.float32)


def orb_features(grey: np.ndarray, mask: np.ndarray | None, max_features: int):
    import cv2

    detector = cv2.ORB_create(nfeatures=int(max_features), scaleFactor=1.2, nlevels=6, edgeThreshold=15, patchSize=15)
    keypoints, descriptors = detector.detectAndCompute(np.round(np.clip(grey, 0, 1) * 255).astype(np.uint8), mask)
    points = np.array([keypoint.pt for keypoint in keypoints], dtype=np.float32).reshape(-1, 2)
    return points, descriptors


def orb_warp(reference_features, moving: np.ndarray, *, motion: str, max_features: int) -> np.ndarray | None:
    """ORB key points matched to the reference's, transform fitted with RANSAC; copes with any rotation."""
    import cv2

    reference_points, reference_descriptors = reference_features
    points, descriptors = orb_features(moving, None, max_features)
    if reference_descriptors is None or descriptors is None or len(points) < _MIN_ORB_INLIERS:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(reference_descriptors, descriptors, k=2)
    # Lowe's ratio test drops ambiguous matches on repetitive texture.
    good = [pair[0] for pair in pairs if len(pair) == 2 and pair[0].distance < 0.8 * pair[1].distance]
    if len(good) < _MIN_ORB_INLIERS:
        return None
    source = reference_points[[match.queryIdx for match in good]]
    target = points[[match.trainIdx for match in good]]
    if motion == "translation":
        matrix, inliers = _translation_consensus(source, target, threshold=3.0)
    else:
        matrix, inlier_mask = cv2.estimateAffinePartial2D(
            source,
            target,
            method=cv2.RANSAC,
            ransacReprojThreshold=3.0,
            maxIters=2000,
            confidence=0.995,
            refineIters=10,
        )
        if matrix is None:
            return None
        inliers = inlier_mask.ravel().astype(bool)
        if motion == "euclidean":
            matrix = _remove_scale(matrix, source[inliers], target[inliers])
    if int(inliers.sum()) < _MIN_ORB_INLIERS:
        return None
    return matrix.astype(np.float32)


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


def nearest_similarity(affine: np.ndarray) -> np.ndarray:
    # Closest matrix of the form [[a, -b], [b, a]]: average the two estimates
    # of a and of b, dropping shear and anisotropic scale.
    a = (affine[0, 0] + affine[1, 1]) / 2
    b = (affine[1, 0] - affine[0, 1]) / 2
    return np.array([[a, -b, affine[0, 2]], [b, a, affine[1, 2]]], dtype=np.float32)


def normalised_cross_correlation(first: np.ndarray, second: np.ndarray) -> float:
    first = first.astype(np.float64) - first.mean()
    second = second.astype(np.float64) - second.mean()
    denominator = np.sqrt((first * first).sum() * (second * second).sum())
    if denominator < 1e-12:
        return 0.0
    return float((first * second).sum() / denominator)
