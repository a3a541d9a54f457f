"""Accuracy of every method under each registration mode, and the mode ``auto`` picks, per data set.

Usage::

    python -m inspection.engine synth CASES --case all
    python scripts/registration_accuracy.py CASES [--real circuitboard] [--methods all] [--json OUT]

For each data set (every registration case under CASES, written by ``synth
--case all``, and the shared real sets named with ``--real``) every method
is evaluated (``inspection.engine.scoring.evaluation.evaluate``) with each
fixed registration mode (none, ECC, ORB+ECC). ``auto`` picks one of those
modes on the training pictures and then calibrates it exactly as the fixed
mode is calibrated, so its accuracy is the accuracy of the mode it picked:
the script checks that claim for every data set (the settings ``auto``
ends with must equal those of the fixed mode it picked) instead of training
every method a fourth time. A row says whether ``auto`` is at least as
accurate as the best fixed mode, and by how much the best fixed mode beats it
when it is not, with the 95 % bootstrap interval of that difference (test
images resampled, 2000 draws, seed 0) so that a gap one picture wide on a
small test set is told from a real one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))
sys.path.insert(0, str(REPOSITORY / "scripts"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from benchmark_engine import REAL_DATASETS, SHARED_DATASETS, machine_description  # noqa: E402

FIXED_MODES = ("none", "ecc", "orb+ecc")
#: The accuracy runs' parameters (docs/benchmarks.md, "Engine: accuracy of every method").
SHARED_PARAMS = {"downsize_factor": 2}


def auto_pick(root: Path, options: dict) -> tuple[str, str, bool]:
    """(mode auto picks, its reason, whether auto's final settings equal that fixed mode's)."""
    from inspection.engine.data.dataset import load_mvtec_layout
    from inspection.engine.data.imageio import load_image
    from inspection.engine.scoring.evaluation import build_registrar

    dataset = load_mvtec_layout(root)
    reference = Path(options.get("reference") or dataset.train_paths[0])
    pictures = [load_image(path, mode=options.get("mode")) for path in dataset.train_paths]
    common = dict(
        image_size=options.get("image_size"),
        mode=options.get("mode"),
        roi=options.get("roi"),
        training_paths=dataset.train_paths,
        training_images=pictures,
    )
    automatic, report = build_registrar(reference, registration="auto", **common)
    fixed, _ = build_registrar(reference, registration=report["chosen"], **common)
    return report["chosen"], report["why"], automatic.get_config() == fixed.get_config()


def bootstrap_difference(labels, better, worse, *, draws: int = 2000) -> list[float]:
    """95 % interval of AUROC(better) - AUROC(worse) over test images resampled with replacement."""
    from sklearn.metrics import roc_auc_score

    labels, better, worse = np.asarray(labels), np.asarray(better), np.asarray(worse)
    rng = np.random.default_rng(0)
    differences = []
    for _ in range(draws):
        sample = rng.integers(0, len(labels), len(labels))
        if labels[sample].min() == labels[sample].max():
            continue
        differences.append(roc_auc_score(labels[sample], better[sample]) - roc_auc_score(labels[sample], worse[sample]))
    return [round(float(value), 3) for value in np.percentile(differences, [2.5, 97.5])]


def measure(name: str, root: Path, options: dict, methods: list[str]) -> list[dict]:
    from inspection.engine.scoring.evaluation import evaluate_all

    started = time.perf_counter()
    picked, why, same_settings = auto_pick(root, options)
    print(f"== {name}: auto picks {picked} ({why}); same settings as fixed: {same_settings}", flush=True)
    by_mode = {}
    for mode in FIXED_MODES:
        records = evaluate_all(root, methods=methods, params=dict(SHARED_PARAMS), registration=mode, **options)
        by_mode[mode] = {record["method"]: record for record in records if "error" not in record}
        for record in records:
            print(json.dumps({"data_set": name, "mode": mode, **_summary(record)}), flush=True)
    rows = []
    for method in by_mode[FIXED_MODES[0]]:
        aurocs = {mode: by_mode[mode][method]["image_auroc"] for mode in FIXED_MODES if method in by_mode[mode]}
        best = max(aurocs, key=aurocs.get)
        auto_record = by_mode[picked][method]
        row = {
            "data_set": name,
            "method": method,
            "auto_picks": picked,
            "auto_settings_equal_fixed": same_settings,
            "image_auroc": aurocs,
            "refused_good": {mode: _refused_good(by_mode[mode][method]) for mode in aurocs},
            "auto": aurocs[picked],
            "best_fixed": best,
            "auto_at_least_best": aurocs[picked] >= aurocs[best],
        }
        if aurocs[picked] < aurocs[best]:
            row["shortfall"] = round(aurocs[best] - aurocs[picked], 3)
            row["shortfall_interval"] = bootstrap_difference(
                by_mode[best][method]["labels"], by_mode[best][method]["scores"], auto_record["scores"]
            )
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"== {name}: {time.perf_counter() - started:.0f} s", flush=True)
    return rows


def _summary(record: dict) -> dict:
    if "error" in record:
        return {"method": record["method"], "error": record["error"]}
    return {
        "method": record["method"],
        "image_auroc": round(record["image_auroc"], 3),
        "image_ap": round(record["image_ap"], 3),
        "pixel_auroc": None if record.get("pixel_auroc") is None else round(record["pixel_auroc"], 3),
        "refused_good": _refused_good(record),
        "unregistered": record["unregistered_count"],
        "train_seconds": record["train_seconds"],
    }


def _refused_good(record: dict) -> int:
    """Good pictures (training + good test pictures) the mode refused."""
    refused_test_good = sum(
        1 for label, accepted in zip(record["labels"], record["test_registered"]) if label == 0 and not accepted
    )
    return record["n_train_rejected"] + refused_test_good


def markdown(rows: list[dict]) -> str:
    lines = [
        "| data set | method | none | ecc | orb+ecc | auto picks | auto >= best fixed |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [
            f"**{value:.3f}**" if value == max(row["image_auroc"].values()) else f"{value:.3f}"
            for value in (row["image_auroc"].get(mode, float("nan")) for mode in FIXED_MODES)
        ]
        verdict = (
            "yes"
            if row["auto_at_least_best"]
            else f"no: {row['shortfall']:.3f} below {row['best_fixed']} (95 % interval {row['shortfall_interval']})"
        )
        lines.append(f"| {row['data_set']} | {row['method']} | {' | '.join(cells)} | {row['auto_picks']} | {verdict} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="?", default=None, help="folder of `synth OUT --case all`")
    parser.add_argument("--only", default=None, help="comma-separated case names (default: every folder)")
    parser.add_argument("--real", default="", help="comma-separated shared real sets, e.g. circuitboard")
    parser.add_argument("--methods", default="all")
    parser.add_argument(
        "--region",
        choices=["frame", "default"],
        default="frame",
        help="region of interest of the cases: the whole frame (as measured in docs/benchmarks.md) or the default "
        "(the part where it is safe); the mode auto picks is chosen on the whole frame either way",
    )
    parser.add_argument("--json", default=None)
    arguments = parser.parse_args()

    from inspection.engine.methods import METHOD_NAMES

    methods = list(METHOD_NAMES) if arguments.methods == "all" else arguments.methods.split(",")
    targets = []
    if arguments.cases:
        names = arguments.only.split(",") if arguments.only else None
        for folder in sorted(Path(arguments.cases).iterdir()):
            if folder.is_dir() and (names is None or folder.name in names):
                targets.append((folder.name, folder, {"roi": "frame"} if arguments.region == "frame" else {}))
    for name in filter(None, arguments.real.split(",")):
        options = {key: value for key, value in REAL_DATASETS[name].items() if key != "registration"}
        targets.append((name, SHARED_DATASETS / name, options))
    print(f"# {machine_description()}; load {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    for name, root, options in targets:
        rows += measure(name, root, options, methods)
    print(markdown(rows))
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
