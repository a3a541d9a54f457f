"""Export to an ONNX archive and the TensorFlow-free runtime: same scores as the engine, clear refusals."""

import json
import math
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from tiny_models import TINY_METHODS

from inspection.engine.bundle import load_bundle, save_bundle
from inspection.engine.cli import main as engine_main
from inspection.engine.data.imageio import load_image
from inspection.engine.export import export_bundle, export_model
from inspection.engine.export.plans import BFLOAT16_EXPORT_REFUSED
from inspection.engine.methods import create_method
from inspection.engine.registration.alignment import Registrar
from inspection.engine.registration.result import without_outside_pixels
from inspection.runtime import ArchiveError, load_model, read_archive
from inspection.runtime.archive import METADATA_NAME
from inspection.runtime.cli import main as runtime_main
from tests.synthetic_images import defective_part, part_set

ROOT = Path(__file__).resolve().parents[2]
RELATIVE_TOLERANCE = 1e-3


def write_png(path: Path, image: np.ndarray) -> Path:
    cv2.imwrite(str(path), np.round(np.clip(image, 0, 1) * 255).astype(np.uint8))
    return path


@pytest.fixture(scope="module")
def probe_files(tmp_path_factory):
    """Three good parts and one with a dark blob, as 8-bit PNG files like a camera writes them."""
    folder = tmp_path_factory.mktemp("probe")
    rng = np.random.default_rng(4)
    images = part_set(seed=11, n_normal=3) + [defective_part(rng)[0]]
    return [write_png(folder / f"part{index}.png", image) for index, image in enumerate(images)]


@pytest.fixture(scope="module", params=sorted(TINY_METHODS))
def exported(request, tmp_path_factory):
    """(bundle path, archive path) of a tiny model of each method, registered by ECC, with an operating point."""
    method = request.param
    folder = tmp_path_factory.mktemp(method)
    training = [
        write_png(folder / f"train{index}.png", image) for index, image in enumerate(part_set(seed=2, n_normal=8))
    ]
    training = [load_image(path, mode="gray") for path in training]
    detector = create_method(method, **TINY_METHODS[method]).fit(training)
    registrar = Registrar(method="ecc", working_side=96).fit(training[0])
    bundle = save_bundle(
        folder / "bundle",
        detector=detector,
        image_shape=training[0].shape,
        registration=registrar.get_config(),
        reference=registrar.reference_,
        thresholds={"threshold": float(np.median(detector.training_scores_))},
    )
    return bundle, export_bundle(bundle, folder / "model.zip")


def engine_results(bundle_path, files):
    """Scores and maps the engine gives for files: read, registered and explained as the platform does (some
    probes are shifted, so part of their region comes from outside the picture)."""
    bundle = load_bundle(bundle_path)
    registrar = bundle.registrar()
    registered = [registrar.register(load_image(path, mode="gray")) for path in files]
    assert all(result.accepted for result in registered)
    assert any(not result.valid_mask.all() for result in registered), "no probe exercises the out-of-frame rule"
    explanation = bundle.detector.explain([result.image for result in registered])
    # The platform's rule for every map: 0 where the picture showed nothing of its own.
    explanation.maps = np.stack(
        [
            without_outside_pixels(anomaly_map, result.valid_mask)
            for anomaly_map, result in zip(explanation.maps, registered)
        ]
    )
    return explanation


def test_the_runtime_scores_image_files_as_the_engine_does(exported, probe_files):
    bundle_path, archive_path = exported
    expected = engine_results(bundle_path, probe_files)
    model = load_model(archive_path)
    decisions = [model.inspect_file(path) for path in probe_files]
    scores = np.array([decision.score for decision in decisions])
    np.testing.assert_allclose(scores, expected.scores, rtol=RELATIVE_TOLERANCE, atol=1e-9)
    maps = np.stack([decision.anomaly_map for decision in decisions])
    assert maps.shape == expected.maps.shape
    np.testing.assert_allclose(
        maps, expected.maps, rtol=RELATIVE_TOLERANCE, atol=RELATIVE_TOLERANCE * float(np.abs(expected.maps).max())
    )


