"""An exported model, loaded: ONNX Runtime sessions, the method's scorer and the product's registration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inspection.engine.data.imageio import to_gray
from inspection.engine.registration.result import without_outside_pixels

from .archive import Archive, ArchiveError, read_archive
from .scorers import Outcome, build_scorer


class GraphSession:
    """One ONNX graph in ONNX Runtime, called with its inputs in order; returns its outputs in order."""

    def __init__(self, name: str, data: bytes, threads: int | None):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
        try:
            self.session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types for bad graphs
            raise ArchiveError(f"{name}.onnx", f"is not a usable ONNX graph ({error})") from None
        self.input_names = [graph_input.name for graph_input in self.session.get_inputs()]

    def __call__(self, *inputs: np.ndarray) -> list[np.ndarray]:
        feed = {
            name: np.ascontiguousarray(value, dtype=np.float32)
            for name, value in zip(self.input_names, inputs, strict=True)
        }
        return self.session.run(None, feed)


@dataclass
class Decision:
    """One image's result: score and decision, or why it goes to a person instead."""

    name: str
    decision: str  # "pass", "reject", "review" (review band, or registration failed) or "-" (no operating point)
    score: float | None
    anomaly_map: np.ndarray | None = None
    reason: str = ""


class ExportedModel:
    def __init__(self, archive: Archive, *, threads: int | None = None):
        metadata = archive.metadata
        self.metadata = metadata
        self.method = str(metadata["method"])
        self.image_shape = tuple(int(side) for side in metadata["image_shape"])
        # The number format the platform ran the networks in; a bfloat16 network's graph keeps its
        # values in bfloat16 between operations (archives written before the field: float32).
        self.precision = str(metadata.get("precision", "float32"))
        # {"threshold": t} or {"band_lower": l, "band_upper": u}, as the platform decides.
        self.operating_point = metadata.get("operating_point")
        graphs = {name: GraphSession(name, data, threads) for name, data in archive.graphs.items()}
        missing = set(metadata.get("graphs", [])) - set(graphs)
        if missing:
            raise ArchiveError(metadata.get("method"), f"lacks the graph(s) {', '.join(sorted(missing))}")
        self.scorer = build_scorer(self.method, graphs, metadata["scoring"], archive.arrays, self.image_shape)
        self.registrar = None
        if archive.reference is not None:
            from inspection.engine.registration.alignment import Registrar

            self.registrar = Registrar.from_config(metadata.get("registration") or {}, archive.reference)

    def explain(self, images: Sequence[np.ndarray]) -> Outcome:
        """Score, map (and nearest training image) of registered float32 (H, W, C) images in [0, 1]."""
        batch = np.stack([self._checked(image, index) for index, image in enumerate(images)])
        return self.scorer(batch)

    def score(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return self.explain(images).scores

    def decide(self, score: float) -> str:
        point = self.operating_point
        if not point:
            return "-"
        if point.get("threshold") is not None:
            return "reject" if score >= float(point["threshold"]) else "pass"
        if score >= float(point["band_upper"]):
            return "reject"
        return "review" if score >= float(point["band_lower"]) else "pass"

    def inspect_file(self, path) -> Decision:
        """Read, register, score and decide one image file."""
        image = read_image(path, channels=self.image_shape[-1])
        valid_mask = None
        if self.registrar is not None:
            result = self.registrar.register(image)
            if not result.accepted:
                return Decision(str(path), "review", None, reason=f"registration failed: {result.reason}")
            image, valid_mask = result.image, result.valid_mask
        outcome = self.explain([image])
        score = float(outcome.scores[0])
        # As everywhere a map leaves the engine: 0 where the picture showed nothing of its own.
        anomaly_map = without_outside_pixels(outcome.maps[0], valid_mask)
        return Decision(str(path), self.decide(score), score, anomaly_map=anomaly_map)

    def _checked(self, image: np.ndarray, index: int) -> np.ndarray:
        image = np.asarray(image, dtype=np.float32)
        if image.ndim == 2:
            image = image[..., None]
        if image.shape != self.image_shape:
            raise ValueError(f"image {index} has shape {image.shape}, the model expects {self.image_shape}")
        return image


def load_model(path, *, threads: int | None = None) -> ExportedModel:
    return ExportedModel(read_archive(path), threads=threads)


def read_image(path, *, channels: int) -> np.ndarray:
    """An image file as float32 (H, W, channels) in [0, 1], as the engine reads it (BT.601 grey).

    EXIF orientation is not applied: line cameras write PNG or BMP without it.
    """
    path = Path(path)
    data = np.fromfile(path, dtype=np.uint8) if path.is_file() else None
    if data is None:
        raise ValueError(f"{path}: file not found")
    pixels = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise ValueError(f"{path}: not a readable image file")
    scale = 65535.0 if pixels.dtype == np.uint16 else 255.0
    pixels = pixels.astype(np.float32) / scale
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.shape[-1] == 4:
        pixels = pixels[..., :3] * pixels[..., 3:]  # composited on black, as the engine does
    if pixels.shape[-1] == 3:
        pixels = pixels[..., ::-1]  # OpenCV decodes BGR
    if channels == 1 and pixels.shape[-1] == 3:
        pixels = to_gray(pixels)[..., None]
    elif channels == 3 and pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)
    return np.ascontiguousarray(pixels, dtype=np.float32)
