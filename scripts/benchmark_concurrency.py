"""Simultaneous synchronous inspections against a real web server: benchmark_platform.py --concurrent N.

The server is started as production starts it (gunicorn with
platform/config/gunicorn_conf.py) on a free local port, over the database
and media folder that benchmark_platform.py prepared; the requests are plain
HTTP with a token, as a station sends them.
"""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from benchmark_platform import REPOSITORY, engine_batch_throughput


def run_concurrent(arguments, folder: Path, setup: dict) -> dict:
    from django.conf import settings
    from rest_framework.authtoken.models import Token

    from inspection.services.bundles import bundle_load

    product, version, tests = setup["product"], setup["version"], setup["tests"]
    token = Token.objects.create(user=setup["user"]).key
    images = tests[1:]
    loaded = bundle_load(version=version)
    load_before = os.getloadavg()[0]
    # The CPU is shared: the engine is measured before and after the server's run, on the same images.
    batch_before = engine_batch_throughput(loaded, images, settings.INSPECTION_BATCH_CHUNK)
    each_before = engine_each_throughput(loaded, images)

    port = _free_port()
    server = _start_server(folder, port)
    try:
        _wait_until_up(port, server)
        # Cold cache: N requests arrive together while the server has no model loaded yet.
        cold = _send_all(port, token, product.pk, [tests[0]] * arguments.concurrent, arguments.concurrent)
        worker_memory = _worker_peak_memory(server.pid)
        already = set(product.inspections.values_list("pk", flat=True))
        warm = _send_all(port, token, product.pk, images, arguments.concurrent)
        # Time each request held the model (decode excluded: registration, explain, the registered PNG),
        # as the server recorded it: their sum over the wall time says how busy the one model was.
        held = [row for row in product.inspections.values_list("pk", "engine_seconds") if row[0] not in already]
        warm["model_held_seconds_per_image"] = round(sum(seconds or 0 for _, seconds in held) / len(held), 3)
        warm["model_busy_share_of_wall_time"] = round(
            sum(seconds or 0 for _, seconds in held) / warm["wall_seconds"], 3
        )
        worker_memory_after = _worker_peak_memory(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
    batch_after = engine_batch_throughput(loaded, images, settings.INSPECTION_BATCH_CHUNK)
    each_after = engine_each_throughput(loaded, images)
    batch_rate = (batch_before + batch_after) / 2
    each_rate = (each_before + each_after) / 2
    return {
        "machine": f"{os.cpu_count()} cores, load average before {load_before:.1f}, at the end "
        f"{os.getloadavg()[0]:.1f}",
        "image_side": arguments.side,
        "train_images": arguments.train,
        "render_seconds": round(setup["render_seconds"], 1),
        "train_seconds": round(setup["train_seconds"], 1),
        "clients": arguments.concurrent,
        "cold_cache": cold,
        "server_worker_peak_memory_mib_after_cold_round": worker_memory,
        "server_worker_peak_memory_mib_at_the_end": worker_memory_after,
        "server": warm,
        "engine_batch_images_per_second_before": round(batch_before, 3),
        "engine_batch_images_per_second_after": round(batch_after, 3),
        "engine_each_images_per_second_before": round(each_before, 3),
        "engine_each_images_per_second_after": round(each_after, 3),
        "server_over_engine_batch": round(warm["images_per_second"] / batch_rate, 3),
        "server_over_engine_each": round(warm["images_per_second"] / each_rate, 3),
    }


def engine_each_throughput(loaded, images: list[bytes]) -> float:
    """Images per second: decode, register and explain each image alone, as the live path scores it."""
    from inspection.engine.data.imageio import decode_image_bytes
    from inspection.services.scoring import explain_each

    started = time.perf_counter()
    for data in images:
        registered = loaded.registrar.register(decode_image_bytes(data, "part.png")).image
        if registered is not None:
            explain_each(loaded.bundle.detector, [registered])
    return len(images) / (time.perf_counter() - started)


def _send_all(port: int, token: str, product_id: int, images: list[bytes], clients: int) -> dict:
    """Send every image once, `clients` at a time (each client sends its next image when answered)."""
    pending = list(enumerate(images))
    latencies: list[float] = []
    failures: list[str] = []
    guard = threading.Lock()

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
        while True:
            with guard:
                if not pending:
                    break
                index, data = pending.pop()
            body, content_type = _multipart(f"part{index}.png", data)
            started = time.perf_counter()
            try:
                connection.request(
                    "POST",
                    f"/api/products/{product_id}/inspections/",
                    body=body,
                    headers={"Authorization": f"Token {token}", "Content-Type": content_type},
                )
                response = connection.getresponse()
                answer = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
                status, answer = 0, repr(error).encode()
            elapsed = time.perf_counter() - started
            with guard:
                latencies.append(elapsed)
                if status != 201:
                    failures.append(f"{status}: {answer[:200]!r}")
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "requests": len(images),
        "failed": len(failures),
        "failures": failures[:5],
        "wall_seconds": round(wall, 2),
        "images_per_second": round((len(images) - len(failures)) / wall, 3),
        "latency_ms": {
            "p50": round(cuts[49] * 1000),
            "p90": round(cuts[89] * 1000),
            "p95": round(cuts[94] * 1000),
            "max": round(max(latencies) * 1000),
        },
    }


def _multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_server(folder: Path, port: int) -> subprocess.Popen:
    paths = [str(REPOSITORY), str(REPOSITORY / "platform"), *filter(None, [os.environ.get("PYTHONPATH")])]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    log = (folder / "server.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "platform/config/gunicorn_conf.py", "config.wsgi"]
        + ["--bind", f"127.0.0.1:{port}"],
        cwd=REPOSITORY,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _wait_until_up(port: int, server: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the web server stopped at start (exit status {server.returncode}); see server.log")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the web server did not answer on port {port} within {timeout} s")


def _worker_peak_memory(master_pid: int) -> float | None:
    """Peak resident memory (MiB) of gunicorn's worker process, the one that holds the model."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    if not children.exists():
        return None
    peaks = []
    for pid in children.read_text().split():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return round(max(peaks), 1) if peaks else None
