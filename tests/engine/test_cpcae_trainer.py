import json

import cv2
import numpy as np
import pytest

from inspection.engine.errors import TrainingCancelled, TrainingDataError
from inspection.engine.networks.cpcae_trainer import CPCAE

SIDE = 48
TINY = dict(
    downsize_factor=2,
    patch_size=8,
    stride=4,
    latent_dim=8,
    filters=(8, 16),
    dense_units=32,
    l1_lambda=1e-6,
    epochs=15,
    batch_size=32,
    learning_rate=3e-3,
    min_steps_per_epoch=0,
    seed=0,
)


def _normal_image(rng):
    """A grey 'part': a bright disc and a dark bar on a gradient, jittered slightly."""
    image = np.tile(np.linspace(0.25, 0.45, SIDE, dtype=np.float32), (SIDE, 1))
    dx, dy = rng.integers(-1, 2, size=2)
    cv2.circle(image, (24 + int(dx), 20 + int(dy)), 9, 0.85, -1)
    cv2.rectangle(image, (8 + int(dx), 36 + int(dy)), (40 + int(dx), 40 + int(dy)), 0.1, -1)
    image = image * rng.uniform(0.95, 1.05) + rng.normal(0, 0.01, image.shape)
    return np.clip(image, 0, 1).astype(np.float32)[:, :, None]


def _training_set(count=24, seed=0):
    rng = np.random.default_rng(seed)
    return [_normal_image(rng) for _ in range(count)]


@pytest.fixture(scope="module")
def trained():
    images = _training_set()
    events = []
    model = CPCAE(**TINY).fit(images, progress=events.append)
    return model, events


def test_fit_learns_the_documented_attributes_and_reports_each_epoch(trained):
    model, events = trained
    assert model.image_shape_ == (SIDE, SIDE, 1)
    assert model.downsized_shape_ == (24, 24)
    assert len(model.positions_) == 25
    assert len(model.loss_history_) == TINY["epochs"]
    assert model.loss_history_[-1] < model.loss_history_[0]
    epoch_events = [event for event in events if event.loss is not None]
    assert [event.epoch for event in epoch_events] == list(range(1, TINY["epochs"] + 1))
    assert all(event.stage == "train-cpcae" and event.epochs == TINY["epochs"] for event in events)
    assert epoch_events[-1].fraction == pytest.approx(1.0)
    assert epoch_events[-1].loss == pytest.approx(model.loss_history_[-1])


def test_reconstruction_has_the_registered_shape_and_range(trained):
    model, _ = trained
    images = _training_set(3, seed=5)
    reconstructions = model.reconstruct(images)
    assert reconstructions.shape == (3, SIDE, SIDE, 1) and reconstructions.dtype == np.float32
    assert 0.0 <= reconstructions.min() and reconstructions.max() <= 1.0
    assert model.residuals(images).shape == (3, SIDE, SIDE, 1)


def test_planted_defect_gives_a_higher_residual_where_it_is(trained):
    model, _ = trained
    rng = np.random.default_rng(11)
    normal = _normal_image(rng)
    defective = normal.copy()
    cv2.circle(defective, (12, 12), 4, 0.95, -1)  # a bright blob on the plain background
    defect_mask = np.zeros((SIDE, SIDE), bool)
    cv2.circle(defect_mask.view(np.uint8), (12, 12), 4, 1, -1)

    normal_residual, defective_residual = model.residuals([normal, defective])[..., 0]
    inside = defective_residual[defect_mask].mean()
    outside = defective_residual[~defect_mask].mean()
    assert inside > 4 * outside
    # Reconstructs the normal image better: squared error over the whole image.
    assert (defective_residual**2).mean() > 1.25 * (normal_residual**2).mean()
    assert normal_residual[defect_mask].mean() < inside / 3


def test_small_sets_are_repeated_to_make_exactly_the_minimum_steps_per_epoch():
    images = _training_set(2)  # 50 patches: 2 batches of 32 per pass
    events = []
    CPCAE(**dict(TINY, epochs=1, min_steps_per_epoch=6, cancel_check_batches=1)).fit(images, progress=events.append)
    batch_checks = [event for event in events if event.loss is None]
    assert len(batch_checks) == 6
    assert all("of 6" in event.message for event in batch_checks)


