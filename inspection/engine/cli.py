"""Command line of the engine: ``python -m inspection.engine {synth,evaluate,train,inspect,export}``.

Exit code 0 on success; otherwise a one-line reason on stderr and exit code 2
(bad input or refused data) or 1 (unexpected failure).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import ENGINE_VERSION
from .data.registration_cases import CASES as REGISTRATION_CASES
from .errors import EngineError
from .progress import ProgressEvent

TABLE_COLUMNS = (
    ("method", "method", "{}"),
    ("image_auroc", "AUROC", "{:.4f}"),
    ("image_ap", "AP", "{:.4f}"),
    ("pixel_auroc", "pixel AUROC", "{:.4f}"),
    ("registration", "registration", "{}"),
    ("unregistered_count", "unregistered", "{}"),
    ("train_seconds", "train s", "{:.1f}"),
    ("infer_ms_per_image", "ms/image", "{:.0f}"),
    ("peak_rss_mb", "peak RSS MB", "{:.0f}"),
)


class ConsoleProgress:
    """Prints one line per stage change and per epoch to stderr, at most every half second otherwise."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.last_stage = None
        self.last_print = 0.0

    def __call__(self, event: ProgressEvent) -> bool:
        now = time.monotonic()
        is_epoch = event.epoch is not None
        if event.stage != self.last_stage or is_epoch or now - self.last_print > 0.5 or event.fraction >= 1.0:
            text = f"[{event.stage}] {event.fraction * 100:5.1f}%"
            if is_epoch:
                text += f" epoch {event.epoch}/{event.epochs}"
            if event.loss is not None:
                text += f" loss {event.loss:.5f}"
            if event.message:
                text += f" {event.message}"
            print(text, file=self.stream, flush=True)
            self.last_stage, self.last_print = event.stage, now
        return False


