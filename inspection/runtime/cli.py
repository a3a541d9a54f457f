"""``python -m inspection.runtime ARCHIVE IMAGES...``: score and decide images with an exported model.

One tab-separated line per image on stdout: file, decision (pass, reject,
review in the review band or when registration fails, ``-`` without an operating point), score.
The model's method and the number format its networks run in go to
stderr first. Exit code 0 when every image was scored or sent to review; 2 with a one-line
reason on stderr for a refused archive or an unreadable image.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from .archive import ArchiveError
from .model import load_model


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m inspection.runtime", description=__doc__.splitlines()[0])
    parser.add_argument("archive", help="archive written by 'python -m inspection.engine export'")
    parser.add_argument("images", nargs="+")
    parser.add_argument("--threshold", type=float, default=None, help="override the archive's operating point")
    parser.add_argument("--maps", default=None, help="folder to write each image's anomaly map to (8-bit PNG)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for ONNX Runtime (default: all)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        model = load_model(arguments.archive, threads=arguments.threads)
    except (ArchiveError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{model.method} model, networks in {model.precision}", file=sys.stderr, flush=True)
    if arguments.threshold is not None:
        model.operating_point = {"threshold": arguments.threshold}
    maps_folder = Path(arguments.maps) if arguments.maps else None
    if maps_folder is not None:
        maps_folder.mkdir(parents=True, exist_ok=True)
    for path in arguments.images:
        try:
            decision = model.inspect_file(path)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        if decision.score is None:
            print(f"{path}\t{decision.decision}\t{decision.reason}", flush=True)
            continue
        print(f"{path}\t{decision.decision}\t{decision.score:.6f}", flush=True)
        if maps_folder is not None:
            cv2.imwrite(str(maps_folder / f"{Path(path).stem}.map.png"), map_picture(decision.anomaly_map))
    return 0


def map_picture(anomaly_map: np.ndarray) -> np.ndarray:
    """An anomaly map as 8-bit grey, stretched to its own range (for looking at, not for measuring)."""
    low, high = float(np.min(anomaly_map)), float(np.max(anomaly_map))
    scaled = (anomaly_map - low) / (high - low) if high > low else np.zeros_like(anomaly_map)
    return np.round(scaled * 255).astype(np.uint8)