def test_a_pass_longer_than_the_minimum_steps_is_left_as_it_is():
    images = _training_set(8)  # 200 patches: 7 batches of 32 per pass
    events = []
    CPCAE(**dict(TINY, epochs=1, min_steps_per_epoch=3, cancel_check_batches=1)).fit(images, progress=events.append)
    assert len([event for event in events if event.loss is None]) == 7


def test_seeded_fits_give_identical_reconstructions():
    images = _training_set(8)
    settings = dict(TINY, epochs=1)
    first = CPCAE(**settings).fit(images).reconstruct(images[:2])
    second = CPCAE(**settings).fit(images).reconstruct(images[:2])
    np.testing.assert_array_equal(first, second)
    other_seed = CPCAE(**dict(settings, seed=1)).fit(images).reconstruct(images[:2])
    assert not np.array_equal(first, other_seed)


def test_cancel_stops_within_the_first_epoch_and_leaves_no_fitted_attributes():
    images = _training_set(16)
    events = []

    def cancel_at_first_check(event):
        events.append(event)
        return True

    model = CPCAE(**dict(TINY, epochs=5, cancel_check_batches=3))
    with pytest.raises(TrainingCancelled):
        model.fit(images, progress=cancel_at_first_check)
    assert len(events) == 1
    assert events[0].epoch == 1 and events[0].loss is None  # a mid-epoch check, not an epoch end
    assert not hasattr(model, "network_")
    assert not hasattr(model, "loss_history_")


def test_cancel_at_an_epoch_end_also_raises():
    images = _training_set(8)
    model = CPCAE(**dict(TINY, epochs=4, cancel_check_batches=1000))
    with pytest.raises(TrainingCancelled):
        model.fit(images, progress=lambda event: event.epoch == 2 and event.loss is not None)
    assert not hasattr(model, "network_")


def test_empty_and_single_image_sets_are_refused():
    with pytest.raises(TrainingDataError, match="no training images"):
        CPCAE(**TINY).fit([])
    with pytest.raises(TrainingDataError, match="only 1"):
        CPCAE(**TINY).fit(_training_set(1))


def test_mixed_sizes_are_refused_naming_the_image():
    images = _training_set(3)
    images[2] = np.zeros((SIDE, SIDE + 4, 1), np.float32)
    with pytest.raises(TrainingDataError, match="image 2 has shape"):
        CPCAE(**TINY).fit(images)


def test_images_too_small_for_the_patch_after_downsizing_are_refused():
    images = [np.zeros((40, 40, 1), np.float32)] * 2
    with pytest.raises(TrainingDataError, match="smaller than the 32-pixel patch"):
        CPCAE(**dict(TINY, downsize_factor=2, patch_size=32)).fit(images)


def test_eight_bit_values_are_refused():
    images = [np.full((SIDE, SIDE, 1), 200.0, np.float32)] * 2
    with pytest.raises(TrainingDataError, match=r"\[0, 1\]"):
        CPCAE(**TINY).fit(images)


def test_config_and_weights_round_trip_reproduce_the_reconstruction(trained, tmp_path):
    model, _ = trained
    config = json.loads(json.dumps(model.get_config()))
    path = tmp_path / "cpcae.weights.h5"
    model.save_network_weights(path)
    restored = CPCAE.from_config(config)
    restored.load_network_weights(path)
    images = _training_set(2, seed=9)
    np.testing.assert_allclose(restored.reconstruct(images), model.reconstruct(images), atol=1e-6)
    assert restored.loss_history_ == model.loss_history_

    via_arrays = CPCAE.from_config(config)
    via_arrays.set_weights_state(model.get_weights_state())
    np.testing.assert_allclose(via_arrays.reconstruct(images), model.reconstruct(images), atol=1e-6)


def test_inference_on_the_wrong_shape_is_refused(trained):
    model, _ = trained
    with pytest.raises(ValueError, match="registered shape"):
        model.reconstruct([np.zeros((SIDE, SIDE, 3), np.float32)])
