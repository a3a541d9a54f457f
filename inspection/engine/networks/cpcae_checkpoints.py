"""Checkpoints of a CPCAE training: what one holds, how it is written and read back.

A checkpoint is an ``.npz`` (no pickle) of the network's weights, the Adam
optimiser's variables (step count and moments), the losses of the epochs
done, their number, and the fingerprint of the images and settings it was
made for. The trainer writes one after every epoch through a
:class:`CheckpointStore` and resumes from the store's latest one.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any, Protocol

import numpy as np

from ..errors import EngineError


class CheckpointStore(Protocol):
    """Where a training keeps its checkpoints; it must return only checkpoints it stored whole."""

    def latest(self) -> bytes | None:
        """The most recent checkpoint stored completely, or None."""

    def store(self, epoch: int, data: bytes) -> None:
        """Keep `data`, the checkpoint after `epoch` epochs."""


def training_fingerprint(config: dict[str, Any], small: np.ndarray) -> str:
    """What a checkpoint must have been made from: these settings and these (downsized) training images."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    digest.update(str(small.shape).encode())
    digest.update(np.ascontiguousarray(small, dtype=np.float32).tobytes())
    return digest.hexdigest()


def checkpoint_restore(data: bytes | None, fingerprint: str, network) -> tuple[int, list[float]]:
    """(epochs done, their losses) after loading `data` into `network`; (0, []) for no usable checkpoint."""
    if not data:
        return 0, []
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            if str(archive["fingerprint"]) != fingerprint:
                return 0, []  # made for other images or settings
            weights = [archive[f"weight_{index}"] for index in range(int(archive["weight_count"]))]
            optimizer_state = [archive[f"optimizer_{index}"] for index in range(int(archive["optimizer_count"]))]
            epoch, losses = int(archive["epoch"]), [float(value) for value in archive["losses"]]
    except (OSError, ValueError, KeyError) as error:
        raise EngineError(f"the training checkpoint cannot be read ({error})") from None
    network.set_weights(weights)
    optimizer = network.optimizer
    optimizer.build(network.trainable_variables)
    if len(optimizer.variables) != len(optimizer_state):
        raise EngineError("the training checkpoint's optimiser state does not fit this network")
    for variable, value in zip(optimizer.variables, optimizer_state):
        variable.assign(value)
    return epoch, losses


def checkpoint_writer(checkpoints: CheckpointStore, fingerprint: str, earlier_losses: list[float]):
    """A Keras callback storing a checkpoint after every epoch."""
    import keras

    class CheckpointWriter(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.losses = list(earlier_losses)

        def on_epoch_end(self, epoch, logs=None):
            self.losses.append(float((logs or {}).get("loss", float("nan"))))
            weights = self.model.get_weights()
            optimizer_state = [np.asarray(variable) for variable in self.model.optimizer.variables]
            buffer = io.BytesIO()
            np.savez(
                buffer,
                fingerprint=np.array(fingerprint),
                epoch=np.array(epoch + 1),
                losses=np.asarray(self.losses, dtype=np.float64),
                weight_count=np.array(len(weights)),
                optimizer_count=np.array(len(optimizer_state)),
                **{f"weight_{index}": value for index, value in enumerate(weights)},
                **{f"optimizer_{index}": value for index, value in enumerate(optimizer_state)},
            )
            checkpoints.store(epoch + 1, buffer.getvalue())

    return CheckpointWriter()
