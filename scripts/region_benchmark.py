"""The region of interest in force when none is set: the suggestion on the reference, and what ``auto`` keeps.

Usage::

    python scripts/region_benchmark.py [--pictures 40] [--json OUT]

For the shared sets (read as the engine benchmark reads them, with the same reference, but without their
configured region) and the synthetic registration cases of tests/engine/test_registration_cases.py, prints the
region ``suggest_roi`` finds on the reference, the region ``fit_registration`` keeps with ``auto`` on at most
``--pictures`` good training pictures (as the platform chooses on at most 40) and why, and how many training
pictures were refused. For circuitboard it also says whether the board (the region the benchmarks use) lies
inside the suggestion.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))
sys.path.insert(0, str(REPOSITORY / "scripts"))

import numpy as np  # noqa: E402

from inspection.engine.data.dataset import load_mvtec_layout  # noqa: E402
from inspection.engine.data.imageio import load_image  # noqa: E402
from inspection.engine.data.registration_cases import SIDE, radial_part, square_part, texture_surface  # noqa: E402
from inspection.engine.registration.auto import fit_registration  # noqa: E402
from inspection.engine.registration.region import suggest_roi  # noqa: E402

BOARD = (190, 180, 656, 272)  # circuitboard: the region the accuracy benchmarks use


def _synthetic_cases(count):
    rng = np.random.default_rng(0)
    fixtured = [dict(centre=tuple(SIDE / 2 + rng.uniform(-2, 2, 2)), angle=0.0) for _ in range(count)]
    turned = [
        dict(centre=tuple(SIDE / 2 + rng.uniform(-3, 3, 2)), angle=float(rng.uniform(-20, 20))) for _ in range(count)
    ]
    shifted = [
        dict(centre=tuple(SIDE / 2 + rng.uniform(-25, 25, 2)), angle=float(rng.uniform(-3, 3))) for _ in range(count)
    ]
    anywhere = [
        dict(centre=(rng.uniform(62, 130), rng.uniform(62, 130)), angle=float(rng.uniform(-180, 180)))
        for _ in range(count)
    ]
    yield (
        "round part, fixtured (+-2 px)",
        radial_part(seed=0),
        [radial_part(seed=i + 1, **p) for i, p in enumerate(fixtured)],
    )
    yield (
        "round part, turned up to 20 degrees",
        radial_part(seed=0),
        [radial_part(seed=i + 1, **p) for i, p in enumerate(turned)],
    )
    yield (
        "round part, shifted up to 25 px",
        radial_part(seed=0),
        [radial_part(seed=i + 1, **p) for i, p in enumerate(shifted)],
    )
    yield (
        "round part, placed anywhere at any angle",
        radial_part(seed=0),
        [radial_part(seed=i + 1, **p) for i, p in enumerate(anywhere)],
    )
    yield (
        "square plate filling the frame",
        square_part(seed=0),
        [square_part(seed=i + 1, shift=rng.uniform(-6, 6, 2), angle=float(rng.uniform(-3, 3))) for i in range(count)],
    )
    yield "textured surface", texture_surface(seed=0), [texture_surface(seed=i + 1) for i in range(count)]


def _shared_sets(count):
    from benchmark_engine import REAL_DATASETS, SHARED_DATASETS, evenly_spread, real_set_reference

    for name, options in REAL_DATASETS.items():
        root = SHARED_DATASETS / name
        if not root.exists():
            continue
        dataset = load_mvtec_layout(root)
        reference = real_set_reference(root, options, dataset.train_paths)
        pictures = [load_image(path, mode=options.get("mode")) for path in evenly_spread(dataset.train_paths, count)]
        yield name, reference, pictures


def measure(count: int) -> list[dict]:
    records = []
    for name, reference, pictures in list(_shared_sets(count)) + list(_synthetic_cases(count)):
        suggestion = [int(value) for value in suggest_roi(reference)]
        _, report = fit_registration(reference, pictures)
        record = {
            "case": name,
            "frame": [int(reference.shape[1]), int(reference.shape[0])],
            "suggested": suggestion,
            "chosen": report["chosen"],
            "in_force": report["region"]["roi"],
            "why": report["region"]["why"],
            "pictures": len(pictures),
            "refused": len(report["refused"]),
        }
        if name == "circuitboard":
            x, y, width, height = suggestion
            record["board_inside"] = bool(
                x <= BOARD[0]
                and y <= BOARD[1]
                and BOARD[0] + BOARD[2] <= x + width
                and BOARD[1] + BOARD[3] <= y + height
            )
        records.append(record)
    return records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=int, default=40)
    parser.add_argument("--json", default=None)
    arguments = parser.parse_args()
    records = measure(arguments.pictures)
    for record in records:
        extra = f", board inside: {record['board_inside']}" if "board_inside" in record else ""
        print(
            f"{record['case']} ({record['frame'][0]}x{record['frame'][1]}): suggested {record['suggested']}{extra}; "
            f"auto chose {record['chosen']}, region in force {record['in_force']} ({record['why']}); "
            f"{record['refused']} of {record['pictures']} training pictures refused"
        )
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(records, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
