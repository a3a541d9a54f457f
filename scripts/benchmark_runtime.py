"""Per method, in one process: score vs explain, and the TensorFlow engine vs the exported ONNX runtime.

    .venv/bin/python scripts/benchmark_runtime.py [--side 256] [--methods all] [--train-images 20]
    .venv/bin/python scripts/benchmark_runtime.py --side 1024 --methods cpcae-knn --train-images 10

On a synthetic zipper-cursor set (set 1) at ``--side`` pixels, each method is
fitted on registered training images (autoencoders for ``--epochs`` epochs
only: inference time does not depend on how long the network trained), then
on one registered test image it reports the median time of ``score`` and of
``explain`` (score, map, reconstruction, nearest image) and their ratio; the
model is exported (``inspection.engine.export``) and the same image is
explained by ``inspection.runtime`` (ONNX Runtime), with the largest relative
difference between the engine's and the runtime's scores over all test
images. For cpcae-knn (fitted in float32, since bfloat16 models cannot be
exported) a bfloat16 twin shares its autoencoder and refits the k-NN memory on
bfloat16 embeddings: its score time, and the Pearson correlation of its
scores with float32's and both image AUROCs on the test images. Every figure of a row comes from the same process and the same
minute, so ratios stay meaningful on a machine that other work also loads;
absolute times do not.
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

from benchmark_engine import machine_description, median_ms  # noqa: E402

AUTOENCODER_METHODS = ("cpcae-knn", "ae-l2")


def bfloat16_twin(detector, images):
    """cpcae-knn with the same autoencoder, its backbone and k-NN memory in bfloat16."""
    from inspection.engine.detector import MethodState
    from inspection.engine.features.knn import KNNScorer

    state = detector.get_state()
    weights = Path(tempfile.mkdtemp()) / "cpcae.weights.h5"
    state.keras_models["cpcae"].save_weights(weights)
    twin = type(detector).from_state(
        MethodState(config=state.config, arrays=state.arrays, keras_models={"cpcae": weights})
    )
    twin.precision_ = "bfloat16"
    embeddings, _, _ = twin._embed(images)
    twin.knn_ = KNNScorer(n_neighbors=detector.n_neighbors, variance_shrinkage=detector.variance_shrinkage).fit(
        embeddings
    )
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
    if method == "cpcae-knn":
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
    if method == "cpcae-knn":
        twin = bfloat16_twin(detector, images)
        twin_scores = np.concatenate([twin.score([image]) for image in test_images])
        reduced = {
            "bfloat16_score_ms": round(median_ms(lambda: twin.score(probe), arguments.repeats), 1),
            "bfloat16_pearson": round(float(np.corrcoef(engine_scores, twin_scores)[0, 1]), 5),
            "float32_auroc": round(image_auroc(labels, engine_scores), 4),
            "bfloat16_auroc": round(image_auroc(labels, twin_scores), 4),
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
    from inspection.engine.data.imageio import load_image
    from inspection.engine.data.synth import render_set
    from inspection.engine.methods import METHOD_NAMES
    from inspection.engine.registration.alignment import Registrar

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--methods", default="all")
    parser.add_argument("--train-images", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--test-images", type=int, default=10, help="good and as many defective test images")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(REPOSITORY / "benchmarks" / "out"))
    arguments = parser.parse_args()
    methods = list(METHOD_NAMES) if arguments.methods == "all" else arguments.methods.split(",")

    records = []
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "set1"
        render_set(
            data,
            set_id=1,
            seed=0,
            n_train=arguments.train_images,
            n_test_good=arguments.test_images,
            n_test_defective=arguments.test_images,
            size=(arguments.side, arguments.side),
        )
        train_paths = sorted((data / "train" / "good").glob("*.png"))
        registrar = Registrar().fit(load_image(train_paths[0]))

        def registered(paths):
            results = [(registrar.register(load_image(path)), path) for path in paths]
            return [result.image for result, _ in results if result.accepted], [
                int(path.parent.name != "good") for result, path in results if result.accepted
            ]

        images, _ = registered(train_paths)
        test_images, labels = registered(sorted((data / "test").rglob("*.png")))
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
                f"image AUROC {record['float32_auroc']:.4f} / {record['bfloat16_auroc']:.4f}"
            )
    out = Path(arguments.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"runtime-{arguments.side}-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(records, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
