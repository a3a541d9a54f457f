"""Per method, in one process: score vs explain, and the TensorFlow engine vs the exported ONNX runtime.

    .venv/bin/python scripts/benchmark_runtime.py [--side 256] [--methods all] [--train-images 20]
    .venv/bin/python scripts/benchmark_runtime.py --side 1024 --methods cpcae-knn --train-images 10
    .venv/bin/python scripts/benchmark_runtime.py --real-datasets circuitboard,magnetic_tile \
        --methods cpcae-knn,deep-feature

On a synthetic zipper-cursor set (set 1) at ``--side`` pixels, each method is
fitted on registered training images (autoencoders for ``--epochs`` epochs
only: inference time does not depend on how long the network trained), then
on one registered test image it reports the median time of ``score`` and of
``explain`` (score, map, reconstruction, nearest image) and their ratio; the
model is exported (``inspection.engine.export``) and the same image is
explained by ``inspection.runtime`` (ONNX Runtime), with the largest relative
difference between the engine's and the runtime's scores over all test
images. Each method with a ``precision`` parameter is fitted in float32 and
gets a bfloat16 twin (cpcae-knn's shares its autoencoder and refits the k-NN
memory on bfloat16 embeddings; the others are refitted in bfloat16): its
score time beside float32's, the Pearson correlation of the two score sets,
both image AUROCs, and the largest relative difference between the twin's
scores and those of its exported (bfloat16) archive. For ae-l2 the same
comparison runs with its CPCAE copied to bfloat16, plus the Pearson
correlation of the residual maps: a measurement behind keeping the CPCAE in
float32, not a setting. Every figure of a row
comes from the same process and the same minute, so ratios stay meaningful
on a machine that other work also loads; absolute times do not.

With ``--real-datasets`` the same float32 / bfloat16 comparison runs on real
MVTec-layout sets instead (registered as ``benchmark_engine.REAL_DATASETS``
says; seeded draws of at most ``--train-images`` training and
``--real-test-images`` test pictures): time per image, Pearson and image AUROC on the registered
test images.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmark_engine import (  # noqa: E402
    REAL_DATASETS,
    SHARED_DATASETS,
    machine_description,
    median_ms,
    registered_synthetic_set,
)

AUTOENCODER_METHODS = ("cpcae-knn", "ae-l2")


def has_precision(method: str) -> bool:
    from inspection.engine.methods import accepted_parameters

    return "precision" in accepted_parameters(method)


def bfloat16_twin(detector, images):
    """The detector with its backbone in bfloat16: cpcae-knn keeps its float32 autoencoder (only the
    embeddings and the k-NN memory are recomputed), the other methods are refitted."""
    from inspection.engine.detector import MethodState
    from inspection.engine.features.knn import KNNScorer
    from inspection.engine.methods import create_method

    if detector.name != "cpcae-knn":
        return create_method(detector.name, **{**detector.get_params(), "precision": "bfloat16"}).fit(images)
    state = detector.get_state()
    weights = Path(tempfile.mkdtemp()) / "cpcae.weights.h5"
    state.keras_models["cpcae"].save_weights(weights)
    twin = type(detector).from_state(
        MethodState(config=state.config, arrays=state.arrays, keras_models={"cpcae": weights})
    )
    twin.precision_ = "bfloat16"
    twin.__dict__.pop("_embedder_instance", None)
    embeddings, _, _ = twin._embed(images)
    twin.knn_ = KNNScorer(n_neighbors=detector.n_neighbors, variance_shrinkage=detector.variance_shrinkage).fit(
        embeddings
    )
    return twin


def autoencoder_in_bfloat16(detector):
    """ae-l2 with its CPCAE computed in bfloat16: a measurement only, the methods keep the CPCAE in float32."""
    import copy

    from inspection.engine.networks.precision import bfloat16_copy

    twin = copy.copy(detector)
    twin.autoencoder_ = copy.copy(detector.autoencoder_)
    twin.autoencoder_.network_ = bfloat16_copy(detector.autoencoder_.network_)
    return twin


def measure(method: str, images, test_images, labels, arguments, folder: Path) -> dict:
    import numpy as np

    from inspection.engine.export import export_model
    from inspection.engine.methods import create_method
    from inspection.engine.scoring.metrics import image_auroc
    from inspection.runtime import load_model

    params = {"seed": 0} if method in AUTOENCODER_METHODS + ("patch-knn",) else {}
    if method in AUTOENCODER_METHODS:
        params["epochs"] = arguments.epochs
    if has_precision(method):
        params["precision"] = "float32"
    started = time.perf_counter()
    detector = create_method(method, **params).fit(images)
    train_seconds = time.perf_counter() - started
    probe = [test_images[0]]
    score_ms = median_ms(lambda: detector.score(probe), arguments.repeats)
    explain_ms = median_ms(lambda: detector.explain(probe), arguments.repeats)
    engine_scores = np.concatenate([detector.score([image]) for image in test_images])

    started = time.perf_counter()
    archive = export_model(folder / f"{method}.zip", detector=detector, image_shape=images[0].shape)
    export_seconds = time.perf_counter() - started
    model = load_model(archive)
    runtime_ms = median_ms(lambda: model.explain(probe), arguments.repeats)
    runtime_scores = np.concatenate([model.score([image]) for image in test_images])
    relative = np.abs(runtime_scores - engine_scores) / np.maximum(np.abs(engine_scores), 1e-12)
    reduced = {}
    if has_precision(method):
        twin = bfloat16_twin(detector, images)
        twin_scores = np.concatenate([twin.score([image]) for image in test_images])
        twin_archive = export_model(
            folder / f"{method}-bfloat16.zip", detector=twin, image_shape=images[0].shape, allow_inexact_bfloat16=True
        )
        twin_runtime_scores = np.concatenate([load_model(twin_archive).score([image]) for image in test_images])
        reduced = {
            "bfloat16_score_ms": round(median_ms(lambda: twin.score(probe), arguments.repeats), 1),
            "bfloat16_pearson": round(float(np.corrcoef(engine_scores, twin_scores)[0, 1]), 5),
            "float32_auroc": round(image_auroc(labels, engine_scores), 4),
            "bfloat16_auroc": round(image_auroc(labels, twin_scores), 4),
            "bfloat16_max_relative_score_difference": float(
                (np.abs(twin_runtime_scores - twin_scores) / np.maximum(np.abs(twin_scores), 1e-12)).max()
            ),
        }
    if method == "ae-l2":
        twin = autoencoder_in_bfloat16(detector)
        twin_scores = np.concatenate([twin.score([image]) for image in test_images])
        maps = [np.concatenate([model.anomaly_maps([image]) for image in test_images]) for model in (detector, twin)]
        reduced = {
            "bfloat16_score_ms": round(median_ms(lambda: twin.score(probe), arguments.repeats), 1),
            "bfloat16_pearson": round(float(np.corrcoef(engine_scores, twin_scores)[0, 1]), 5),
            "float32_auroc": round(image_auroc(labels, engine_scores), 4),
            "bfloat16_auroc": round(image_auroc(labels, twin_scores), 4),
            "bfloat16_map_pearson": round(float(np.corrcoef(maps[0].ravel(), maps[1].ravel())[0, 1]), 5),
        }
    return {
        "method": method,
        "side": arguments.side,
        "train_seconds": round(train_seconds, 1),
        "score_ms": round(score_ms, 1),
        "explain_ms": round(explain_ms, 1),
        "explain_over_score": round(explain_ms / score_ms, 3),
        "onnx_runtime_explain_ms": round(runtime_ms, 1),
        "onnx_over_engine_explain": round(runtime_ms / explain_ms, 3),
        "export_seconds": round(export_seconds, 1),
        "archive_mb": round(archive.stat().st_size / 1e6, 1),
        "max_relative_score_difference": float(relative.max()),
        **reduced,
    }


def real_set_records(arguments) -> list[dict]:
    """float32 and bfloat16 side by side on real sets: time per image, Pearson of the scores, image AUROC."""
    import numpy as np

    from inspection.engine.data.dataset import load_mvtec_layout
    from inspection.engine.methods import accepted_parameters, create_method
    from inspection.engine.scoring.evaluation import build_registrar, register_paths
    from inspection.engine.scoring.metrics import image_auroc

    records = []
    for name in arguments.real_datasets.split(","):
        options = REAL_DATASETS[name]
        dataset = load_mvtec_layout(SHARED_DATASETS / name)
        registrar, _ = build_registrar(
            Path(options.get("reference") or dataset.train_paths[0]),
            registration=options["registration"],
            image_size=options.get("image_size"),
            mode=options["mode"],
            roi=options.get("roi"),
            training_paths=dataset.train_paths,
        )
        mode = options["mode"]
        # A seeded draw of at most --train-images training pictures keeps the run short on large sets.
        paths = list(dataset.train_paths)
        if len(paths) > arguments.train_images:
            chosen = np.random.default_rng(0).choice(len(paths), arguments.train_images, replace=False)
            paths = [paths[index] for index in sorted(chosen)]
        train = register_paths(registrar, paths, mode=mode, progress=None, stage="register-train")
        items = list(dataset.test_items)
        if arguments.real_test_images and len(items) > arguments.real_test_images:
            chosen = np.random.default_rng(0).choice(len(items), arguments.real_test_images, replace=False)
            items = [items[index] for index in sorted(chosen)]
        test = register_paths(registrar, [item.path for item in items], mode=mode, progress=None, stage="register")
        kept = {str(path) for path in test.paths}
        labels = np.array([item.label for item in items if str(item.path) in kept])
        for method in arguments.methods.split(","):
            print(f"== {name}: {method}", file=sys.stderr, flush=True)
            started = time.perf_counter()
            params = {"precision": "float32", **({"seed": 0} if "seed" in accepted_parameters(method) else {})}
            if method in AUTOENCODER_METHODS:
                params["epochs"] = arguments.epochs
            detector = create_method(method, **params).fit(train.images)
            train_seconds = time.perf_counter() - started
            models = {"float32": detector, "bfloat16": bfloat16_twin(detector, train.images)}
            scores = {
                key: np.concatenate(
                    [model.score(test.images[start : start + 16]) for start in range(0, len(test.images), 16)]
                )
                for key, model in models.items()
            }
            float32, bfloat16 = scores["float32"], scores["bfloat16"]
            timings = {key: per_image_ms(model, test.images[0], arguments.repeats) for key, model in models.items()}
            record = {
                "dataset": name,
                "method": method,
                "n_train": len(train.images),
                "n_test": len(test.images),
                "float32_train_seconds": round(train_seconds, 1),
                "float32_score_ms": timings["float32"],
                "bfloat16_score_ms": timings["bfloat16"],
                "pearson": round(float(np.corrcoef(float32, bfloat16)[0, 1]), 5),
                "float32_auroc": round(image_auroc(labels, float32), 4),
                "bfloat16_auroc": round(image_auroc(labels, bfloat16), 4),
            }
            records.append(record)
            print(json.dumps(record), file=sys.stderr, flush=True)
    return records


def per_image_ms(detector, image, repeats: int) -> float:
    return round(median_ms(lambda: detector.score([image]), repeats), 1)


def real_set_table(records: list[dict]) -> str:
    lines = [
        "| data set | method | test images | score ms fp32 | score ms bf16 | Pearson | AUROC fp32 | AUROC bf16 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for record in records:
        lines.append(
            f"| {record['dataset']} | {record['method']} | {record['n_test']} | {record['float32_score_ms']:.0f} "
            f"| {record['bfloat16_score_ms']:.0f} | {record['pearson']:.5f} | {record['float32_auroc']:.4f} "
            f"| {record['bfloat16_auroc']:.4f} |"
        )
    return "\n".join(lines)


def markdown_table(records: list[dict]) -> str:
    lines = [
        "| method | side | train s | score ms | explain ms | explain / score | ONNX runtime explain ms "
        "| ONNX / engine | max rel. score diff |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for record in records:
        if "error" in record:
            lines.append(f"| {record['method']} | {record['side']} | failed: {record['error']} | | | | | | |")
            continue
        lines.append(
            f"| {record['method']} | {record['side']} | {record['train_seconds']:.0f} | {record['score_ms']:.0f} "
            f"| {record['explain_ms']:.0f} | {record['explain_over_score']:.2f} | {record['onnx_runtime_explain_ms']:.0f} "
            f"| {record['onnx_over_engine_explain']:.2f} | {record['max_relative_score_difference']:.1e} |"
        )
    return "\n".join(lines)


def main() -> int:
    from inspection.engine.methods import METHOD_NAMES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--methods", default="all")
    parser.add_argument("--train-images", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--test-images", type=int, default=10, help="good and as many defective test images")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(REPOSITORY / "benchmarks" / "out"))
    parser.add_argument(
        "--real-datasets", default=None, help="e.g. circuitboard,magnetic_tile: float32 vs bfloat16 on real sets"
    )
    parser.add_argument("--real-test-images", type=int, default=None, help="a seeded draw of this many test pictures")
    arguments = parser.parse_args()
    if arguments.real_datasets:
        records = real_set_records(arguments)
        print(f"machine: {machine_description()}")
        print(real_set_table(records))
        out = Path(arguments.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"precision-real-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(records, indent=2))
        return 0
    methods = list(METHOD_NAMES) if arguments.methods == "all" else arguments.methods.split(",")

    records = []
    with tempfile.TemporaryDirectory() as scratch:
        images, test_images, labels = registered_synthetic_set(
            Path(scratch) / "set1",
            side=arguments.side,
            n_train=arguments.train_images,
            n_test_good=arguments.test_images,
            n_test_defective=arguments.test_images,
        )
        for method in methods:
            print(f"== {method} at {arguments.side} px", file=sys.stderr, flush=True)
            try:
                record = measure(method, images, test_images, labels, arguments, Path(scratch))
            except Exception as error:  # a failing method is recorded, the table goes on
                record = {"method": method, "side": arguments.side, "error": f"{type(error).__name__}: {error}"}
            records.append(record)
            print(json.dumps(record), file=sys.stderr, flush=True)
    print(f"machine: {machine_description()}")
    print(markdown_table(records))
    for record in records:
        if "bfloat16_score_ms" in record:
            print(
                f"{record['method']} at {record['side']} px: score {record['score_ms']:.0f} ms float32, "
                f"{record['bfloat16_score_ms']:.0f} ms bfloat16; Pearson {record['bfloat16_pearson']:.5f}; "
                f"image AUROC {record['float32_auroc']:.4f} / {record['bfloat16_auroc']:.4f}; "
                + (
                    f"bfloat16 archive vs engine: max rel. score diff "
                    f"{record['bfloat16_max_relative_score_difference']:.1e}"
                    if "bfloat16_max_relative_score_difference" in record
                    else f"CPCAE in bfloat16 (not a setting): residual maps' Pearson {record['bfloat16_map_pearson']:.5f}"
                )
            )
    out = Path(arguments.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"runtime-{arguments.side}-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(records, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
