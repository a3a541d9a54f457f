"""The part classes that used to lose good pictures at registration, with the default (auto) registration.

Every set is rendered here: a round part with a radial texture (fixtured with
+-2 px jitter, turned by up to +-20 degrees, placed anywhere at any angle), a
square plate whose region of interest touches the frame, and a textured
surface whose frame height varies by +-3 %. Training pictures choose and
calibrate the registration; the test pictures are new ones.
"""

import numpy as np
import pytest

from inspection.engine.registration.auto import fit_registration
from tests.synthetic_images import SIDE, radial_part, square_part, texture_surface, true_warp

TRAIN, TEST = 16, 12


def _angle(matrix):
    return float(np.degrees(np.arctan2(matrix[1, 0], matrix[0, 0])))


def _jittered(rng, count, *, jitter, angle):
    return [
        dict(
            centre=(SIDE / 2 + rng.uniform(-jitter, jitter), SIDE / 2 + rng.uniform(-jitter, jitter)),
            angle=float(rng.uniform(-angle, angle)),
        )
        for _ in range(count)
    ]


def _chosen_and_tested(poses, render):
    pictures = [render(seed=index + 1, **pose) for index, pose in enumerate(poses)]
    registrar, report = fit_registration(render(seed=0), pictures[:TRAIN])
    results = [registrar.register(picture) for picture in pictures[TRAIN:]]
    return registrar, report, results


def test_a_fixtured_round_part_is_registered_as_the_identity_and_no_picture_is_refused():
    poses = _jittered(np.random.default_rng(0), TRAIN + TEST, jitter=2, angle=0)
    registrar, report, results = _chosen_and_tested(poses, radial_part)
    assert report["refused"] == []
    assert all(result.accepted for result in results), [result.reason for result in results]
    for pose, result in zip(poses[TRAIN:], results):
        # Identity, or the true jitter within 1 px and 0.5 degree: never a spurious turn.
        identity = np.allclose(result.matrix, np.eye(2, 3), atol=1e-6)
        truth = true_warp(centre=pose["centre"], angle=0.0)
        centre = np.array([SIDE / 2, SIDE / 2, 1.0])
        assert identity or (
            np.linalg.norm(result.matrix @ centre - truth @ centre) < 1.0 and abs(_angle(result.matrix)) < 0.5
        )


def test_a_round_part_turned_by_up_to_twenty_degrees_is_recovered_within_one_degree():
    poses = _jittered(np.random.default_rng(1), TRAIN + TEST, jitter=3, angle=20)
    registrar, report, results = _chosen_and_tested(poses, radial_part)
    assert report["chosen"] != "none" and report["refused"] == []
    assert all(result.accepted for result in results), [result.reason for result in results]
    errors = [
        abs(_angle(result.matrix) - _angle(true_warp(centre=pose["centre"], angle=pose["angle"])))
        for pose, result in zip(poses[TRAIN:], results)
    ]
    assert max(errors) < 1.0, errors
    # The histogram of the report shows the turn the pictures needed.
    assert max(abs(value) for value in report["rotations"]) > 10


def test_a_round_part_placed_anywhere_at_any_angle_loses_no_good_picture():
    rng = np.random.default_rng(2)
    poses = [
        dict(centre=(rng.uniform(62, 130), rng.uniform(62, 130)), angle=float(rng.uniform(-180, 180)))
        for _ in range(TRAIN + TEST)
    ]
    _, report, results = _chosen_and_tested(poses, radial_part)
    assert report["refused"] == []
    assert all(result.accepted for result in results), [result.reason for result in results]
    assert report["chosen"] != "none"


def test_a_square_part_whose_region_touches_the_frame_loses_no_good_picture():
    rng = np.random.default_rng(3)
    poses = [dict(shift=rng.uniform(-6, 6, 2), angle=float(rng.uniform(-3, 3))) for _ in range(TRAIN + TEST)]
    _, report, results = _chosen_and_tested(poses, square_part)
    assert report["refused"] == []
    assert all(result.accepted for result in results), [result.reason for result in results]
    # The part moved, so part of the region came from outside the frame: marked, not refused.
    assert min(result.coverage for result in results) < 1.0
    assert all(result.valid_mask.mean() == pytest.approx(result.coverage, abs=0.05) for result in results)


def test_a_textured_surface_with_varying_frame_height_is_registered_as_none_and_loses_no_picture():
    rng = np.random.default_rng(4)
    heights = [int(round(SIDE * rng.uniform(0.97, 1.03))) for _ in range(TRAIN + TEST)]
    pictures = [texture_surface(seed=index + 1, height=height) for index, height in enumerate(heights)]
    registrar, report = fit_registration(texture_surface(seed=0), pictures[:TRAIN])
    assert report["chosen"] == "none" and "texture" in report["why"]
    assert report["refused"] == []
    results = [registrar.register(picture) for picture in pictures[TRAIN:]]
    assert all(result.accepted for result in results), [result.reason for result in results]
    for height, result in zip(heights[TRAIN:], results):
        assert result.image.shape == (SIDE, SIDE, 3)
        assert (result.size_adjustment == "") == (height == SIDE)
        assert (height < SIDE) == (not result.valid_mask.all())


def test_a_picture_of_something_else_entirely_is_refused_with_a_reason_that_says_so():
    poses = _jittered(np.random.default_rng(5), TRAIN, jitter=3, angle=10)
    pictures = [radial_part(seed=index + 1, **pose) for index, pose in enumerate(poses)]
    registrar, _ = fit_registration(radial_part(seed=0), pictures)
    result = registrar.register(square_part(seed=9))
    assert not result.accepted and result.image is None and np.isnan(result.quality)
    assert "something else entirely" in result.reason


def test_the_report_gives_every_candidate_its_figures_and_the_chosen_settings():
    poses = _jittered(np.random.default_rng(6), TRAIN, jitter=3, angle=10)
    pictures = [radial_part(seed=index + 1, **pose) for index, pose in enumerate(poses)]
    registrar, report = fit_registration(radial_part(seed=0), pictures)
    assert [figure["method"] for figure in report["candidates"]] == ["none", "ecc", "orb+ecc"]
    for figure in report["candidates"]:
        assert (
            figure["refused"] == 0 and figure["quality"]["min"] <= figure["median_quality"] <= figure["quality"]["max"]
        )
    assert report["settings"]["method"] == registrar.method == report["chosen"]
    assert report["settings"]["min_quality"] < min(
        figure["quality"]["min"] for figure in report["candidates"] if figure["method"] == report["chosen"]
    )
    assert report["settings"]["max_rotation"] < 30 and len(report["rotations"]) == TRAIN
