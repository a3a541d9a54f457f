"""Checkpoints in the model storage: the latest whole one is read back, a cut-off one never."""

import hashlib

import pytest

from inspection.services.training_checkpoints import (
    StoredCheckpoints,
    training_checkpoints_discard,
)
from tests.platform.loop_data import ready_product, trained_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(private_media):
    return trained_version(ready_product(train=4, test_good=1, test_defective=1))


def test_only_the_latest_checkpoint_is_kept_and_read_back(version, private_media):
    store = StoredCheckpoints(version=version)
    assert store.latest() is None
    store.store(1, b"after epoch one")
    store.store(2, b"after epoch two")
    assert store.latest() == b"after epoch two"
    folder = private_media / f"products/{version.product_id}/checkpoints/{version.pk}"
    assert [path.name.split("-")[1] for path in folder.iterdir()] == ["0002"]


def test_a_checkpoint_cut_off_while_being_written_is_deleted_and_the_one_before_is_used(version, private_media):
    store = StoredCheckpoints(version=version)
    store.store(2, b"after epoch two")
    whole = b"after epoch three"
    folder = private_media / f"products/{version.product_id}/checkpoints/{version.pk}"
    cut_off = folder / f"epoch-0003-{hashlib.sha256(whole).hexdigest()}.npz"
    cut_off.write_bytes(whole[:5])  # the worker died in the middle of writing it
    assert store.latest() == b"after epoch two"
    assert not cut_off.exists()


def test_discarding_removes_every_checkpoint_of_the_version(version, private_media):
    store = StoredCheckpoints(version=version)
    store.store(1, b"after epoch one")
    training_checkpoints_discard(version=version)
    assert store.latest() is None
    training_checkpoints_discard(version=version)  # nothing left: no error
