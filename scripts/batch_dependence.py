"""Does a part's score depend on the other parts scored with it? And what does scoring each part alone cost?

    .venv/bin/python scripts/batch_dependence.py                       # every method, 256 px
    .venv/bin/python scripts/batch_dependence.py --methods cpcae-knn --side 512
    .venv/bin/python scripts/batch_dependence.py --methods variation --layers   # where Xception's outputs part

The platform scores every picture alone (``services.scoring.explain_each``),
in evaluation, batch jobs and live inspection alike, and does not gather
simultaneous requests into one batch. This script measures what that rule
protects and what it costs. For every method it fits the method on synthetic
zipper cursors (set 1, registered, ``--train-images``), then for each test
picture compares its score

- alone (``explain([picture])``, what the platform stores),
- in a batch of ``--batch`` with good neighbours, and with defective ones,
- in a batch of 2 with another picture,

("score differs between batches" compares those three batched scores), and
times ``explain`` per picture alone and in batches of ``--batch``
(median of ``--repeats``). Prints one JSON line per method, then a Markdown
table with the machine and the command.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmark_engine import machine_description, median_ms, registered_synthetic_set  # noqa: E402

SMALL_NETWORKS = {"cpcae-knn": {"epochs": 2}, "ae-l2": {"epochs": 2}}


def measure(method: str, images: dict, arguments) -> dict:
    import numpy as np

    from inspection.engine.methods import create_method

    detector = create_method(method, **SMALL_NETWORKS.get(method, {}))
    detector.fit(images["train"])
    good, defective = images["good"], images["defective"]
    test = good + defective
    size = arguments.batch

    def scores(batch):
        return np.asarray(detector.explain(batch).scores, dtype=np.float64)

    alone = np.array([scores([picture])[0] for picture in test])
    with_good, with_defective, in_pairs = [], [], []
    for index, picture in enumerate(test):
        good_neighbours = [other for position, other in enumerate(good) if position != index]
        defective_neighbours = [other for position, other in enumerate(defective) if position + len(good) != index]
        with_good.append(scores([picture, *good_neighbours[: size - 1]])[0])
        with_defective.append(scores([picture, *defective_neighbours[: size - 1]])[0])
        in_pairs.append(scores([picture, test[(index + 1) % len(test)]])[0])
    with_good, with_defective, in_pairs = np.array(with_good), np.array(with_defective), np.array(in_pairs)

    def largest_relative(first, second) -> float:
        return float(np.max(np.abs(first - second) / np.maximum(np.abs(first), 1e-12)))

    batch = test[:size]
    alone_ms = median_ms(lambda: [detector.explain([picture]) for picture in batch], arguments.repeats) / len(batch)
    batch_ms = median_ms(lambda: detector.explain(batch), arguments.repeats) / len(batch)
    return {
        "method": method,
        "side": arguments.side,
        "test_pictures": len(test),
        "batch": size,
        "alone_equals_batch": bool(np.array_equal(alone, with_good) and np.array_equal(alone, with_defective)),
        "alone_vs_batch_max_relative": largest_relative(alone, with_good),
        "batch_scores_vary": not (np.array_equal(with_good, with_defective) and np.array_equal(with_good, in_pairs)),
        "alone_ms_per_picture": round(alone_ms, 1),
        "batch_ms_per_picture": round(batch_ms, 1),
        "alone_over_batch_throughput": round(batch_ms / alone_ms, 3),
    }


def registered_images(arguments) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        train, test, labels = registered_synthetic_set(
            Path(folder) / "set1",
            side=arguments.side,
            n_train=arguments.train_images,
            n_test_good=arguments.test_pictures,
            n_test_defective=arguments.test_pictures,
        )
    return {
        "train": train,
        "good": [image for image, label in zip(test, labels) if not label],
        "defective": [image for image, label in zip(test, labels) if label],
    }


def first_differing_layer(side: int, batch: int) -> str:
    """The first layer of the engine's Xception whose output for a picture differs between batch 1 and `batch`."""
    import keras
    import numpy as np

    from inspection.engine.networks import backbones

    model = backbones.load_backbone("xception")
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers[1:]])
    pictures = backbones.preprocess(
        np.random.default_rng(0).random((batch, side, side, 3), dtype=np.float32), "xception"
    )
    alone, together = probe(pictures[:1], training=False), probe(pictures, training=False)
    for layer, first, second in zip(model.layers[1:], alone, together):
        first, second = np.asarray(first), np.asarray(second)[:1]
        if not np.array_equal(first, second):
            return f"{layer.name} ({type(layer).__name__}), largest difference {np.max(np.abs(first - second)):.1e}"
    return "none: every layer gives the same output alone and in a batch"


def markdown_table(records: list[dict]) -> str:
    lines = [
        "| method | score alone = score in a batch | largest relative difference | score differs between batches "
        "| ms per picture alone / in a batch | alone / batch throughput |",
        "|---|---|---|---|---|---|",
    ]
    for record in records:
        lines.append(
            f"| {record['method']} | {'yes' if record['alone_equals_batch'] else 'no'} "
            f"| {record['alone_vs_batch_max_relative']:.1e} | {'yes' if record['batch_scores_vary'] else 'no'} "
            f"| {record['alone_ms_per_picture']} / {record['batch_ms_per_picture']} "
            f"| {record['alone_over_batch_throughput']:.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="cpcae-knn,ae-l2,deep-feature,patch-knn,variation,nearest-image")
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--train-images", type=int, default=12)
    parser.add_argument("--test-pictures", type=int, default=4, help="good and as many defective")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--layers", action="store_true", help="also name the first Xception layer that differs")
    arguments = parser.parse_args()
    if arguments.batch < 2 or arguments.batch > 2 * arguments.test_pictures:
        parser.error("--batch must be between 2 and twice --test-pictures")
    load_before = os.getloadavg()[0]
    images = registered_images(arguments)
    records = []
    for method in arguments.methods.split(","):
        record = measure(method, images, arguments)
        print(json.dumps(record), flush=True)
        records.append(record)
    print(
        f"\n{machine_description()}; load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    )
    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}\n")
    print(markdown_table(records))
    if arguments.layers:
        print(
            f"\nfirst Xception layer that differs alone and in a batch of {arguments.batch}: "
            f"{first_differing_layer(arguments.side, arguments.batch)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
