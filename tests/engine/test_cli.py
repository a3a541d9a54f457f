"""The engine's command line: synth, evaluate (one method or all), train and inspect."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inspection.engine.cli import main
from inspection.engine.data.synth import render_set

REPOSITORY = Path(__file__).resolve().parents[2]
TINY = [
    "--param",
    "downsize_factor=1",
    "--param",
    "patch_size=16",
    "--param",
    "stride=16",
    "--param",
    "latent_dim=8",
    "--param",
    "filters=[8]",
    "--param",
    "dense_units=16",
    "--param",
    "epochs=1",
    "--param",
    "min_steps_per_epoch=1",
]


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    return render_set(
        tmp_path_factory.mktemp("data") / "set2",
        set_id=2,
        seed=1,
        n_train=6,
        n_test_good=3,
        n_test_defective=3,
        size=(80, 80),
    )


def test_evaluate_writes_every_required_field_to_json(tiny_set, tmp_path, capsys):
    out = tmp_path / "result.json"
    code = main(
        [
            "evaluate",
            str(tiny_set),
            "--method",
            "ae-l2",
            "--registration",
            "none",
            "--seed",
            "1",
            "--json",
            str(out),
            "--quiet",
            *TINY,
        ]
    )
    assert code == 0
    record = json.loads(out.read_text())
    for field in (
        "method",
        "backbone",
        "engine_version",
        "n_train",
        "n_test",
        "image_auroc",
        "image_ap",
        "pixel_auroc",
        "train_seconds",
        "infer_ms_per_image",
        "peak_rss_mb",
    ):
        assert field in record, field
    assert record["method"] == "ae-l2" and record["n_train"] == 6 and record["n_test"] == 6
    assert 0.0 <= record["image_auroc"] <= 1.0 and 0.0 <= record["pixel_auroc"] <= 1.0
    assert record["peak_rss_mb"] > 0 and record["infer_ms_per_image"] > 0
    assert "AUROC" in capsys.readouterr().out


def test_evaluate_all_writes_one_record_per_method(tiny_set, tmp_path, capsys):
    out = tmp_path / "all.json"
    code = main(
        [
            "evaluate",
            str(tiny_set),
            "--method",
            "all",
            "--methods",
            "variation,nearest-image",
            "--registration",
            "none",
            "--json",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    records = json.loads(out.read_text())
    assert [record["method"] for record in records] == ["variation", "nearest-image"]
    table = capsys.readouterr().out
    assert "variation" in table and "nearest-image" in table


def test_the_former_method_name_nn_is_accepted_and_recorded_as_nearest_image(tiny_set, tmp_path):
    out = tmp_path / "nn.json"
    assert (
        main(
            [
                "evaluate",
                str(tiny_set),
                "--method",
                "nearest-image",
                "--registration",
                "none",
                "--json",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert json.loads(out.read_text())["method"] == "nearest-image"


def test_train_then_inspect_round_trips_through_a_bundle(tiny_set, tmp_path, capsys):
    bundle = tmp_path / "model"
    assert (
        main(
            [
                "train",
                str(tiny_set),
                "--method",
                "nearest-image",
                "--registration",
                "none",
                "--out",
                str(bundle),
                "--quiet",
            ]
        )
        == 0
    )
    good = sorted((tiny_set / "test" / "good").glob("*.png"))[0]
    capsys.readouterr()
    assert main(["inspect", str(bundle), str(good), "--threshold", "1e9"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(str(good)) and "\tpass\t" in line


def test_train_chooses_the_registration_automatically_and_the_bundle_registers_as_training_did(
    tiny_set, tmp_path, capsys
):
    bundle_path = tmp_path / "auto-model"
    assert main(["train", str(tiny_set), "--method", "nn", "--out", str(bundle_path), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "registration: " in printed and "unregistered" in printed
    from inspection.engine.bundle import load_bundle

    bundle = load_bundle(bundle_path)
    report = bundle.manifest["registration_report"]
    assert report["mode"] == "auto" and report["chosen"] in ("none", "ecc", "orb+ecc")
    assert [figure["method"] for figure in report["candidates"]] == ["none", "ecc", "orb+ecc"]
    # Inspection rebuilds exactly the chosen, calibrated registration.
    assert bundle.registration["method"] == report["chosen"]
    assert bundle.registration["min_quality"] == report["settings"]["min_quality"] != "auto"
    assert bundle.registrar().get_config() == {
        **report["settings"],
        "reference_shape": bundle.registration["reference_shape"],
    }


def test_evaluate_counts_pictures_registration_refused_apart_and_says_how_they_were_scored(tiny_set, tmp_path):
    out = tmp_path / "record.json"
    stranger = tmp_path / "data"
    import shutil

    shutil.copytree(tiny_set, stranger)
    noise = (np.random.default_rng(0).uniform(0, 1, (80, 80, 3)) * 255).astype(np.uint8)
    from PIL import Image as PillowImage

    PillowImage.fromarray(noise).save(stranger / "test" / "good" / "zz_noise.png")
    assert (
        main(["evaluate", str(stranger), "--method", "nn", "--registration", "orb+ecc", "--json", str(out), "--quiet"])
        == 0
    )
    record = json.loads(out.read_text())
    assert record["unregistered_count"] == record["n_test_rejected"] >= 1
    assert any(line.startswith("zz_noise.png: ") for line in record["rejected"])
    assert "flagged" in record["unregistered_counted_as"]
    # Counted as flagged in the metrics: the refused picture scores above every registered one.
    refused = [index for index, path in enumerate(record["test_files"]) if path.endswith("zz_noise.png")]
    others = [score for index, score in enumerate(record["scores"]) if index not in refused]
    assert refused and all(record["scores"][index] > max(others) for index in refused)
    assert record["registration_mode"] == "fixed" and record["registration"] == "orb+ecc"


def run_cli(*arguments):
    return subprocess.run(
        [sys.executable, "-m", "inspection.engine", *arguments], capture_output=True, text=True, cwd=REPOSITORY
    )


def test_a_folder_without_training_images_fails_with_a_one_line_reason(tmp_path):
    (tmp_path / "train" / "good").mkdir(parents=True)
    result = run_cli("evaluate", str(tmp_path), "--method", "nearest-image")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and result.stderr.startswith("error:")
    assert "Traceback" not in result.stderr


def test_a_one_image_training_set_is_refused(tiny_set, tmp_path):
    import shutil

    data = tmp_path / "one"
    shutil.copytree(tiny_set, data)
    for extra in sorted((data / "train" / "good").glob("*.png"))[1:]:
        extra.unlink()
    result = run_cli("evaluate", str(data), "--method", "nearest-image", "--registration", "none", "--quiet")
    assert result.returncode == 2 and "at least 2" in result.stderr


def test_a_truncated_training_image_is_named_in_the_error(tiny_set, tmp_path):
    import shutil

    data = tmp_path / "broken"
    shutil.copytree(tiny_set, data)
    victim = sorted((data / "train" / "good").glob("*.png"))[2]
    victim.write_bytes(victim.read_bytes()[:200])
    result = run_cli("evaluate", str(data), "--method", "nearest-image", "--registration", "none", "--quiet")
    assert result.returncode == 2
    assert victim.name in result.stderr and "Traceback" not in result.stderr


def test_images_too_small_for_the_patch_size_are_refused_in_words(tiny_set):
    result = run_cli(
        "evaluate",
        str(tiny_set),
        "--method",
        "ae-l2",
        "--registration",
        "none",
        "--quiet",
        "--param",
        "patch_size=128",
        "--param",
        "downsize_factor=1",
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "patch" in result.stderr


def test_an_unknown_method_is_refused_with_the_choices():
    result = run_cli("evaluate", "nowhere", "--method", "magic")
    assert result.returncode == 2 and "cpcae-knn" in result.stderr


def test_synth_writes_the_mvtec_layout_for_the_chosen_set(tmp_path):
    assert (
        main(
            [
                "synth",
                str(tmp_path / "s3"),
                "--set",
                "3",
                "--train",
                "2",
                "--test-good",
                "1",
                "--test-defective",
                "4",
                "--size",
                "64",
            ]
        )
        == 0
    )
    assert len(list((tmp_path / "s3" / "train" / "good").glob("*.png"))) == 2
    masks = list((tmp_path / "s3" / "ground_truth").rglob("*_mask.png"))
    assert len(masks) == 4
    assert np.all([mask.stat().st_size > 0 for mask in masks])


def test_synth_writes_every_registration_case_as_a_data_set(tmp_path):
    arguments = ["synth", str(tmp_path), "--case", "all", "--train", "2", "--test-good", "1", "--test-defective", "2"]
    assert main(arguments) == 0
    for case in ("round-fixtured", "round-turned", "round-anywhere", "square-edge", "texture"):
        assert len(list((tmp_path / case / "train" / "good").glob("*.png"))) == 2
        assert len(list((tmp_path / case / "ground_truth").rglob("*_mask.png"))) == 2
