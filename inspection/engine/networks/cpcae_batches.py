"""Training batches for the CPCAE: patches gathered on the fly with TensorFlow's data pipeline.

Kept apart from :mod:`.cpcae_patches`, which cuts and stitches patches with
numpy alone, so that the exported-model runtime can use that without
TensorFlow.
"""

from __future__ import annotations

import math

import numpy as np


def patch_dataset(
    small: np.ndarray,
    positions,
    patch_size: int,
    batch_size: int,
    min_steps: int,
    seed: int,
    *,
    first_epoch: int = 0,
    epochs: int = 1,
):
    """Batches of ((patches, conditions), patches) gathered from ``small`` for epochs first_epoch..epochs-1.

    Returns the dataset and the number of batches per epoch. Each epoch's
    order is a stateless shuffle seeded by (seed, epoch), so an epoch has the
    same batches whether the training ran through or resumed before it.
    """
    import tensorflow as tf

    count, height, width, channels = small.shape
    per_image = len(positions)
    total = count * per_image
    steps = max(math.ceil(total / batch_size), int(min_steps))
    repeats = max(1, math.ceil(steps * batch_size / total))
    pixels = tf.constant(small.reshape(-1, channels))
    grid = np.asarray(positions, dtype=np.int64)
    rows_start, columns_start = tf.constant(grid[:, 0]), tf.constant(grid[:, 1])
    offsets = tf.range(patch_size, dtype=tf.int64)
    indices = tf.range(total * repeats, dtype=tf.int64) % total

    def gather(indices):
        image_index, position_index = indices // per_image, indices % per_image
        rows = tf.gather(rows_start, position_index)[:, None] + offsets
        columns = tf.gather(columns_start, position_index)[:, None] + offsets
        flat = (image_index[:, None, None] * height + rows[:, :, None]) * width + columns[:, None, :]
        patches = tf.gather(pixels, flat)
        conditions = tf.cast(position_index, tf.float32)[:, None] / per_image
        return (patches, conditions), patches

    def one_epoch(epoch):
        order = tf.random.experimental.stateless_shuffle(indices, seed=tf.stack([tf.constant(seed, tf.int64), epoch]))
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size).take(steps)

    dataset = (
        tf.data.Dataset.range(first_epoch, max(first_epoch, epochs))
        .flat_map(one_epoch)
        .map(gather, num_parallel_calls=2, deterministic=True)
        .prefetch(2)
    )
    return dataset, steps
