"""Training and running the conditional patch-based convolutional autoencoder.

Paper section 3.1: each registered image is downsized (``downsize_factor``),
cut into overlapping patches, and the autoencoder of
:mod:`~inspection.engine.networks.cpcae_network` learns to reconstruct each patch given
its position (patch index / number of patches) as a condition. For inference the
reconstructed patches are stitched back with overlap averaging and upsized to
the registered resolution; the residual |x - x_hat| is the anomaly map that the
paper then embeds with an ImageNet CNN.

Patches are not materialised for training: a tf.data pipeline gathers each
shuffled batch straight from the stack of downsized images, so memory is one
copy of the downsized training set whatever the overlap.

Training length: ``epochs`` passes over the patches, each pass made at least
``min_steps_per_epoch`` batches long (patches repeat in shuffled order), so
every training gets at least ``epochs x min_steps_per_epoch`` optimisation
steps. Why a floor on steps rather than more epochs: small sets (tens of
images of a few patches each) otherwise get few steps and stop while the loss
is still falling, whereas more epochs would lengthen every training in
proportion, large sets included. The accuracy and training times behind the
default are in docs/benchmarks.md.

Checkpoints: given a checkpoint store, ``fit`` hands it the network's
weights, the optimiser's state, the losses so far and the epoch after every
epoch (the last one closes the training stage), and starts from the store's
latest checkpoint when it has one for the same images and settings (a
fingerprint of both is inside). The shuffled order of the resumed epochs is
the one an uninterrupted training would have used, so a resumed training
ends with the same model. Writing a checkpoint so that a half-written one is
never read back is the store's job (see :mod:`.cpcae_checkpoints`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from ..errors import EngineError, TrainingCancelled, TrainingDataError
from ..progress import ProgressCallback, ProgressEvent, report
from .cpcae_batches import patch_dataset
from .cpcae_checkpoints import CheckpointStore, checkpoint_restore, checkpoint_writer, training_fingerprint
from .cpcae_patches import extract_patches, patch_grid, reassemble

STAGE = "train-cpcae"


class CPCAE(BaseEstimator):
    """Conditional patch-based convolutional autoencoder (scikit-learn estimator contract).

    Parameters
    ----------
    downsize_factor : images are shrunk by this factor (INTER_AREA) before patching.
    patch_size, stride : patch side and step in downsized pixels.
    latent_dim, filters, dense_units, l1_lambda : network shape and the weight
        of the L1 sparsity penalty on the latent code (eq. 3).
    epochs, batch_size, learning_rate : Adam training schedule.
    min_steps_per_epoch : an epoch is one pass over all patches, or exactly
        this many batches when a pass is shorter (patches repeat in shuffled
        order), so that small sets (few images, or few patches per image) still
        get enough optimisation steps; passes longer than this are unchanged.
    seed : makes training reproducible (weights, shuffling).
    cancel_check_batches : the progress callback is also consulted every this
        many batches, so a cancel request stops training within an epoch.

    Learned attributes: ``network_`` (keras.Model), ``loss_history_`` (loss per
    epoch), ``image_shape_`` (registered H, W, C), ``downsized_shape_``,
    ``positions_`` (patch top-left corners in downsized pixels).
    """

    def __init__(
        self,
        *,
        downsize_factor: int = 4,
        patch_size: int = 64,
        stride: int = 32,
        latent_dim: int = 128,
        filters: Sequence[int] = (32, 64, 128),
        dense_units: int = 256,
        l1_lambda: float = 1e-5,
        epochs: int = 6,
        batch_size: int = 64,
        learning_rate: float = 1e-3,
        min_steps_per_epoch: int = 350,
        seed: int = 0,
        cancel_check_batches: int = 10,
    ):
        self.downsize_factor = downsize_factor
        self.patch_size = patch_size
        self.stride = stride
        self.latent_dim = latent_dim
        self.filters = filters
        self.dense_units = dense_units
        self.l1_lambda = l1_lambda
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.min_steps_per_epoch = min_steps_per_epoch
        self.seed = seed
        self.cancel_check_batches = cancel_check_batches

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        images: Sequence[np.ndarray],
        *,
        progress: ProgressCallback | None = None,
        checkpoints: CheckpointStore | None = None,
    ) -> CPCAE:
        """Train on registered normal images, float32 (H, W, C) in [0, 1], all one shape.

        With `checkpoints`, a checkpoint is stored after every epoch and the
        training resumes from the latest one made for the same images and settings.
        """
        import keras

        image_shape = _check_training_images(images)
        downsized_shape, positions = self._layout(image_shape)
        small = np.stack([self._downsize(image, downsized_shape) for image in images])

        keras.utils.set_random_seed(int(self.seed))
        network = self._build_network(image_shape[2])
        network.compile(optimizer=keras.optimizers.Adam(float(self.learning_rate)), loss="mse")
        epochs = int(self.epochs)
        fingerprint = training_fingerprint(self.get_config(), small)
        first_epoch, earlier_losses = 0, []
        if checkpoints is not None:
            first_epoch, earlier_losses = checkpoint_restore(checkpoints.latest(), fingerprint, network)
            if first_epoch:
                report(
                    progress,
                    ProgressEvent(
                        stage=STAGE,
                        fraction=first_epoch / epochs,
                        epoch=first_epoch,
                        epochs=epochs,
                        loss=earlier_losses[-1] if earlier_losses else None,
                        message=f"resumed from the checkpoint of epoch {first_epoch} of {epochs}",
                    ),
                )
        dataset, steps = patch_dataset(
            small,
            positions,
            int(self.patch_size),
            int(self.batch_size),
            int(self.min_steps_per_epoch),
            int(self.seed),
            first_epoch=first_epoch,
            epochs=epochs,
        )
        watcher = _make_progress_watcher(progress, epochs, steps, int(self.cancel_check_batches))
        callbacks = [watcher]
        if checkpoints is not None:
            callbacks.insert(0, checkpoint_writer(checkpoints, fingerprint, earlier_losses))
        # One iterator over all remaining epochs (steps_per_epoch keeps Keras from restarting it).
        history = network.fit(
            dataset,
            epochs=epochs,
            initial_epoch=first_epoch,
            steps_per_epoch=steps,
            verbose=0,
            shuffle=False,
            callbacks=callbacks,
        )
        if watcher.cancellation is not None:
            raise watcher.cancellation
        losses = earlier_losses + [float(value) for value in history.history.get("loss", [])]
        if not losses or not all(math.isfinite(value) for value in losses):
            raise EngineError(f"autoencoder training diverged (loss per epoch: {losses})")

        # Attributes are set only now, so a cancelled or failed fit leaves
        # the estimator as it was.
        self.network_ = network
        self.loss_history_ = losses
        self.image_shape_ = tuple(int(size) for size in image_shape)
        self.downsized_shape_ = downsized_shape
        self.positions_ = positions
        return self

    def _layout(self, image_shape: Sequence[int]) -> tuple[tuple[int, int], list[tuple[int, int]]]:
        height, width = image_shape[:2]
        factor = float(self.downsize_factor)
        if factor < 1:
            raise ValueError(f"downsize_factor must be at least 1, got {self.downsize_factor}")
        small_height, small_width = int(round(height / factor)), int(round(width / factor))
        if min(small_height, small_width) < self.patch_size:
            raise TrainingDataError(
                f"images of {width}x{height} pixels shrink to {small_width}x{small_height} at downsize "
                f"factor {self.downsize_factor}, smaller than the {self.patch_size}-pixel patch; "
                f"use a smaller downsize factor or patch size, or larger images"
            )
        return (small_height, small_width), patch_grid(
            small_height, small_width, int(self.patch_size), int(self.stride)
        )

    def _build_network(self, channels: int):
        from .cpcae_network import build_cpcae

        return build_cpcae(
            patch_size=int(self.patch_size),
            channels=int(channels),
            latent_dim=int(self.latent_dim),
            filters=tuple(self.filters),
            dense_units=int(self.dense_units),
            l1_lambda=float(self.l1_lambda),
        )

    @staticmethod
    def _downsize(image: np.ndarray, downsized_shape: tuple[int, int]) -> np.ndarray:
        import cv2

        small = cv2.resize(np.asarray(image, dtype=np.float32), downsized_shape[::-1], interpolation=cv2.INTER_AREA)
        return small[:, :, None] if small.ndim == 2 else small

    # ------------------------------------------------------------ inference
    def reconstruct(self, images: Sequence[np.ndarray], *, batch_size: int = 256) -> np.ndarray:
        """Reconstructions at the registered resolution, (n, H, W, C) float32.

        ``batch_size`` bounds the patches sent to the network per call; whole
        images are grouped so that each call covers several of them.
        """
        import cv2

        self._check_fitted()
        stack = self._check_inference_images(images)
        height, width, channels = self.image_shape_
        count = len(self.positions_)
        conditions = (np.arange(count, dtype=np.float32) / count)[:, None]
        images_per_call = min(len(stack), max(1, int(batch_size) // count))
        output = np.empty((len(stack), height, width, channels), np.float32)
        for start in range(0, len(stack), images_per_call):
            chunk = stack[start : start + images_per_call]
            small = np.stack([self._downsize(image, self.downsized_shape_) for image in chunk])
            patches = extract_patches(small, self.positions_, int(self.patch_size))
            flat = patches.reshape((-1,) + patches.shape[2:])
            # Always send the same batch shape (zero-padded) so the compiled
            # predict function is traced once, not once per remainder size.
            padded = np.zeros((images_per_call * count,) + flat.shape[1:], np.float32)
            padded[: len(flat)] = flat
            predicted = self.network_.predict_on_batch([padded, np.tile(conditions, (images_per_call, 1))])
            predicted = np.asarray(predicted, dtype=np.float32)[: len(flat)].reshape(patches.shape)
            rebuilt = reassemble(predicted, self.positions_, small.shape)
            for offset, reconstruction in enumerate(rebuilt):
                large = cv2.resize(reconstruction, (width, height), interpolation=cv2.INTER_LINEAR)
                output[start + offset] = large.reshape(height, width, channels)
        return output

    def residuals(self, images: Sequence[np.ndarray], *, batch_size: int = 256) -> np.ndarray:
        """|x - x_hat| per pixel and channel at the registered resolution: the anomaly map."""
        self._check_fitted()
        stack = self._check_inference_images(images)
        return np.abs(stack - self.reconstruct(stack, batch_size=batch_size))

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise EngineError("the autoencoder is not trained yet: call fit(images) first")

    def _check_inference_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        stack = np.asarray(images, dtype=np.float32) if not isinstance(images, np.ndarray) else images
        if stack.ndim == 3:
            stack = stack[None]
        if stack.ndim != 4 or tuple(stack.shape[1:]) != tuple(self.image_shape_):
            raise ValueError(
                f"images must have the registered shape {tuple(self.image_shape_)}, got {tuple(stack.shape[1:])}"
            )
        return stack.astype(np.float32, copy=False)

    # -------------------------------------------------------- persistence
    def get_config(self) -> dict[str, Any]:
        """JSON-able hyper-parameters plus the learned shapes and loss history."""
        config: dict[str, Any] = self.get_params()
        config["filters"] = [int(count) for count in self.filters]
        if hasattr(self, "network_"):
            config["image_shape"] = list(self.image_shape_)
            config["loss_history"] = list(self.loss_history_)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CPCAE:
        """Rebuild with an untrained network of the right shape; then load its weights."""
        parameters = {name: config[name] for name in cls._get_param_names() if name in config}
        if "filters" in parameters:
            parameters["filters"] = tuple(parameters["filters"])
        model = cls(**parameters)
        if "image_shape" in config:
            image_shape = tuple(int(size) for size in config["image_shape"])
            downsized_shape, positions = model._layout(image_shape)
            model.network_ = model._build_network(image_shape[2])
            model.loss_history_ = [float(value) for value in config.get("loss_history", [])]
            model.image_shape_ = image_shape
            model.downsized_shape_ = downsized_shape
            model.positions_ = positions
        return model

    def save_network_weights(self, path) -> None:
        """Write the network's weights (Keras requires a ``.weights.h5`` name)."""
        self._check_fitted()
        self.network_.save_weights(str(path))

    def load_network_weights(self, path) -> None:
        self._check_fitted()
        self.network_.load_weights(str(path))

    def get_weights_state(self) -> list[np.ndarray]:
        self._check_fitted()
        return [np.asarray(weight) for weight in self.network_.get_weights()]

    def set_weights_state(self, weights: Sequence[np.ndarray]) -> None:
        self._check_fitted()
        self.network_.set_weights(list(weights))