def parse_parameter(text: str) -> tuple[str, Any]:
    """``key=value`` with the value read as JSON when it parses (numbers, lists), else as a string."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip().replace("-", "_"), value


def parse_roi(text: str):
    """X,Y,W,H, or "frame" for the whole frame (without --roi the part is suggested on the reference)."""
    if text.strip().lower() == "frame":
        return "frame"
    try:
        x, y, width, height = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y,WIDTH,HEIGHT or frame, got {text!r}") from None
    return x, y, width, height


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if width < 8 or height < 8:
        raise argparse.ArgumentTypeError("image size must be at least 8x8")
    return width, height


def format_table(records: Sequence[dict]) -> str:
    rows = [[title for _, title, _ in TABLE_COLUMNS]]
    for record in records:
        if "error" in record:
            # A report of several lines is printed in full below the table.
            first_line = record["error"].splitlines()[0]
            rows.append([record["method"], f"failed: {first_line}"] + [""] * (len(TABLE_COLUMNS) - 2))
            continue
        row = []
        for key, _, pattern in TABLE_COLUMNS:
            value = record.get(key)
            row.append("-" if value is None else pattern.format(value))
        rows.append(row)
    widths = [max(len(row[index]) for row in rows) for index in range(len(TABLE_COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _public(record: dict) -> dict:
    return {key: value for key, value in record.items() if not key.startswith("_")}


def command_synth(arguments) -> int:
    from .data.registration_cases import render_case
    from .data.synth import render_set

    if arguments.case:
        cases = REGISTRATION_CASES if arguments.case == "all" else [arguments.case]
        for case in cases:
            out = Path(arguments.out) / case if arguments.case == "all" else Path(arguments.out)
            render_case(
                out,
                case=case,
                seed=arguments.seed,
                n_train=arguments.train,
                n_test_good=arguments.test_good,
                n_test_defective=arguments.test_defective,
            )
            print(f"wrote registration case {case} to {out}")
        return 0
    sets = range(1, 7) if arguments.set == "all" else [int(arguments.set)]
    for set_id in sets:
        out = Path(arguments.out) / f"set{set_id}" if arguments.set == "all" else Path(arguments.out)
        render_set(
            out,
            set_id=set_id,
            seed=arguments.seed,
            n_train=arguments.train,
            n_test_good=arguments.test_good,
            n_test_defective=arguments.test_defective,
            size=(arguments.size, arguments.size),
        )
        print(f"wrote synthetic set {set_id} to {out}")
    return 0


def _evaluation_options(arguments) -> dict:
    params = dict(arguments.param or [])
    if arguments.backbone:
        params["backbone"] = arguments.backbone
    if arguments.seed is not None:
        params["seed"] = arguments.seed
    if arguments.weights:
        params["weights"] = arguments.weights
    return {
        "params": params,
        "registration": arguments.registration,
        "registration_settings": dict(arguments.registration_setting or []) or None,
        "roi": arguments.roi,
        "image_size": arguments.image_size,
        "mode": arguments.mode,
        "reference": arguments.reference,
        "progress": None if arguments.quiet else ConsoleProgress(),
    }


def command_evaluate(arguments) -> int:
    from .methods import METHOD_NAMES
    from .scoring.evaluation import evaluate, evaluate_all

    options = _evaluation_options(arguments)
    if arguments.method == "all":
        methods = arguments.methods.split(",") if arguments.methods else list(METHOD_NAMES)
        records = evaluate_all(arguments.data_dir, methods=methods, **options)
        print(format_table(records))
        for record in records:
            if "\n" in record.get("error", ""):
                print(f"\n{record['method']}: {record['error']}")
        payload: Any = [_public(record) for record in records]
        failed = all("error" in record for record in records)
    else:
        record = evaluate(arguments.data_dir, method=arguments.method, **options)
        print(format_table([record]))
        payload, failed = _public(record), False
    if arguments.json:
        Path(arguments.json).parent.mkdir(parents=True, exist_ok=True)
        Path(arguments.json).write_text(json.dumps(payload, indent=2))
    return 1 if failed else 0


def command_train(arguments) -> int:
    from .bundle import save_bundle
    from .scoring.evaluation import evaluate

    options = _evaluation_options(arguments)
    record = evaluate(arguments.data_dir, method=arguments.method, keep_detector=True, **options)
    detector, registrar = record.pop("_detector"), record.pop("_registrar")
    metrics = {
        key: record[key] for key in ("image_auroc", "image_ap", "pixel_auroc", "train_seconds", "n_train", "n_test")
    }
    save_bundle(
        arguments.out,
        detector=detector,
        image_shape=tuple(record["image_shape"]),
        registration=registrar.get_config(),
        reference=registrar.reference_,
        metrics=metrics,
        registration_report=record["registration_report"],
        overwrite=arguments.overwrite,
    )
    print(format_table([record]))
    print(f"registration: {record['registration']} ({record['registration_report']['why']})")
    print(f"saved bundle to {arguments.out}")
    return 0


def command_inspect(arguments) -> int:
    from .bundle import load_bundle
    from .data.imageio import load_image

    bundle = load_bundle(arguments.bundle)
    registrar = bundle.registrar()
    mode = "gray" if bundle.image_shape[-1] == 1 else "rgb"
    threshold = arguments.threshold if arguments.threshold is not None else bundle.thresholds.get("threshold")
    for path in arguments.images:
        result = registrar.register(load_image(path, mode=mode))
        if not result.accepted:
            print(f"{path}\treview\tregistration failed: {result.reason}")
            continue
        score = float(bundle.detector.score([result.image])[0])
        decision = "-" if threshold is None else ("reject" if score >= threshold else "pass")
        print(f"{path}\t{decision}\t{score:.6f}")
    return 0


def command_export(arguments) -> int:
    from .export import export_bundle

    operating_point = None if arguments.threshold is None else {"threshold": arguments.threshold}
    path = export_bundle(arguments.bundle, arguments.out, operating_point=operating_point)
    print(f"exported {arguments.bundle} to {path}; run it with: python -m inspection.runtime {path} IMAGES...")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m inspection.engine", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"inspection engine {ENGINE_VERSION}")
    commands = parser.add_subparsers(dest="command", required=True)

    synth = commands.add_parser("synth", help="render a synthetic zipper-cursor data set (MVTec layout)")
    synth.add_argument("out")
    synth.add_argument("--set", default="1", choices=[str(n) for n in range(1, 7)] + ["all"])
    synth.add_argument(
        "--case",
        default=None,
        choices=list(REGISTRATION_CASES) + ["all"],
        help="instead of a cursor set, a part class registration must handle (192 px; --size is ignored)",
    )
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--train", type=int, default=60)
    synth.add_argument("--test-good", type=int, default=30)
    synth.add_argument("--test-defective", type=int, default=30)
    synth.add_argument("--size", type=int, default=256)
    synth.set_defaults(handler=command_synth)

    def add_evaluation_arguments(sub):
        sub.add_argument("data_dir", help="folder in MVTec layout: train/good, test/good, test/<defect>")
        sub.add_argument("--backbone", choices=["xception", "efficientnet-lite0"], default=None)
        sub.add_argument("--weights", choices=["imagenet", "random"], default=None, help="random only for experiments")
        sub.add_argument("--seed", type=int, default=None)
        sub.add_argument(
            "--registration",
            choices=["auto", "orb+ecc", "ecc", "orb", "none"],
            default="auto",
            help="auto (default): chosen and calibrated on the training pictures, recorded in the bundle",
        )
        sub.add_argument(
            "--roi",
            type=parse_roi,
            default=None,
            help="X,Y,W,H region of interest in the reference, or 'frame' for the whole frame "
            "(default: the part, suggested on the reference)",
        )
        sub.add_argument(
            "--registration-setting",
            type=parse_parameter,
            action="append",
            help="registration limit key=value (min_quality, max_rotation, max_shift, min_coverage...)",
        )
        sub.add_argument("--image-size", type=parse_size, default=None, help="WIDTHxHEIGHT of registered images")
        sub.add_argument("--mode", choices=["gray", "rgb"], default=None)
        sub.add_argument("--reference", default=None, help="reference image (default: the first training image)")
        sub.add_argument("--param", type=parse_parameter, action="append", help="method hyper-parameter key=value")
        sub.add_argument("--quiet", action="store_true", help="no progress lines")

    evaluate = commands.add_parser("evaluate", help="train on train/good, measure on test/")
    add_evaluation_arguments(evaluate)
    evaluate.add_argument("--method", default="cpcae-knn", help="a method name, or 'all'")
    evaluate.add_argument("--methods", default=None, help="with --method all: comma-separated subset")
    evaluate.add_argument("--json", default=None, help="write the record(s) to this file")
    evaluate.set_defaults(handler=command_evaluate)

    train = commands.add_parser("train", help="train on a folder and save a model bundle")
    add_evaluation_arguments(train)
    train.add_argument("--method", default="cpcae-knn")
    train.add_argument("--out", required=True, help="bundle directory to write")
    train.add_argument("--overwrite", action="store_true")
    train.set_defaults(handler=command_train)

    inspect = commands.add_parser("inspect", help="score images with a saved bundle")
    inspect.add_argument("bundle")
    inspect.add_argument("images", nargs="+")
    inspect.add_argument("--threshold", type=float, default=None)
    inspect.set_defaults(handler=command_inspect)

    export = commands.add_parser("export", help="write a bundle as an archive for inspection.runtime (ONNX)")
    export.add_argument("bundle")
    export.add_argument("out", help="archive file to write")
    export.add_argument("--threshold", type=float, default=None, help="operating point (default: the bundle's)")
    export.set_defaults(handler=command_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    arguments = build_parser().parse_args(argv)
    try:
        return arguments.handler(arguments)
    except EngineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
