"""CPCAE training checkpoints: stored every epoch, resumed from, and a resumed training ends with the same model."""

import numpy as np
import pytest

from inspection.engine.errors import EngineError, TrainingCancelled
from inspection.engine.networks.cpcae_trainer import CPCAE
from tests.engine.test_cpcae_trainer import TINY, _training_set

SETTINGS = dict(TINY, epochs=4, cancel_check_batches=1000)


class MemoryStore:
    """Keeps checkpoints in a dict, as a real store keeps them in files."""

    def __init__(self):
        self.saved: dict[int, bytes] = {}

    def latest(self):
        return self.saved[max(self.saved)] if self.saved else None

    def store(self, epoch, data):
        self.saved[epoch] = data


def stop_after_epoch(epoch):
    return lambda event: event.epoch == epoch and event.loss is not None


def test_a_checkpoint_is_stored_after_every_epoch():
    store = MemoryStore()
    model = CPCAE(**SETTINGS).fit(_training_set(8), checkpoints=store)
    assert sorted(store.saved) == [1, 2, 3, 4]
    assert len(model.loss_history_) == 4


def test_a_training_stopped_after_epoch_2_resumes_there_and_ends_with_the_model_of_an_uninterrupted_one():
    images = _training_set(8)
    uninterrupted = CPCAE(**SETTINGS).fit(images)
    store = MemoryStore()
    with pytest.raises(TrainingCancelled):
        CPCAE(**SETTINGS).fit(images, checkpoints=store, progress=stop_after_epoch(2))
    assert max(store.saved) == 2
    events = []
    resumed = CPCAE(**SETTINGS).fit(images, checkpoints=store, progress=events.append)
    assert "resumed from the checkpoint of epoch 2 of 4" in events[0].message
    assert [event.epoch for event in events if event.loss is not None][1:] == [3, 4]  # epochs 1-2 are not run again
    assert resumed.loss_history_ == pytest.approx(uninterrupted.loss_history_, rel=1e-5)
    for ours, theirs in zip(resumed.get_weights_state(), uninterrupted.get_weights_state()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)


def test_a_checkpoint_of_other_images_or_settings_is_not_used():
    store = MemoryStore()
    with pytest.raises(TrainingCancelled):
        CPCAE(**SETTINGS).fit(_training_set(8), checkpoints=store, progress=stop_after_epoch(2))
    events = []
    CPCAE(**SETTINGS).fit(_training_set(8, seed=1), checkpoints=store, progress=events.append)
    assert not any("resumed" in event.message for event in events)
    assert sorted(store.saved) == [1, 2, 3, 4]  # the other training's checkpoints, replaced epoch by epoch


def test_an_unreadable_checkpoint_is_an_error_that_says_so():
    store = MemoryStore()
    store.saved[3] = b"not a checkpoint"
    with pytest.raises(EngineError, match="checkpoint cannot be read"):
        CPCAE(**SETTINGS).fit(_training_set(8), checkpoints=store)


def test_a_training_lost_after_its_last_epoch_resumes_with_nothing_left_to_train():
    images = _training_set(8)
    store = MemoryStore()
    finished = CPCAE(**SETTINGS).fit(images, checkpoints=store)
    events = []
    again = CPCAE(**SETTINGS).fit(images, checkpoints=store, progress=events.append)
    assert "resumed from the checkpoint of epoch 4 of 4" in events[0].message
    assert [event for event in events if event.loss is not None and "resumed" not in event.message] == []
    assert again.loss_history_ == finished.loss_history_
    for ours, theirs in zip(again.get_weights_state(), finished.get_weights_state()):
        np.testing.assert_array_equal(ours, theirs)
