"""What registration does when nobody set it up: the region in force, and training that never stops on refusals.

Every picture is rendered here (tests/synthetic_images.py).
"""

import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspection.engine.errors import TrainingRefusedByRegistration
from inspection.engine.registration.auto import fit_registration
from inspection.engine.registration.region import suggest_roi
from inspection.engine.scoring.evaluation import evaluate
from tests.synthetic_images import SIDE, radial_part, texture_surface

REPOSITORY = Path(__file__).resolve().parents[2]
RADIUS = 60.0


def _inside(box, roi) -> bool:
    x0, y0, x1, y1 = box
    x, y, width, height = roi
    return x <= x0 and y <= y0 and x1 <= x + width and y1 <= y + height


def _placed_anywhere(count: int, seed: int):
    rng = np.random.default_rng(seed)
    return [
        dict(centre=(rng.uniform(62, 130), rng.uniform(62, 130)), angle=float(rng.uniform(-180, 180)))
        for _ in range(count)
    ]


def test_without_a_saved_region_the_part_suggested_on_the_reference_is_in_force_where_it_aligns_alike():
    # Parts shifted by up to 25 px and turned a little: aligned, each is brought to where it sits on the reference.
    rng = np.random.default_rng(3)
    poses = [
        dict(centre=tuple(SIDE / 2 + rng.uniform(-25, 25, 2)), angle=float(rng.uniform(-3, 3))) for _ in range(16 + 8)
    ]
    pictures = [radial_part(seed=index + 1, **pose) for index, pose in enumerate(poses)]
    registrar, report = fit_registration(radial_part(seed=0), pictures[:16])
    region = report["region"]
    assert report["chosen"] != "none"
    assert region["source"] == "suggested" and not region["whole_frame"] and "the part" in region["why"]
    assert region["roi"] == list(registrar.roi_) == list(suggest_roi(radial_part(seed=0)))
    # The disc on the reference (centre 96, radius 60) lies inside, and the region is smaller than the frame.
    assert _inside((36, 36, 156, 156), region["roi"]) and region["roi"][2] * region["roi"][3] < 0.7 * SIDE * SIDE
    results = [registrar.register(picture) for picture in pictures[16:]]
    assert all(result.accepted for result in results), [result.reason for result in results]
    assert all(result.image.shape[:2] == (region["roi"][3], region["roi"][2]) for result in results)


def test_a_round_part_placed_anywhere_keeps_the_whole_frame_where_the_part_region_would_align_it_otherwise():
    # Measured: ribs every 10 degrees; on the region around the part one of these pictures lands a rib away
    # from the pose the whole frame finds, so the suggestion is not trusted and nothing is cropped.
    poses = _placed_anywhere(16, seed=2)
    pictures = [radial_part(seed=index + 1, **pose) for index, pose in enumerate(poses)]
    registrar, report = fit_registration(radial_part(seed=0), pictures)
    region = report["region"]
    assert region["source"] == "suggested" and region["whole_frame"] and "another pose" in region["why"]
    assert list(registrar.roi_) == [0, 0, SIDE, SIDE] and report["refused"] == []


def test_with_registration_none_the_region_holds_the_part_wherever_a_good_picture_shows_it():
    poses = _placed_anywhere(12, seed=5)
    pictures = [radial_part(seed=index + 1, **pose) for index, pose in enumerate(poses)]
    registrar, report = fit_registration(radial_part(seed=0), pictures, settings={"method": "none"})
    region = report["region"]
    assert region["source"] == "suggested" and "every good training picture" in region["why"]
    for pose in poses:
        x, y = pose["centre"]
        assert _inside((x - RADIUS, y - RADIUS, x + RADIUS, y + RADIUS), region["roi"]), (pose, region["roi"])
    assert report["refused"] == []


