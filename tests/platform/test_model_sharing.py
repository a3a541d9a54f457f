"""Simultaneous synchronous inspections in one web process share one loaded model and take turns on it."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inspection.services import bundles
from inspection.services.bundles import FairLock, bundle_forget, bundle_load
from tests.platform.loop_data import activated_version, ready_product
from tests.synthetic_images import good_pixels, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    return ready_product(train=8, test_good=3, test_defective=3)


def wait_until(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_twenty_requests_on_a_cold_cache_load_the_model_once_and_share_it(product, monkeypatch):
    version = activated_version(product)
    bundle_forget()
    real_load, loads = bundles._load, []

    def slow_counted_load(version):
        loads.append(threading.get_ident())
        time.sleep(0.3)  # every other request arrives while this load is under way
        return real_load(version)

    monkeypatch.setattr(bundles, "_load", slow_counted_load)
    start, results = threading.Barrier(20), []

    def request():
        start.wait()
        results.append(bundle_load(version=version))

    threads = [threading.Thread(target=request) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1 and len(results) == 20
    assert all(result is results[0] for result in results)
    assert not bundles._loading  # nothing is left waiting for a load


def test_requests_waiting_for_the_model_get_it_in_the_order_they_asked():
    lock, order = FairLock(), []
    lock.acquire()

    def waiter(number):
        with lock:
            order.append(number)

    threads = []
    for number in range(8):
        threads.append(threading.Thread(target=waiter, args=(number,)))
        threads[-1].start()
        wait_until(lambda queued=number + 1: len(lock._waiters) == queued)
    lock.release()
    for thread in threads:
        thread.join()
    assert order == list(range(8))


def test_a_waiter_that_gives_up_leaves_the_queue_and_the_lock_stays_usable():
    lock = FairLock()
    lock.acquire()
    started = time.perf_counter()
    assert lock.acquire(timeout=0.05) is False
    assert time.perf_counter() - started >= 0.05
    lock.release()
    assert lock.acquire(timeout=0) is True
    lock.release()


def test_an_inspection_that_waits_too_long_for_the_model_is_answered_503_with_the_reason(product, api_client, settings):
    version = activated_version(product)
    loaded = bundle_load(version=version)
    settings.MODEL_WAIT_SECONDS = 0.2

    def inspect():
        return api_client.post(
            f"/api/products/{product.pk}/inspections/",
            {"file": SimpleUploadedFile("part.png", png_bytes(good_pixels(5)), content_type="image/png")},
            format="multipart",
        )

    loaded.lock.acquire()  # another request is using the model
    try:
        refused = inspect()
    finally:
        loaded.lock.release()
    assert refused.status_code == 503
    assert "busy" in refused.data["detail"] and "MODEL_WAIT_SECONDS" in refused.data["detail"]
    assert refused.data["waited_seconds"] == 0.2
    assert product.inspections.count() == 0
    answered = inspect()
    assert answered.status_code == 201, answered.data
