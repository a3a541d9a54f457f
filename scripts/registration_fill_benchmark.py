"""Do the pixels a warp brings in from outside the picture (filled with the reference's) change a good part's score?

Usage::

    python scripts/registration_fill_benchmark.py [--methods variation,nearest-image] [--json OUT]

A square plate whose region of interest is the whole frame (tests/synthetic_images.py ``square_part``):
the training pictures are shifted by up to 22 px, the first test pictures by up to 3 px (every pixel
comes from the picture), the other test pictures by 14 to 22 px, so that part of the region comes from outside the
picture and is filled with the reference's pixels. Each method is trained on the registered training
pictures; the script prints, per method, the range of the fully valid good pictures' scores, the
scores of the filled good pictures, and the same scores with the filled pixels' map values set to 0
(the rule applied to every anomaly map), for the methods whose score is the map's peak.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

import numpy as np  # noqa: E402

from inspection.engine.methods import create_method  # noqa: E402
from inspection.engine.registration.auto import fit_registration  # noqa: E402
from inspection.engine.registration.result import without_outside_pixels  # noqa: E402
from tests.synthetic_images import square_part  # noqa: E402

TRAIN, SMALL, LARGE = 24, 12, 12
# The 192-pixel renders: the autoencoder sees them at 96 pixels, so its 64-pixel patches fit.
PARAMETERS = {"nearest-image": {"working_side": 48}, "cpcae-knn": {"downsize_factor": 2}}


def _shifts(rng, count, low, high):
    magnitudes = rng.uniform(low, high, count)
    angles = rng.uniform(0, 2 * np.pi, count)
    return np.stack([magnitudes * np.cos(angles), magnitudes * np.sin(angles)], axis=1)


def measure(methods, *, small=SMALL, large=LARGE) -> list[dict]:
    rng = np.random.default_rng(0)
    # Trained on the same spread of shifts, so the calibrated motion bounds admit the large ones.
    train = [square_part(shift=shift, seed=1 + index) for index, shift in enumerate(_shifts(rng, TRAIN, 0, 22))]
    small = [square_part(shift=shift, seed=100 + index) for index, shift in enumerate(_shifts(rng, small, 0, 3))]
    large = [square_part(shift=shift, seed=200 + index) for index, shift in enumerate(_shifts(rng, large, 14, 22))]
    registrar, report = fit_registration(square_part(seed=0), train)
    trained = [registrar.register(picture) for picture in train]
    valid = [registrar.register(picture) for picture in small]
    filled = [registrar.register(picture) for picture in large]
    assert all(result.accepted for result in trained + valid + filled), [r.reason for r in trained + valid + filled]
    records = []
    for name in methods:
        detector = create_method(name, **PARAMETERS.get(name, {}))
        detector.fit([result.image for result in trained])
        good = detector.explain([result.image for result in valid])
        moved = detector.explain([result.image for result in filled])
        masked_peaks = [
            float(without_outside_pixels(anomaly_map, result.valid_mask).max())
            for anomaly_map, result in zip(moved.maps, filled)
        ]
        records.append(
            {
                "method": name,
                "registration": report["chosen"],
                "filled_share": [round(1 - float(result.valid_mask.mean()), 3) for result in filled],
                "valid_scores": [round(float(value), 5) for value in good.scores],
                "filled_scores": [round(float(value), 5) for value in moved.scores],
                "valid_map_peaks": [round(float(anomaly_map.max()), 5) for anomaly_map in good.maps],
                "filled_map_peaks": [round(float(anomaly_map.max()), 5) for anomaly_map in moved.maps],
                "filled_map_peaks_masked": [round(value, 5) for value in masked_peaks],
            }
        )
    return records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="variation,nearest-image")
    parser.add_argument("--test", type=int, default=SMALL, help="good test pictures of each kind")
    parser.add_argument("--json", default=None)
    arguments = parser.parse_args()
    records = measure(arguments.methods.split(","), small=arguments.test, large=arguments.test)
    for record in records:
        valid, filled = record["valid_scores"], record["filled_scores"]
        inside = sum(min(valid) <= value <= max(valid) for value in filled)
        print(
            f"{record['method']} ({record['registration']}): filled share "
            f"{min(record['filled_share']):.1%}-{max(record['filled_share']):.1%}; "
            f"valid good scores {min(valid):.4g}..{max(valid):.4g}, filled good scores "
            f"{min(filled):.4g}..{max(filled):.4g} ({inside} of {len(filled)} within, "
            f"{sum(value > max(valid) for value in filled)} above); map peaks valid "
            f"{min(record['valid_map_peaks']):.4g}..{max(record['valid_map_peaks']):.4g}, filled "
            f"{min(record['filled_map_peaks']):.4g}..{max(record['filled_map_peaks']):.4g}, filled with the rule "
            f"{min(record['filled_map_peaks_masked']):.4g}..{max(record['filled_map_peaks_masked']):.4g}"
        )
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(records, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
