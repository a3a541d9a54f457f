"""Platform overhead over the engine, for docs/benchmarks.md ("Platform").

    .venv/bin/python scripts/benchmark_platform.py [--train 20] [--epochs 2] [--batch 100] [--repeats 5]
    .venv/bin/python scripts/benchmark_platform.py --concurrent 20 --side 256 [--batch 100]

On synthetic 1024x1024 zipper cursors (the engine's renderer), with the
paper's method and the Xception backbone:

1. synchronous inspection: one image POSTed to /api/products/{id}/inspections/
   through Django's test client (decode, register, score, map, reconstruction,
   nearest image, four PNGs written, database rows) against the engine alone
   on the same image: decode + register + explain (score, map,
   reconstruction, nearest image), and decode + register + score (the engine
   benchmark's "end-to-end");
2. batch: the same number of images inspected by a real `celery -A config
   worker` process (warmed up by a one-image job, so the model is loaded)
   against the engine's own throughput on those images in chunks of
   INSPECTION_BATCH_CHUNK (decode + register + explain), measured before and
   after the worker's run (the CPU is shared; the mean of the two is used).

With --concurrent N, instead: the web server as production runs it (gunicorn
with platform/config/gunicorn_conf.py, a separate process on a local port)
receives N simultaneous synchronous inspections over HTTP, first on a cold
cache (the model is loaded while they wait), then --batch images sent by N
clients at once, each sending its next image when its answer came; its
throughput and latencies against the engine's batch throughput (as in 2.) and
its one-image-at-a-time throughput (decode + register + explain of each image
alone, as the live path scores), both measured before and after the server's
run on the same images.

Everything lives in a temporary folder (SQLite database, folder broker,
media); nothing of an installation is touched.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=20, help="training images")
    parser.add_argument(
        "--epochs", type=int, default=2, help="autoencoder epochs (inference cost does not depend on it)"
    )
    parser.add_argument("--batch", type=int, default=100, help="images in the batch job")
    parser.add_argument("--repeats", type=int, default=5, help="timed synchronous inspections (after one warm-up)")
    parser.add_argument("--side", type=int, default=1024)
    parser.add_argument(
        "--concurrent", type=int, default=0, help="clients sending synchronous inspections at once to a real server"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, media, worker log)")
    arguments = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="benchmark-platform-"))
    os.environ.update(
        {
            "VAR_DIR": str(folder / "var"),
            "CELERY_BROKER_URL": f"filesystem://{folder / 'broker'}",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
        }
    )
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    sys.path[:0] = [str(REPOSITORY), str(REPOSITORY / "platform")]
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    try:
        if arguments.concurrent:
            from benchmark_concurrency import run_concurrent

            results = run_concurrent(arguments, folder, trained_product(arguments))
        else:
            results = run(arguments, folder)
    finally:
        if not arguments.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(results, indent=2))


def _png(pixels) -> bytes:
    from PIL import Image as PillowImage

    from inspection.engine.data.imageio import to_uint8

    array = to_uint8(pixels)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    buffer = io.BytesIO()
    PillowImage.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def trained_product(arguments) -> dict:
    """Rendered images and a product whose trained version is active, as both measurements need."""
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from inspection.engine.data.synth import DEFECT_TYPES, render_cursor
    from inspection.services.model_versions import model_version_create
    from inspection.services.products import product_create
    from inspection.services.registration import registration_job_run
    from inspection.services.thresholds import model_version_activate
    from inspection.services.training import training_job_run
    from inspection.services.uploads import image_upload

    side = (arguments.side, arguments.side)
    # A superuser may do everything: no role to set up.
    user = get_user_model().objects.create_superuser("benchmark", password="benchmark-password-123")
    started = time.perf_counter()
    train = [_png(render_cursor(1, seed=(0, 1, 0, index), size=side)[0]) for index in range(arguments.train)]
    tests = [
        _png(
            render_cursor(
                1, seed=(0, 1, 1 + index % 2, index), defect=DEFECT_TYPES[index % 4] if index % 2 else None, size=side
            )[0]
        )
        for index in range(arguments.batch + 1)
    ]
    render_seconds = time.perf_counter() - started

    product = product_create(
        name="Benchmark cursor", created_by=user, reference_image=SimpleUploadedFile("reference.png", train[0])
    )
    report = image_upload(
        product=product,
        uploaded_by=user,
        label="normal",
        split="train",
        files=[SimpleUploadedFile(f"train{index}.png", data) for index, data in enumerate(train)],
    )
    registration_job_run(job_id=report.job.pk, worker="benchmark")
    version = model_version_create(product=product, created_by=user, params={"epochs": arguments.epochs})
    started = time.perf_counter()
    training_job_run(job_id=version.job_id, worker="benchmark")
    train_seconds = time.perf_counter() - started
    version.refresh_from_db()
    assert version.status == "trained", version.error
    model_version_activate(
        version=version, activated_by=user, force=True, reason="benchmark", operating_point="normal-quantile"
    )
    product.refresh_from_db()
    return {
        "user": user,
        "product": product,
        "version": version,
        "tests": tests,
        "render_seconds": render_seconds,
        "train_seconds": train_seconds,
    }


def run(arguments, folder: Path) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.test import APIClient

    from inspection.engine.data.imageio import decode_image_bytes
    from inspection.models import Job
    from inspection.services.bundles import bundle_load
    from inspection.services.inspections import inspection_batch_start

    setup = trained_product(arguments)
    user, product, version, tests = setup["user"], setup["product"], setup["version"], setup["tests"]
    render_seconds, train_seconds = setup["render_seconds"], setup["train_seconds"]

    # 1. Synchronous inspection through the API against the engine on the same image.
    client = APIClient()
    client.force_authenticate(user)
    image = tests[0]

    def through_api():
        response = client.post(
            f"/api/products/{product.pk}/inspections/",
            {"file": SimpleUploadedFile("part.png", image)},
            format="multipart",
        )
        assert response.status_code == 201, response.content

    loaded = bundle_load(version=version)

    def engine_explain():
        result = loaded.registrar.register(decode_image_bytes(image, "part.png"))
        loaded.bundle.detector.explain([result.image])

    def engine_score():
        result = loaded.registrar.register(decode_image_bytes(image, "part.png"))
        loaded.bundle.detector.score([result.image])

    timings = {
        name: median_ms(function, arguments.repeats)
        for name, function in (
            ("engine_explain", engine_explain),
            ("engine_score", engine_score),
            ("api", through_api),
            ("engine_explain_again", engine_explain),
        )
    }
    engine_ms = statistics.mean([timings["engine_explain"], timings["engine_explain_again"]])

    # 2. Engine throughput on the batch, then the same images through a real worker.
    from django.conf import settings

    def engine_throughput(images: list[bytes]) -> float:
        return engine_batch_throughput(loaded, images, settings.INSPECTION_BATCH_CHUNK)

    # Other processes share the CPU: the engine is measured before and after the worker's run.
    engine_before = engine_throughput(tests[1:])

    worker = _start_worker(folder)
    try:
        warm, _ = inspection_batch_start(
            product=product, created_by=user, files=[SimpleUploadedFile("warm.png", tests[0])]
        )
        _wait(warm.pk, 900)
        job, _ = inspection_batch_start(
            product=product,
            created_by=user,
            files=[SimpleUploadedFile(f"part{index}.png", data) for index, data in enumerate(tests[1:])],
        )
        submitted = time.perf_counter()
        job = _wait(job.pk, 3600)
        wall_seconds = time.perf_counter() - submitted
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    assert job.status == Job.Status.SUCCEEDED, job.error
    engine_after = engine_throughput(tests[1 : 1 + max(8, arguments.batch * 2 // 5)])
    engine_rate = (engine_before + engine_after) / 2
    worker_seconds = (job.finished_at - job.started_at).total_seconds()
    count = len(tests) - 1
    return {
        "machine": f"{os.cpu_count()} cores, load average at the end {os.getloadavg()[0]:.1f}",
        "image_side": arguments.side,
        "train_images": arguments.train,
        "epochs": arguments.epochs,
        "render_seconds": round(render_seconds, 1),
        "train_seconds": round(train_seconds, 1),
        "sync_api_ms": round(timings["api"], 1),
        "engine_decode_register_explain_ms": round(engine_ms, 1),
        "engine_decode_register_score_ms": round(timings["engine_score"], 1),
        "api_over_engine_explain": round(timings["api"] / engine_ms, 3),
        "api_over_engine_score": round(timings["api"] / timings["engine_score"], 3),
        "batch_images": count,
        "engine_images_per_second_before": round(engine_before, 3),
        "engine_images_per_second_after": round(engine_after, 3),
        "worker_images_per_second": round(count / worker_seconds, 3),
        "worker_share_of_engine_throughput": round(count / worker_seconds / engine_rate, 3),
        "worker_wall_seconds_from_submission": round(wall_seconds, 1),
    }


def engine_batch_throughput(loaded, images: list[bytes], chunk: int) -> float:
    """Images per second: decode, register and explain in the batch job's chunks."""
    from inspection.engine.data.imageio import decode_image_bytes

    started = time.perf_counter()
    for index in range(0, len(images), chunk):
        pixels = [decode_image_bytes(data, "part.png") for data in images[index : index + chunk]]
        registered = [loaded.registrar.register(image).image for image in pixels]
        loaded.bundle.detector.explain([image for image in registered if image is not None])
    return len(images) / (time.perf_counter() - started)


def median_ms(function, repeats: int) -> float:
    function()  # warm-up: model load, tracing
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def _start_worker(folder: Path) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPOSITORY), str(REPOSITORY / "platform")])}
    log = (folder / "worker.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            "engine,default",
            "--concurrency=1",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=REPOSITORY,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process


def _wait(job_id: int, timeout: float):
    from inspection.models import Job

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.is_finished:
            return job
        time.sleep(0.2)
    raise TimeoutError(f"job {job_id} did not finish in {timeout} s")


if __name__ == "__main__":
    main()
