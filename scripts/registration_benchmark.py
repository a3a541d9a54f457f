"""Count the good pictures each registration mode refuses, and the mode ``auto`` picks, per data set.

Usage::

    python scripts/registration_benchmark.py [SYNTHETIC_ROOT] [--json OUT]

Each mode is chosen and calibrated on the data set's training pictures (at
most ``CALIBRATION_PICTURES`` of them, evenly spread; ``evaluate`` uses every
training picture and the platform at most 40), then every good picture (train/good and test/good) and every defective
one is registered with it. Registration only: no method is trained. The
"former limits" row applies the limits registration had before it was
calibrated per product (similarity at least 0.6, 95 % of the region inside
the picture, any rotation) with ``orb+ecc``, the former default.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))


from inspection.engine.data.dataset import load_mvtec_layout  # noqa: E402
from inspection.engine.data.imageio import load_image  # noqa: E402
from inspection.engine.registration.alignment import Registrar  # noqa: E402
from inspection.engine.registration.auto import fit_registration  # noqa: E402

# How each real set is read: the engine benchmark's own table, so both read the sets alike.
sys.path.insert(0, str(REPOSITORY / "scripts"))
from benchmark_engine import REAL_DATASETS, SHARED_DATASETS, evenly_spread, real_set_reference  # noqa: E402

CALIBRATION_PICTURES = 120
MODES = ("none", "ecc", "orb", "orb+ecc", "auto")


def _pictures(paths, mode):
    return [load_image(path, mode=mode) for path in paths]


def measure(name: str, root: Path, options: dict, modes=MODES + ("former limits",)) -> list[dict]:
    dataset = load_mvtec_layout(root)
    mode = options.get("mode")
    reference = real_set_reference(root, options, dataset.train_paths)
    training = _pictures(evenly_spread(dataset.train_paths, CALIBRATION_PICTURES), mode)
    good = _pictures(dataset.train_paths, mode) + _pictures(
        [item.path for item in dataset.test_items if item.label == 0], mode
    )
    defective = _pictures([item.path for item in dataset.test_items if item.label == 1], mode)
    rows = []
    for registration in modes:
        started = time.perf_counter()
        if registration == "former limits":
            registrar = Registrar(
                method="orb+ecc",
                roi=options.get("roi"),
                min_quality=0.6,
                min_coverage=0.95,
                max_rotation="any",
                max_shift=2.0,
            ).fit(reference)
            chosen, why = "orb+ecc", "fixed"
        else:
            registrar, report = fit_registration(
                reference, training, settings={"method": registration, "roi": options.get("roi")}
            )
            chosen, why = report["chosen"], report["why"]
        refused_good = [result for result in map(registrar.register, good) if not result.accepted]
        refused_defective = sum(not registrar.register(picture).accepted for picture in defective)
        rows.append(
            {
                "data_set": name,
                "registration": registration,
                "chosen": chosen,
                "why": why,
                "good": len(good),
                "refused_good": len(refused_good),
                "defective": len(defective),
                "refused_defective": refused_defective,
                "min_quality": registrar.min_quality,
                "max_rotation": registrar.max_rotation,
                "reasons": sorted({result.reason.split(":")[0] for result in refused_good})[:3],
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "synthetic_root",
        nargs="?",
        default=None,
        help="folder of `python -m inspection.engine synth OUT --set all` (set1 ... set6)",
    )
    parser.add_argument("--json", default=None)
    parser.add_argument("--only", default=None, help="comma-separated data set names")
    parser.add_argument("--modes", default=",".join(MODES + ("former limits",)), help="comma-separated modes")
    arguments = parser.parse_args()
    targets = [(name, SHARED_DATASETS / name, options) for name, options in REAL_DATASETS.items()]
    if arguments.synthetic_root:
        for folder in sorted(Path(arguments.synthetic_root).glob("set*")):
            targets.append((f"synthetic {folder.name}", folder, {}))
    only = set(arguments.only.split(",")) if arguments.only else None
    rows = []
    for name, root, options in targets:
        if only and name not in only:
            continue
        if not root.is_dir():
            print(f"skipped {name}: {root} not found", file=sys.stderr)
            continue
        rows += measure(name, root, options, tuple(arguments.modes.split(",")))
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
