"""One table per method: train time, explain time at two resolutions, float32 / bfloat16 / ONNX runtime, peak memory.

    .venv/bin/python scripts/benchmark_methods.py                  # every method, 1024 and 256 px
    .venv/bin/python scripts/benchmark_methods.py --methods variation --side 128 --small-side 64

Synthetic zipper cursors (set 1) are rendered and registered at ``--side``
pixels (the working resolution: the platform hands every method the
registered camera picture, 1024 x 1024 by default, and each method reduces it
internally) and at ``--small-side`` pixels. For every method, at each side and
in each precision it takes, three fresh processes run one after the other:

``fit``: fits the method on the registered training images (autoencoders for
``--epochs`` epochs: train time is measured with those epochs, not scaled up),
records the peak resident memory of the process right after fitting, saves the
model bundle and exports it for ``inspection.runtime`` (a refusal is recorded
with its reason); ``engine``: loads the bundle and times ``explain`` on one
registered test part (median of ``--repeats`` after a warm-up), then records
the process's peak resident memory; ``onnx``: the same with the exported
archive and ONNX Runtime, without TensorFlow in the process.

Precisions: a method whose ``get_params()`` has ``precision`` is run with
``precision="float32"`` and again with ``"bfloat16"``; the others once, as
they are (float32). Every result is a JSON line (``--out``); the Markdown
tables, the machine, the load average at start and end and the command line
are printed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmark_engine import machine_description, median_ms, registered_synthetic_set  # noqa: E402

from inspection.engine.cli import parse_parameter  # noqa: E402

ENGINE = "engine"
ONNX = "onnx"
VARIANTS = (
    (ENGINE, "float32", "engine, float32"),
    (ENGINE, "bfloat16", "engine, bfloat16"),
    (ONNX, "float32", "ONNX Runtime, float32 archive"),
    (ONNX, "bfloat16", "ONNX Runtime, bfloat16 archive"),
)


FIT_KEYS = ("train_seconds", "fit_peak_rss_mb")
DEFAULT_EPOCHS = 6  # the CPCAE's (networks.cpcae_trainer.CPCAE); importing it here would import TensorFlow


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started.

    VmHWM, not getrusage's ru_maxrss: a child inherits ru_maxrss from the
    process that forked it, so a light child would report its parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("/proc/self/status has no VmHWM line: peak memory needs Linux")


def significant(value: float) -> float:
    return float(f"{value:.3g}")


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


# ---------------------------------------------------------------- children


def fit_stage(arguments) -> dict:
    import numpy as np

    from inspection.engine.bundle import save_bundle
    from inspection.engine.export import export_model
    from inspection.engine.methods import accepted_parameters, create_method

    folder = Path(arguments.folder)
    images = list(np.load(Path(arguments.data) / "train.npy"))
    accepted = accepted_parameters(arguments.method)
    params = {"seed": 0, "epochs": arguments.epochs, **json.loads(arguments.params_json)}
    params = {key: value for key, value in params.items() if key in accepted}
    if arguments.precision_parameter:
        params["precision"] = arguments.precision
    try:
        detector = create_method(arguments.method, **params)
    except ValueError as refusal:
        return {"unsupported": str(refusal)}
    started = time.perf_counter()
    detector.fit(images)
    result = {
        "train_seconds": significant(time.perf_counter() - started),
        "fit_peak_rss_mb": round(peak_rss_mb()),
        "train_images": len(images),
        "params": params,
    }
    autoencoder = getattr(detector, "autoencoder_", None)
    if autoencoder is not None:
        result["autoencoder_epochs"] = len(autoencoder.loss_history_)
    save_bundle(folder / "bundle", detector=detector, image_shape=images[0].shape)
    started = time.perf_counter()
    try:
        archive = export_model(folder / "model.zip", detector=detector, image_shape=images[0].shape)
    except ValueError as refusal:  # the export's own refusal, with its reason
        result["export_unsupported"] = str(refusal)
    except Exception as error:  # a failing export is recorded, the engine columns go on
        result["export_error"] = f"{type(error).__name__}: {error}"
    else:
        result["export_seconds"] = significant(time.perf_counter() - started)
        result["archive_mb"] = significant(archive.stat().st_size / 1e6)
    return result


def explain_stage(arguments) -> dict:
    import numpy as np

    probe = [np.load(Path(arguments.data) / "test.npy")[0]]
    folder = Path(arguments.folder)
    started = time.perf_counter()
    if arguments.stage == ENGINE:
        from inspection.engine.bundle import load_bundle

        explain = load_bundle(folder / "bundle").detector.explain
    else:
        from inspection.runtime import load_model

        explain = load_model(folder / "model.zip").explain
    load_seconds = time.perf_counter() - started
    return {
        "load_seconds": significant(load_seconds),
        "explain_ms": significant(median_ms(lambda: explain(probe), arguments.repeats)),
        "explain_peak_rss_mb": round(peak_rss_mb()),
    }


def child_main(arguments) -> int:
    try:
        result = fit_stage(arguments) if arguments.stage == "fit" else explain_stage(arguments)
    except Exception as error:  # reported to the parent, which records it and goes on
        result = {"error": f"{type(error).__name__}: {error}"}
    print(json.dumps(result), flush=True)
    return 0


# ---------------------------------------------------------------- parent


def prepare_data(folder: Path, side: int, arguments) -> Path:
    """Registered training images and test parts at ``side`` px, saved as arrays for the children."""
    import numpy as np

    train, test, labels = registered_synthetic_set(
        folder / f"set1-{side}", side=side, n_train=arguments.train_images, n_test_good=1, n_test_defective=1
    )
    data = folder / f"arrays-{side}"
    data.mkdir()
    np.save(data / "train.npy", np.stack(train).astype(np.float32))
    # A good part is explained (explain's time does not depend on what it finds).
    np.save(data / "test.npy", np.stack([image for image, label in zip(test, labels) if not label]).astype(np.float32))
    return data


def run_child(stage: str, method: str, side: int, precision: str, data: Path, folder: Path, arguments) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        stage,
        "--methods",
        method,
        "--precision",
        precision,
        "--data",
        str(data),
        "--folder",
        str(folder),
        "--epochs",
        str(arguments.epochs),
        "--repeats",
        str(arguments.repeats),
        "--params-json",
        json.dumps(dict(arguments.param or [])),
    ]
    if arguments.precision_parameter:
        command.append("--precision-parameter")
    record = {"method": method, "side": side, "precision": precision, "stage": stage, "load_average": load_average()}
    print(f"== {method} at {side} px, {precision}: {stage}", file=sys.stderr, flush=True)
    completed = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    lines = completed.stdout.strip().splitlines()
    try:
        record.update(json.loads(lines[-1]))
    except (IndexError, json.JSONDecodeError):
        record["error"] = f"the process ended with status {completed.returncode} and no result"
    return record


def measure_method(method: str, sides: list[int], data: dict, scratch: Path, arguments, journal) -> None:
    from inspection.engine.methods import create_method

    takes_precision = "precision" in create_method(method).get_params()
    arguments.precision_parameter = takes_precision

    def keep(record):
        journal.write(json.dumps(record) + "\n")
        journal.flush()
        print(json.dumps(record), file=sys.stderr, flush=True)

    for side in sides:
        for precision in ("float32", "bfloat16"):
            if precision == "bfloat16" and not takes_precision:
                reason = f"{method} has no precision parameter"
                for stage in (ENGINE, ONNX):
                    keep(
                        {"method": method, "side": side, "precision": precision, "stage": stage, "unsupported": reason}
                    )
                continue
            folder = scratch / f"{method}-{side}-{precision}"
            folder.mkdir()
            fitted = run_child("fit", method, side, precision, data[side], folder, arguments)
            keep(fitted)
            if "unsupported" in fitted or "error" in fitted:
                for stage in (ENGINE, ONNX):  # the fit record says why
                    keep(
                        {"method": method, "side": side, "precision": precision, "stage": stage, "skipped": "no model"}
                    )
                continue
            keep(run_child(ENGINE, method, side, precision, data[side], folder, arguments))
            if "archive_mb" in fitted:
                keep(run_child(ONNX, method, side, precision, data[side], folder, arguments))
            else:
                reason = fitted.get("export_unsupported") or f"export failed: {fitted.get('export_error')}"
                keep({"method": method, "side": side, "precision": precision, "stage": ONNX, "unsupported": reason})


def cell(records: list[dict], side: int, precision: str, stage: str, key: str, unit: str = "") -> str:
    found = [r for r in records if (r["side"], r["precision"], r["stage"]) == (side, precision, stage)]
    if not found:
        return "-"
    record = found[0]
    if key in record:
        value = record[key]
        return (f"{value:.0f}" if value >= 100 else f"{value:.3g}") + unit
    if key in ("explain_ms", "train_seconds") and "unsupported" in record:
        return f"not supported: {record['unsupported']}"
    if key in ("explain_ms", "train_seconds") and "error" in record:
        return f"failed: {record['error']}"
    return "-"


def export_cell(fits: list[dict], side: int, precision: str) -> str:
    found = [r for r in fits if (r["side"], r["precision"]) == (side, precision) and "export_seconds" in r]
    return f"{found[0]['export_seconds']:.3g} s, {found[0]['archive_mb']:.3g} MB" if found else "-"


def markdown_table(method: str, records: list[dict], header: dict) -> str:
    sides = list(dict.fromkeys([header["side"], header["small_side"]]))
    fits = [r for r in records if r["stage"] == "fit" and "train_seconds" in r]
    epochs = sorted({r["autoencoder_epochs"] for r in fits if "autoencoder_epochs" in r})
    trained = f"{header['train_images']} images" + (
        f"; autoencoder {'/'.join(map(str, epochs))} epoch(s), not the default {DEFAULT_EPOCHS}" if epochs else ""
    )
    lines = [
        f"**{method}**",
        "",
        "| figure | " + " | ".join(label for _, _, label in VARIANTS) + " |",
        "|---" * (len(VARIANTS) + 1) + "|",
    ]

    def row(label: str, side: int, key: str, stages=(ENGINE,), unit: str = "") -> None:
        cells = [
            cell(records, side, precision, "fit" if stage == ENGINE and key in FIT_KEYS else stage, key, unit)
            if stage in stages
            else "-"
            for stage, precision, _ in VARIANTS
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    for side in sides:
        row(f"train s at {side} px ({trained})", side, "train_seconds")
        row(f"peak RSS of the fitting process at {side} px, MB", side, "fit_peak_rss_mb")
        row(f"explain ms/part at {side} px", side, "explain_ms", (ENGINE, ONNX))
        row(
            f"peak RSS of a process loading the model and explaining at {side} px, MB",
            side,
            "explain_peak_rss_mb",
            (ENGINE, ONNX),
        )
        row(f"model load s in that process, imports included, at {side} px", side, "load_seconds", (ENGINE, ONNX))
    for side in sides:
        exports = [export_cell(fits, side, precision) for precision in ("float32", "bfloat16")]
        lines.append(f"| export s, archive MB at {side} px | - | - | " + " | ".join(exports) + " |")
    return "\n".join(lines)


def report(journal_path: Path) -> str:
    """The run's conditions and one Markdown table per method, from its JSON lines."""
    lines = [json.loads(line) for line in journal_path.read_text().splitlines() if line.strip()]
    header, footer, records = lines[0], lines[-1], lines[1:-1]
    methods = list(dict.fromkeys(record["method"] for record in records))
    tables = [markdown_table(method, [r for r in records if r["method"] == method], header) for method in methods]
    return "\n".join(
        [
            f"command: {header['command']}",
            f"machine: {header['machine']}",
            f"load average (1, 5, 15 min) at start {header['load_average_start']}, at end {footer['load_average_end']}",
            f"whole run: {footer['seconds']} s; JSON lines: {journal_path}",
            "",
            "\n\n".join(tables),
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="all")
    parser.add_argument("--side", type=int, default=1024, help="the working resolution")
    parser.add_argument("--small-side", type=int, default=256)
    parser.add_argument("--train-images", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=1, help="autoencoder epochs (train time is measured with these)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--param", type=parse_parameter, action="append", help="key=value for every method that takes it"
    )
    parser.add_argument("--out", default=str(REPOSITORY / "benchmarks" / "out"))
    parser.add_argument("--child", choices=["fit", ENGINE, ONNX], help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="float32", help=argparse.SUPPRESS)
    parser.add_argument("--precision-parameter", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--params-json", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help="print the tables of an earlier run's JSON lines and stop")
    arguments = parser.parse_args()
    if arguments.report:
        print(report(arguments.report))
        return 0
    if arguments.child:
        arguments.stage, arguments.method = arguments.child, arguments.methods
        return child_main(arguments)

    from inspection.engine.methods import METHOD_NAMES

    command_line = shlex.join([Path(sys.executable).name, *sys.argv])
    started_load = load_average()
    methods = list(METHOD_NAMES) if arguments.methods == "all" else arguments.methods.split(",")
    sides = list(dict.fromkeys([arguments.side, arguments.small_side]))
    out = Path(arguments.out)
    out.mkdir(parents=True, exist_ok=True)
    journal_path = out / f"methods-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch, journal_path.open("w") as journal:
        header = {
            "command": command_line,
            "machine": machine_description(),
            "load_average_start": started_load,
            **{key: getattr(arguments, key) for key in ("side", "small_side", "train_images", "epochs", "repeats")},
        }
        journal.write(json.dumps(header) + "\n")
        data = {side: prepare_data(Path(scratch), side, arguments) for side in sides}
        for method in methods:
            measure_method(method, sides, data, Path(scratch), arguments, journal)
        journal.write(json.dumps({"load_average_end": load_average(), "seconds": round(time.perf_counter() - started)}))
    print(report(journal_path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
