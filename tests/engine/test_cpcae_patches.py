import numpy as np
import pytest

from inspection.engine.networks.cpcae_patches import extract_patches, patch_grid, reassemble


def test_grid_covers_the_image_with_the_last_patch_flush_with_the_border():
    positions = patch_grid(100, 70, 32, 24)
    ys = sorted({y for y, _ in positions})
    xs = sorted({x for _, x in positions})
    assert ys == [0, 24, 48, 68]
    assert xs == [0, 24, 38]
    assert len(positions) == len(ys) * len(xs)
    assert positions[:3] == [(0, 0), (0, 24), (0, 38)]  # row by row
    covered = np.zeros((100, 70), bool)
    for y, x in positions:
        covered[y : y + 32, x : x + 32] = True
    assert covered.all()


def test_grid_without_leftover_adds_no_extra_patch():
    assert patch_grid(64, 64, 32, 32) == [(0, 0), (0, 32), (32, 0), (32, 32)]
    assert patch_grid(32, 32, 32, 16) == [(0, 0)]


def test_image_smaller_than_a_patch_is_refused():
    with pytest.raises(ValueError, match="smaller than"):
        patch_grid(20, 100, 32, 16)


def test_extracted_patches_are_the_image_regions():
    rng = np.random.default_rng(0)
    image = rng.random((50, 60, 3)).astype(np.float32)
    positions = patch_grid(50, 60, 16, 12)
    patches = extract_patches(image, positions, 16)
    assert patches.shape == (len(positions), 16, 16, 3)
    for index, (y, x) in enumerate(positions):
        np.testing.assert_array_equal(patches[index], image[y : y + 16, x : x + 16])


def test_patches_reassemble_exactly_for_one_image_and_for_a_stack():
    rng = np.random.default_rng(1)
    stack = rng.random((3, 45, 52, 1)).astype(np.float32)
    positions = patch_grid(45, 52, 16, 10)
    patches = extract_patches(stack, positions, 16)
    assert patches.shape == (3, len(positions), 16, 16, 1)
    np.testing.assert_allclose(reassemble(patches, positions, stack.shape), stack, atol=1e-6)
    single = extract_patches(stack[1], positions, 16)
    np.testing.assert_allclose(reassemble(single, positions, stack[1].shape), stack[1], atol=1e-6)


def test_overlapping_patches_are_averaged():
    positions = [(0, 0), (0, 2)]
    patches = np.stack([np.full((4, 4, 1), 1.0), np.full((4, 4, 1), 3.0)]).astype(np.float32)
    image = reassemble(patches, positions, (4, 6, 1))[:, :, 0]
    np.testing.assert_allclose(image[:, :2], 1.0)
    np.testing.assert_allclose(image[:, 2:4], 2.0)
    np.testing.assert_allclose(image[:, 4:], 3.0)


def test_patch_count_mismatch_is_refused():
    with pytest.raises(ValueError, match="positions"):
        reassemble(np.zeros((2, 4, 4, 1)), [(0, 0)], (4, 4, 1))
