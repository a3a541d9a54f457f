import numpy as np
import pytest

from inspection.engine.detector import MethodState
from inspection.engine.methods.patch_knn import PatchKNNDetector
from tests.synthetic_images import synthetic_parts, with_planted_blob

TRAIN = synthetic_parts(10, seed=0, size=96)
NORMAL_TEST = synthetic_parts(5, seed=1, size=96)
DEFECTIVE, _ = with_planted_blob(synthetic_parts(1, seed=2, size=96)[0], centre=(40, 55), radius=4)
SINGLE_PASS = dict(
    backbone="xception", weights="random", input_side=None, batch_size=16, min_bank=256, fine_input_side=None
)
TWO_PASSES = {**SINGLE_PASS, "fine_input_side": 144}


@pytest.fixture(scope="module")
def two_passes():
    return PatchKNNDetector(**TWO_PASSES).fit(TRAIN)


def standardised(values, scale):
    location, spread = scale
    return (np.asarray(values, dtype=np.float64) - location) / spread


def test_a_finer_second_pass_sees_the_images_enlarged_to_fine_input_side(two_passes):
    assert two_passes.input_shape_ == (96, 96)
    assert two_passes.fine_pass_.input_shape_ == (144, 144)
    assert two_passes.fine_pass_.fine_pass_ is None


def test_each_pass_is_put_on_the_scale_of_its_own_training_scores(two_passes):
    own_scale, fine_scale = two_passes.score_normalisation_
    assert own_scale == pytest.approx(
        (np.mean(two_passes.pass_training_scores_), np.std(two_passes.pass_training_scores_))
    )
    assert fine_scale == pytest.approx(
        (np.mean(two_passes.fine_pass_.training_scores_), np.std(two_passes.fine_pass_.training_scores_))
    )
    expected = np.maximum(
        standardised(two_passes.pass_training_scores_, own_scale),
        standardised(two_passes.fine_pass_.training_scores_, fine_scale),
    )
    np.testing.assert_allclose(two_passes.training_scores_, expected)


def test_the_score_and_map_are_the_larger_of_the_two_standardised_passes(two_passes):
    images = NORMAL_TEST[:2] + [DEFECTIVE]
    combined = two_passes.explain(images)
    own = PatchKNNDetector.explain(_single_pass_view(two_passes), images)
    fine = two_passes.fine_pass_.explain(images)
    own_scale, fine_scale = two_passes.score_normalisation_
    np.testing.assert_allclose(
        combined.scores, np.maximum(standardised(own.scores, own_scale), standardised(fine.scores, fine_scale))
    )
    np.testing.assert_allclose(
        combined.maps, np.maximum(standardised(own.maps, own_scale), standardised(fine.maps, fine_scale)), rtol=1e-5
    )
    assert combined.maps.shape == (3, 96, 96) and combined.maps.dtype == np.float32
    np.testing.assert_array_equal(combined.nearest_indices, own.nearest_indices)


def test_a_planted_defect_scores_above_every_normal_image_with_two_passes(two_passes):
    scores = two_passes.score(NORMAL_TEST + [DEFECTIVE])
    assert scores[-1] > scores[:-1].max()


def test_no_second_pass_is_fitted_when_it_would_not_be_finer():
    same_size = PatchKNNDetector(**{**SINGLE_PASS, "fine_input_side": 96}).fit(TRAIN[:3])
    assert same_size.fine_pass_ is None and same_size.score_normalisation_ is None
    np.testing.assert_array_equal(same_size.training_scores_, same_size.pass_training_scores_)
    switched_off = PatchKNNDetector(**SINGLE_PASS).fit(TRAIN[:3])
    assert switched_off.fine_pass_ is None


def test_a_two_pass_model_round_trips_to_identical_scores(two_passes):
    state = two_passes.get_state()
    assert any(name.startswith("fine_pass.") for name in state.arrays)
    restored = PatchKNNDetector.from_state(MethodState(config=dict(state.config), arrays=dict(state.arrays)))
    images = NORMAL_TEST[:2] + [DEFECTIVE]
    np.testing.assert_array_equal(restored.score(images), two_passes.score(images))
    np.testing.assert_allclose(restored.training_scores_, two_passes.training_scores_)


def test_a_model_stored_before_the_second_pass_existed_loads_as_one_pass():
    detector = PatchKNNDetector(**SINGLE_PASS).fit(TRAIN[:4])
    state = detector.get_state()
    old_params = {name: value for name, value in state.config["params"].items() if name != "fine_input_side"}
    restored = PatchKNNDetector.from_state(
        MethodState(config={**state.config, "params": old_params}, arrays=dict(state.arrays))
    )
    assert restored.fine_input_side is None and restored.fine_pass_ is None
    np.testing.assert_array_equal(restored.score([DEFECTIVE]), detector.score([DEFECTIVE]))


def _single_pass_view(detector):
    """The same fitted detector with its second pass detached, to read the first pass alone."""
    view = PatchKNNDetector.__new__(PatchKNNDetector)
    view.__dict__.update(detector.__dict__)
    view.fine_pass_ = None
    return view
