"""The paper's pipeline on real inspection images (the shared magnetic-tile set).

Skipped with a reason when the shared data sets are not next to the
repository. A subset keeps it to about a minute; the full-size figures are in
docs/benchmarks.md.
"""

import shutil
from pathlib import Path

import pytest

from inspection.engine.data.dataset import load_mvtec_layout
from inspection.engine.scoring.evaluation import evaluate

MAGNETIC_TILE = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "magnetic_tile"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not MAGNETIC_TILE.is_dir(), reason=f"shared data set not found at {MAGNETIC_TILE}"),
]


@pytest.fixture(scope="module")
def tile_subset(tmp_path_factory):
    """40 training tiles, 24 normal and 24 defective test tiles with their masks, linked not copied."""
    dataset = load_mvtec_layout(MAGNETIC_TILE)
    root = tmp_path_factory.mktemp("magnetic_tile")

    def link(source: Path, target: Path):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(source)

    for path in dataset.train_paths[:40]:
        link(path, root / "train" / "good" / path.name)
    normal = [item for item in dataset.test_items if item.label == 0][:24]
    defective = [item for item in dataset.test_items if item.label == 1][::16][:24]
    for item in normal + defective:
        link(item.path, root / "test" / item.defect_type / item.path.name)
        if item.mask_path is not None:
            link(item.mask_path, root / "ground_truth" / item.defect_type / item.mask_path.name)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_the_paper_pipeline_separates_defective_tiles_and_localises_defects(tile_subset):
    record = evaluate(
        tile_subset,
        method="cpcae-knn",
        registration="none",
        image_size=(128, 128),
        mode="gray",
        params={"downsize_factor": 1, "patch_size": 32, "stride": 16, "epochs": 3, "seed": 0},
    )
    assert record["n_train"] == 40 and record["n_test"] == 48
    assert record["image_auroc"] > 0.7
    assert record["pixel_auroc"] > 0.7
