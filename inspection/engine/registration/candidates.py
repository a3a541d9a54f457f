"""The warps a registrar weighs for one picture, each measured against the reference.

Held by a fitted ``Registrar`` (``search_``): everything here is computed on
the grey working-size copies, so a picture costs a few milliseconds however
large it is. The identity always comes first, then a phase-correlation shift,
ORB's warp where the method uses feature matching, and ECC refinements from
each of those starts; ``motion.choose_candidate`` then decides among them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .estimators import ecc_warp, normalised_cross_correlation, orb_warp, phase_shift
from .motion import Candidate, MotionBounds, motion_of
from .warping import to_full_resolution


@dataclass(frozen=True)
class CandidateSearch:
    method: str
    motion: str
    max_features: int
    max_iterations: int
    epsilon: float
    reference_small: np.ndarray
    roi_mask_small: np.ndarray
    working_scale: tuple[float, float]
    roi_centre: tuple[float, float]
    #: The ROI's shorter side at working size: how far ECC's pyramid may reach.
    roi_side: float
    bounds: MotionBounds
    reference_features: object = None

    def candidates(self, moving_small: np.ndarray, validity_small: np.ndarray) -> list[Candidate]:
        """Every warp worth comparing, the identity first, each with its motion, coverage and quality."""
        identity = np.eye(2, 3, dtype=np.float32)
        candidates = [Candidate(identity, "identity")]
        if self.method != "none":
            starts = [("", identity)]
            shift = phase_shift(self.reference_small, moving_small)
            if shift is not None:
                candidates.append(Candidate(shift, "shift"))
                starts.append(("shift+", shift))
            if self.method in ("orb", "orb+ecc"):
                orb = orb_warp(
                    self.reference_features, moving_small, motion=self.motion, max_features=self.max_features
                )
                if orb is not None:
                    candidates.append(Candidate(orb, "orb"))
                    starts.append(("orb+", orb))
            if self.method != "orb":
                for prefix, start in starts:
                    candidates.append(Candidate(self._ecc(moving_small, start), prefix + "ecc"))
        for candidate in candidates:
            self._measure(candidate, moving_small, validity_small)
        return candidates

    def _ecc(self, moving_small: np.ndarray, start: np.ndarray) -> np.ndarray:
        return ecc_warp(
            self.reference_small,
            moving_small,
            self.roi_mask_small,
            start,
            motion=self.motion,
            roi_side=self.roi_side,
            max_iterations=self.max_iterations,
            epsilon=self.epsilon,
        )

    def _measure(self, candidate: Candidate, moving_small: np.ndarray, validity_small: np.ndarray) -> None:
        import cv2

        full_matrix = to_full_resolution(candidate.matrix, *self.working_scale)
        candidate.motion = motion_of(full_matrix, self.roi_centre)
        candidate.violation = self.bounds.violation(candidate.motion)
        if not np.all(np.isfinite(candidate.matrix)):
            return
        size = self.reference_small.shape[::-1]
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        aligned = cv2.warpAffine(moving_small, candidate.matrix, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
        inside = cv2.warpAffine(
            validity_small, candidate.matrix, size, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0
        )
        region = self.roi_mask_small.astype(bool)
        valid = region & (inside > 0.5)
        candidate.coverage = float(valid.sum() / max(1, region.sum()))
        candidate.quality = (
            normalised_cross_correlation(aligned[valid], self.reference_small[valid]) if valid.any() else float("nan")
        )