def test_the_runtime_names_the_same_nearest_training_image_and_decision(exported, probe_files):
    bundle_path, archive_path = exported
    expected = engine_results(bundle_path, probe_files)
    model = load_model(archive_path)
    registered = [model.registrar.register(load_image(path, mode="gray")).image for path in probe_files]
    outcome = model.explain(registered)
    if expected.nearest_indices is not None:
        assert outcome.nearest_indices.tolist() == expected.nearest_indices.tolist()
    threshold = load_bundle(bundle_path).thresholds["threshold"]
    assert model.operating_point == {"threshold": pytest.approx(threshold)}
    assert [model.decide(score) for score in outcome.scores] == [
        "reject" if score >= threshold else "pass" for score in expected.scores
    ]


def test_the_archive_holds_metadata_checksums_and_no_pickle(exported):
    _, archive_path = exported
    archive = read_archive(archive_path)
    metadata = archive.metadata
    assert metadata["method"] == load_bundle(exported[0]).manifest["method"]
    assert metadata["precision"] == getattr(load_bundle(exported[0]).detector, "precision_", "float32")
    assert metadata["image_shape"] == [96, 96, 1]
    with zipfile.ZipFile(archive_path) as members:
        names = set(members.namelist())
    assert names == set(metadata["files"]) | {METADATA_NAME}
    assert all(not name.endswith((".pkl", ".pickle", ".h5")) for name in names)
    assert archive.reference is not None and archive.reference.shape == (96, 96, 1)


def rewritten(archive_path: Path, target: Path, *, metadata=None, member=None, data=None) -> Path:
    """A copy of an archive with its metadata or one member's bytes replaced."""
    with zipfile.ZipFile(archive_path) as source, zipfile.ZipFile(target, "w") as copy:
        for name in source.namelist():
            content = source.read(name)
            if name == METADATA_NAME and metadata is not None:
                content = json.dumps(metadata).encode()
            if name == member:
                content = data
            copy.writestr(name, content)
    return target


@pytest.fixture(scope="module")
def variation_archive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("variation-archive")
    training = part_set(seed=2, n_normal=6)
    detector = create_method("variation").fit(training)
    bundle = save_bundle(folder / "bundle", detector=detector, image_shape=training[0].shape)
    return export_bundle(bundle, folder / "model.zip")


def test_an_archive_with_a_changed_member_is_refused_naming_it(variation_archive, tmp_path):
    with zipfile.ZipFile(variation_archive) as source:
        data = bytearray(source.read("arrays.npz"))
    data[len(data) // 2] ^= 0xFF
    damaged = rewritten(variation_archive, tmp_path / "damaged.zip", member="arrays.npz", data=bytes(data))
    with pytest.raises(ArchiveError, match=r"arrays\.npz.*damaged \(checksum mismatch\)"):
        load_model(damaged)


def test_an_archive_from_a_newer_format_is_refused_with_advice(variation_archive, tmp_path):
    metadata = read_archive(variation_archive).metadata
    newer = rewritten(variation_archive, tmp_path / "newer.zip", metadata={**metadata, "format_version": 99})
    with pytest.raises(ArchiveError, match="newer than this runtime's format 1; update the runtime"):
        load_model(newer)


def test_a_truncated_archive_and_a_member_name_leaving_the_folder_are_refused(variation_archive, tmp_path):
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(variation_archive.read_bytes()[:-200])
    with pytest.raises(ArchiveError, match="damaged or not a ZIP archive"):
        read_archive(truncated)
    metadata = read_archive(variation_archive).metadata
    sneaky = {**metadata, "files": {**metadata["files"], "../outside.onnx": "0" * 64}}
    with pytest.raises(ArchiveError, match="invalid member name"):
        read_archive(rewritten(variation_archive, tmp_path / "sneaky.zip", metadata=sneaky))


def test_the_runtime_decides_with_a_review_band_as_the_platform_does(variation_archive):
    model = load_model(variation_archive)
    model.operating_point = {"band_lower": 1.0, "band_upper": 2.0}
    assert [model.decide(score) for score in (0.5, 1.0, 1.99, 2.0)] == ["pass", "review", "review", "reject"]
    model.operating_point = None
    assert model.decide(5.0) == "-"


def test_the_runtime_refuses_images_of_another_shape(variation_archive):
    model = load_model(variation_archive)
    with pytest.raises(ValueError, match=r"shape \(64, 64, 1\), the model expects \(96, 96, 1\)"):
        model.score([np.zeros((64, 64, 1), np.float32)])


def test_export_and_runtime_command_lines_print_decisions_and_write_maps(tmp_path, probe_files, capsys):
    training = part_set(seed=2, n_normal=6)
    detector = create_method("variation").fit(training)
    registrar = Registrar(method="ecc", working_side=96).fit(training[0])
    bundle = save_bundle(
        tmp_path / "bundle",
        detector=detector,
        image_shape=training[0].shape,
        registration=registrar.get_config(),
        reference=registrar.reference_,
    )
    assert engine_main(["export", str(bundle), str(tmp_path / "model.zip"), "--threshold", "2.0"]) == 0
    capsys.readouterr()
    assert runtime_main([str(tmp_path / "model.zip"), *map(str, probe_files), "--maps", str(tmp_path / "maps")]) == 0
    printed = capsys.readouterr()
    assert printed.err.splitlines()[0] == "variation model, networks in float32"
    lines = printed.out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(path) for path in probe_files]
    assert {line.split("\t")[1] for line in lines} <= {"pass", "reject"}
    assert lines[-1].split("\t")[1] == "reject"  # the part with the blob
    assert len(list((tmp_path / "maps").glob("*.map.png"))) == len(probe_files)