def _check_training_images(images: Sequence[np.ndarray]) -> tuple[int, int, int]:
    if images is None or len(images) == 0:
        raise TrainingDataError("no training images: at least 2 registered images of normal parts are needed")
    if len(images) < 2:
        raise TrainingDataError("only 1 training image: at least 2 registered images of normal parts are needed")
    first = np.shape(images[0])
    if len(first) != 3 or first[2] not in (1, 3):
        raise TrainingDataError(f"training image 0 has shape {first}; expected (H, W, 1) or (H, W, 3)")
    for index, image in enumerate(images):
        if np.shape(image) != first:
            raise TrainingDataError(
                f"training image {index} has shape {np.shape(image)} but image 0 has {first}; "
                f"all images must be registered to the same reference"
            )
        low, high = float(np.min(image)), float(np.max(image))
        if not (-1e-3 <= low and high <= 1.001) or not math.isfinite(low + high):
            raise TrainingDataError(
                f"training image {index} has values from {low:g} to {high:g}; expected floats in [0, 1]"
            )
    return first


def _make_progress_watcher(progress: ProgressCallback | None, epochs: int, steps: int, check_every: int):
    """A Keras callback relaying progress and turning a cancel request into a clean stop."""
    import keras

    class ProgressWatcher(keras.callbacks.Callback):
        cancellation: TrainingCancelled | None = None

        def _ask(self, event: ProgressEvent) -> None:
            try:
                report(progress, event)
            except TrainingCancelled as cancelled:
                # Raising inside fit would leave Keras mid-epoch; stopping lets
                # it unwind, and fit raises the cancellation afterwards.
                self.cancellation = cancelled
                self.model.stop_training = True

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if progress is None or self.cancellation is not None or (batch + 1) % max(1, check_every):
                return
            self._ask(
                ProgressEvent(
                    stage=STAGE,
                    fraction=(self.epoch + (batch + 1) / steps) / epochs,
                    message=f"epoch {self.epoch + 1} of {epochs}, batch {batch + 1} of {steps}",
                    epoch=self.epoch + 1,
                    epochs=epochs,
                )
            )

        def on_epoch_end(self, epoch, logs=None):
            if progress is None or self.cancellation is not None:
                return
            loss = float((logs or {}).get("loss", float("nan")))
            self._ask(
                ProgressEvent(
                    stage=STAGE,
                    fraction=(epoch + 1) / epochs,
                    message=f"epoch {epoch + 1} of {epochs}: loss {loss:.5f}",
                    epoch=epoch + 1,
                    epochs=epochs,
                    loss=loss,
                )
            )

    return ProgressWatcher()