def test_a_surface_filling_the_frame_is_suggested_the_whole_frame_and_a_saved_region_is_kept():
    pictures = [texture_surface(seed=index + 1) for index in range(8)]
    _, report = fit_registration(texture_surface(seed=0), pictures)
    assert report["region"]["source"] == "suggested" and report["region"]["whole_frame"]
    assert "whole frame" in report["region"]["why"]
    _, saved = fit_registration(texture_surface(seed=0), pictures, settings={"roi": [10, 20, 100, 80]})
    assert saved["region"] == {
        "source": "saved",
        "why": "as set in the settings",
        "roi": [10, 20, 100, 80],
        "whole_frame": False,
    }
    _, frame = fit_registration(radial_part(seed=0), pictures[:0], settings={"roi": "frame"})
    assert frame["region"]["source"] == "saved" and frame["region"]["whole_frame"]


def test_a_few_good_pictures_below_the_general_similarity_minimum_are_not_refused():
    # Noisy parts far apart, aligned by ECC: every similarity lies below the general minimum (0.6), and three
    # pictures are too few to calibrate on. Refusing them would leave nothing to train on.
    def noisy(seed, **pose):
        picture = radial_part(seed=seed, **pose)
        return np.clip(picture + np.random.default_rng(seed).normal(0, 0.3, picture.shape), 0, 1).astype(np.float32)

    poses = [dict(centre=(70, 120), angle=100), dict(centre=(125, 70), angle=-150), dict(centre=(80, 80), angle=60)]
    pictures = [noisy(index + 1, **pose) for index, pose in enumerate(poses)]
    registrar, report = fit_registration(noisy(0), pictures, settings={"method": "ecc"})
    assert max(registrar.register(picture).measured_quality for picture in pictures) < 0.6
    assert report["refused"] == [] and all(registrar.register(picture).accepted for picture in pictures)
    assert "lowered" in report["min_quality_source"] and registrar.min_quality < 0.6


def _write_set(root: Path, pictures) -> Path:
    for folder, items in pictures.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for index, picture in enumerate(items):
            cv2.imwrite(str(root / folder / f"{index:03d}.png"), (picture[..., ::-1] * 255).round().astype(np.uint8))
    return root


def _scratched(picture):
    scratched = picture.copy()
    cv2.line(scratched, (70, 80), (120, 110), (0.95, 0.95, 0.95), 4)
    return scratched


@pytest.fixture(scope="module")
def round_parts(tmp_path_factory):
    poses = _placed_anywhere(8, seed=7)
    return _write_set(
        tmp_path_factory.mktemp("round") / "parts",
        {
            "train/good": [radial_part(seed=index + 1, **pose) for index, pose in enumerate(poses[:6])],
            "test/good": [radial_part(seed=index + 20, **pose) for index, pose in enumerate(poses[6:])],
            "test/scratch": [_scratched(radial_part(seed=30, **poses[6]))],
        },
    )


def test_auto_trains_on_the_pictures_a_limit_set_by_hand_refused(round_parts):
    with pytest.raises(TrainingRefusedByRegistration) as refused:
        evaluate(round_parts, method="variation", registration="ecc", registration_settings={"min_quality": 0.999})
    report = refused.value.report
    assert report["registered"] < 2 and len(report["refused"]) == report["training_pictures"] - report["registered"]
    assert "min_quality" in report["what_to_change"] and "'auto'" in report["what_to_change"]
    message = str(refused.value)
    assert all(f"  {row['picture']}: {row['reason']}" in message for row in report["refused"])
    record = evaluate(round_parts, method="variation")
    assert record["n_train"] == 6 and record["n_train_rejected"] == 0


def test_the_command_line_prints_the_refusal_report_and_exits_non_zero_without_a_traceback(round_parts):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "inspection.engine",
            "evaluate",
            str(round_parts),
            "--method",
            "variation",
            "--registration",
            "ecc",
            "--registration-setting",
            "min_quality=0.999",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "nothing could be trained" in result.stderr and "exit status non-zero" in result.stderr
    assert "Refused training pictures:" in result.stderr
    refused = [line for line in result.stderr.splitlines() if re.match(r"  \d{3}\.png: \w", line)]
    assert len(refused) == int(re.search(r"refused (\d+) of 6", result.stderr).group(1)) >= 5