def test_the_runtime_command_refuses_a_damaged_archive_in_one_line(tmp_path, probe_files, capsys):
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"not an archive")
    assert runtime_main([str(broken), str(probe_files[0])]) == 2
    assert "damaged or not a ZIP archive" in capsys.readouterr().err


def test_importing_the_runtime_loads_no_tensorflow_keras_or_django():
    code = (
        "import sys, inspection.runtime, inspection.runtime.cli, inspection.runtime.scorers;"
        "print(sorted(m for m in ('tensorflow', 'keras', 'django', 'tf2onnx', 'celery') if m in sys.modules))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert output.stdout.strip() == "[]"


def test_the_runtime_command_scores_every_method_in_a_python_where_tensorflow_cannot_be_imported(exported, probe_files):
    _, archive_path = exported
    blocked = "import sys\nfor name in ('tensorflow', 'keras', 'tf2onnx', 'django', 'PIL', 'sklearn'): sys.modules[name] = None\n"
    code = blocked + "from inspection.runtime.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    result = subprocess.run(
        [sys.executable, "-c", code, str(archive_path), *map(str, probe_files)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    precision = read_archive(archive_path).metadata["precision"]
    assert f"model, networks in {precision}" in result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(probe_files)
    fields = [line.split("\t") for line in lines]
    assert all(decision in ("pass", "reject") and math.isfinite(float(score)) for _, decision, score in fields)


@pytest.fixture(scope="module", params=sorted(BFLOAT16_EXPORT_REFUSED))
def fitted_in_bfloat16(request):
    settings = {**TINY_METHODS[request.param], "precision": "bfloat16"}
    return create_method(request.param, **settings).fit(part_set(seed=2, n_normal=8))


def test_a_bfloat16_model_whose_archive_would_score_differently_is_refused_saying_what_to_do(
    fitted_in_bfloat16, tmp_path
):
    with pytest.raises(ValueError, match="differ from the platform's.*train a version with precision=float32"):
        export_model(tmp_path / "model.zip", detector=fitted_in_bfloat16, image_shape=(96, 96, 1))
    assert not (tmp_path / "model.zip").exists()


def test_a_refused_bfloat16_model_written_for_measuring_runs_in_bfloat16_in_the_runtime(fitted_in_bfloat16, tmp_path):
    probe = part_set(seed=11, n_normal=3) + [defective_part(np.random.default_rng(4))[0]]
    archive = export_model(
        tmp_path / "model.zip", detector=fitted_in_bfloat16, image_shape=(96, 96, 1), allow_inexact_bfloat16=True
    )
    model = load_model(archive)
    assert model.precision == "bfloat16"
    graphs = [onnx.load_from_string(data) for data in read_archive(archive).graphs.values()]
    assert any(
        node.op_type == "Cast" and node.attribute[0].i == onnx.TensorProto.BFLOAT16
        for graph in graphs
        for node in graph.graph.node
    )
    # How far such scores depart from the engine's at full size is measured, not asserted: docs/benchmarks.md.
    np.testing.assert_allclose(model.score(probe), fitted_in_bfloat16.score(probe), rtol=5e-2)
