"""The patch-knn memory bank: nearest-entry distances, with a training image's own entries held out."""

import numpy as np
import pytest

from inspection.engine.features import memory_bank
from inspection.engine.features.memory_bank import PatchMemoryBank


def bank_and_queries(seed=0, entries=300, queries=500, features=48):
    rng = np.random.default_rng(seed)
    # An offset far from the origin, as backbone activations are, tests the centring.
    bank = (rng.normal(size=(entries, features)) + 20.0).astype(np.float32)
    return bank, rng.integers(0, 5, entries), (rng.normal(size=(queries, features)) + 20.0).astype(np.float32)


def exact_nearest(queries, bank):
    differences = queries[:, None, :].astype(np.float64) - bank[None, :, :].astype(np.float64)
    return np.sqrt((differences**2).sum(axis=2)).min(axis=1)


def test_each_patch_gets_the_distance_to_its_nearest_bank_entry():
    bank, sources, queries = bank_and_queries()
    distances = PatchMemoryBank(bank, sources).nearest_distances(queries)
    assert distances.shape == (500,) and distances.dtype == np.float32
    np.testing.assert_allclose(distances, exact_nearest(queries, bank), rtol=1e-4)


def test_a_bank_entry_queried_again_is_at_distance_zero_within_float32_rounding():
    bank, sources, _ = bank_and_queries()
    assert PatchMemoryBank(bank, sources).nearest_distances(bank[:10]) == pytest.approx(
        np.zeros(10), abs=1e-2
    )  # neighbours are ~10 apart


def test_small_distance_blocks_give_the_same_distances(monkeypatch):
    bank, sources, queries = bank_and_queries(seed=1)
    whole = PatchMemoryBank(bank, sources).nearest_distances(queries)
    monkeypatch.setattr(memory_bank, "DISTANCE_BLOCK_VALUES", 7 * len(bank))  # 7 query rows per block
    np.testing.assert_allclose(PatchMemoryBank(bank, sources).nearest_distances(queries), whole, rtol=1e-5)


def test_a_training_image_is_scored_without_its_own_entries():
    bank, sources, _ = bank_and_queries(seed=2)
    own = bank[sources == 3][:4]
    held_out = PatchMemoryBank(bank, sources).nearest_distances(own, excluded_source=3)
    np.testing.assert_allclose(held_out, exact_nearest(own, bank[sources != 3]), rtol=1e-4)
    assert (held_out > 1.0).all()


def test_a_bank_drawn_from_one_image_keeps_its_entries_when_that_image_is_held_out():
    bank, _, queries = bank_and_queries(seed=3, entries=20)
    one_source = np.zeros(20, dtype=np.int32)
    np.testing.assert_array_equal(
        PatchMemoryBank(bank, one_source).nearest_distances(queries, excluded_source=0),
        PatchMemoryBank(bank, one_source).nearest_distances(queries),
    )


def test_a_bank_needs_one_source_per_entry():
    with pytest.raises(ValueError, match="source"):
        PatchMemoryBank(np.zeros((4, 3)), np.zeros(3))
