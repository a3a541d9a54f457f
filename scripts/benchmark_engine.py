"""Engine benchmarks whose figures go into docs/benchmarks.md.

    .venv/bin/python scripts/benchmark_engine.py speed   [--out benchmarks/out]
    .venv/bin/python scripts/benchmark_engine.py quality [--datasets ...] [--methods ...]

``speed``: on synthetic 1024x1024 zipper cursors, the paper's pipeline with
the Xception backbone: training time on 200 images, end-to-end inference per
image (file -> registration -> score) against the backbone's forward pass alone
at the same resolution, and peak resident memory. Run each suite in its own
process so that peak RSS belongs to that suite alone.

``quality``: every method on the shared real data sets and the synthetic sets,
image AUROC / AP / pixel AUROC, written as JSON and a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from inspection.engine.cli import ConsoleProgress, format_table, parse_parameter  # noqa: E402
from inspection.engine.scoring.evaluation import evaluate, peak_rss_mb  # noqa: E402

SHARED_DATASETS = REPOSITORY.parent / "shared" / "datasets"

# Per data set: how images are registered and at which resolution the methods see them.
REAL_DATASETS = {
    # Tiles are photographed aligned but at varying sizes: resize only.
    "magnetic_tile": {"registration": "none", "image_size": (256, 256), "mode": "gray"},
    # One rigid board at varying position and angle; its ROI is the board.
    "circuitboard": {"registration": "orb+ecc", "roi": (190, 180, 656, 272), "mode": "rgb",
                     "reference": SHARED_DATASETS / "circuitboard" / "train" / "good" / "train-normal_1.jpg"},
}


def machine_description() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"


def median_ms(function, repeats: int) -> float:
    function()  # warm-up: tracing, caches
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def speed(arguments) -> dict:
    import numpy as np

    from inspection.engine.networks import backbones
    from inspection.engine.data.imageio import load_image
    from inspection.engine.methods import create_method
    from inspection.engine.registration.alignment import Registrar
    from inspection.engine.data.synth import render_set

    side = arguments.side
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "set1"
        started = time.perf_counter()
        render_set(data, set_id=1, seed=0, n_train=arguments.train_images, n_test_good=6,
                   n_test_defective=6, size=(side, side))
        render_seconds = time.perf_counter() - started
        train_paths = sorted((data / "train" / "good").glob("*.png"))
        test_paths = sorted((data / "test").rglob("*.png"))

        started = time.perf_counter()
        reference = load_image(train_paths[0])
        registrar = Registrar().fit(reference)
        images = []
        for path in train_paths:
            result = registrar.register(load_image(path))
            if result.accepted:
                images.append(result.image)
        detector = create_method("cpcae-knn", **{"backbone": arguments.backbone, "seed": 0, **dict(arguments.param or [])})
        detector.fit(images, progress=ConsoleProgress())
        train_seconds = time.perf_counter() - started
        del images
        print(f"trained on {len(train_paths)} images in {train_seconds:.1f} s", file=sys.stderr, flush=True)

        def inspect_one(path=test_paths[0]):
            result = registrar.register(load_image(path))
            detector.score([result.image])

        end_to_end_ms = median_ms(inspect_one, arguments.repeats)
        import tensorflow as tf

        model = backbones.load_backbone(arguments.backbone)
        # Compiled like the embedder's own forward pass, so the comparison is fair.
        forward = tf.function(lambda inputs: model(inputs, training=False), reduce_retracing=True)
        batch = np.random.default_rng(0).random((1, *reference.shape[:2], 3), dtype=np.float32)
        prepared = backbones.preprocess(batch, arguments.backbone)
        backbone_ms = median_ms(lambda: forward(prepared).numpy(), arguments.repeats)

    return {
        "suite": "speed",
        "machine": machine_description(),
        "backbone": arguments.backbone,
        "image_side": side,
        "n_train": len(train_paths),
        "render_seconds": round(render_seconds, 1),
        "train_seconds": round(train_seconds, 1),
        "end_to_end_ms_per_image": round(end_to_end_ms, 1),
        "backbone_forward_ms_per_image": round(backbone_ms, 1),
        "end_to_end_over_backbone": round(end_to_end_ms / backbone_ms, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "autoencoder_epochs": len(detector.autoencoder_.loss_history_),
        "params": dict(arguments.param or []),
    }


def quality(arguments) -> list[dict]:
    from inspection.engine.methods import METHOD_NAMES, accepted_parameters
    from inspection.engine.data.synth import render_set

    methods = list(METHOD_NAMES) if arguments.methods == "all" else arguments.methods.split(",")
    records = []
    with tempfile.TemporaryDirectory() as folder:
        targets = []
        for name in arguments.datasets.split(","):
            if name.startswith("synth"):
                set_ids = range(1, 7) if name == "synth" else [int(name[len("synth"):])]
                for set_id in set_ids:
                    out = Path(folder) / f"synth{set_id}"
                    render_set(out, set_id=set_id, seed=arguments.seed)
                    targets.append((f"synthetic set {set_id}", out, {"registration": "orb+ecc"}))
            else:
                path = SHARED_DATASETS / name
                if not path.is_dir():
                    print(f"skipping {name}: {path} not found", file=sys.stderr)
                    continue
                targets.append((name, path, REAL_DATASETS.get(name, {})))
        for label, path, options in targets:
            for method in methods:
                print(f"== {label}: {method}", file=sys.stderr, flush=True)
                shared = {"seed": arguments.seed, **dict(arguments.param or [])}
                params = {key: value for key, value in shared.items() if key in accepted_parameters(method)}
                try:
                    record = evaluate(path, method=method, params=params, progress=ConsoleProgress(), **options)
                except Exception as error:  # a failing method is recorded, the table goes on
                    record = {"method": method, "error": f"{type(error).__name__}: {error}"}
                record["dataset"] = label
                record.pop("scores", None), record.pop("labels", None), record.pop("test_files", None)
                records.append(record)
                print(format_table([record]), file=sys.stderr, flush=True)
    return records


def markdown_table(records: list[dict]) -> str:
    lines = ["| data set | method | image AUROC | image AP | pixel AUROC | train s | ms/image |",
             "|---|---|---|---|---|---|---|"]
    for record in records:
        if "error" in record:
            lines.append(f"| {record['dataset']} | {record['method']} | failed: {record['error']} | | | | |")
            continue
        pixel = "-" if record.get("pixel_auroc") is None else f"{record['pixel_auroc']:.3f}"
        lines.append(
            f"| {record['dataset']} | {record['method']} | {record['image_auroc']:.3f} | {record['image_ap']:.3f} "
            f"| {pixel} | {record['train_seconds']:.0f} | {record['infer_ms_per_image']:.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", choices=["speed", "quality"])
    parser.add_argument("--out", default=str(REPOSITORY / "benchmarks" / "out"))
    parser.add_argument("--backbone", default="xception")
    parser.add_argument("--side", type=int, default=1024)
    parser.add_argument("--train-images", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--datasets", default="magnetic_tile,circuitboard,synth")
    parser.add_argument("--methods", default="all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--param", type=parse_parameter, action="append",
                        help="key=value for every method that takes it (e.g. downsize_factor=2); with speed, for cpcae-knn")
    arguments = parser.parse_args()

    out = Path(arguments.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if arguments.suite == "speed":
        result = speed(arguments)
        print(json.dumps(result, indent=2))
    else:
        result = quality(arguments)
        print(markdown_table(result))
    (out / f"{arguments.suite}-{stamp}.json").write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
