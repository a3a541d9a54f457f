"""Server time of the line's view (dashboard, history, drift) with a million inspections in PostgreSQL.

    .venv/bin/python scripts/benchmark_line_view.py --database postgres://postgres@127.0.0.1:5432/linebench
        [--inspections 1000000] [--days 90] [--repeat 20] [--reseed] [--explain]

The database must exist (``createdb linebench``) and should be one of its own:
the script migrates it and, on the first run or with --reseed, empties the
platform's tables and seeds one product: three versions activated over the
period, five station accounts, and `--inspections` parts spread evenly over
the last `--days` days (94 % pass, 4 % review, 2 % reject; reviewed and
rejected parts get review items, decided except for the last day's), written
with COPY, then VACUUM ANALYZE. The quarter-hour counts are then rolled up
as the scheduler does every five minutes (timed). Each page and endpoint is then requested
`--repeat` times in this process through Django's test client (no network, no
browser) and the median and 95th percentile of the server time reported.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
TARGET_MS = 300


def _configure(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="line-view-benchmark-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path[:0] = [str(REPOSITORY), str(REPOSITORY / "platform")]
    import django

    django.setup()


def seed(*, count: int, days: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from inspection.models import Activation, EvaluationScore, Inspection, ModelVersion, Product, ThresholdSetting

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE inspection_product, auth_user RESTART IDENTITY CASCADE")
    now = timezone.now()
    start = now - timedelta(days=days)
    users = [
        get_user_model().objects.create_user(f"station-{number}", password="benchmark password")
        for number in range(1, 6)
    ]
    product = Product.objects.create(name="Benchmark bracket", created_by=users[0])
    versions = []
    for number, activated in (
        (1, start - timedelta(days=1)),
        (2, start + timedelta(days=days * 0.4)),
        (3, start + timedelta(days=days * 0.8)),
    ):
        version = ModelVersion.objects.create(
            product=product,
            number=number,
            method="variation",
            status=ModelVersion.Status.TRAINED,
            bundle=f"v{number}.zip",
            evaluated=True,
        )
        ThresholdSetting.objects.create(
            product=product, version=version, band_lower=0.30, band_upper=0.40, reason="benchmark"
        )
        activation = Activation.objects.create(product=product, version=version, reason="benchmark")
        Activation.objects.filter(pk=activation.pk).update(activated_at=activated)
        chance = random.Random(number)
        EvaluationScore.objects.bulk_create(
            EvaluationScore(
                version=version, checksum=f"{number}-{index}", score=chance.gauss(0.2, 0.03), label="normal"
            )
            for index in range(300)
        )
        versions.append((activated, version))
    Product.objects.filter(pk=product.pk).update(active_version=versions[-1][1])

    chance = random.Random(0)
    step = (now - start) / count
    columns = (
        "product_id",
        "version_id",
        "status",
        "source_file",
        "original_name",
        "checksum",
        "registered_file",
        "anomaly_map",
        "anomaly_map_scale",
        "reconstruction_file",
        "score",
        "decision",
        "reason",
        "registration_quality",
        "engine_seconds",
        "created_by_id",
        "created_at",
        "inspected_at",
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY inspection_inspection ({', '.join(columns)}) FROM STDIN") as copy:
            for index in range(count):
                at = start + step * index
                version = next(version for activated, version in reversed(versions) if activated <= at)
                roll = chance.random()
                if roll < 0.94:
                    decision, score = Inspection.Decision.PASS, chance.uniform(0.1, 0.3)
                elif roll < 0.98:
                    decision, score = Inspection.Decision.REVIEW, chance.uniform(0.3, 0.4)
                else:
                    decision, score = Inspection.Decision.REJECT, chance.uniform(0.4, 0.9)
                name = f"part-{index:07d}.png"
                copy.write_row(
                    (
                        product.pk,
                        version.pk,
                        "done",
                        f"products/{product.pk}/inspections/{name}",
                        name,
                        f"{index:064x}",
                        "",
                        "",
                        score * 2,
                        "",
                        score,
                        decision,
                        f"Score {score:.4g}.",
                        0.95,
                        chance.gammavariate(4, 0.01),
                        users[index % len(users)].pk,
                        at,
                        at,
                    )
                )
        print(f"  {count} inspections copied in {time.perf_counter() - started:.0f} s", flush=True)
        cursor.execute(
            """
            INSERT INTO inspection_reviewitem (product_id, inspection_id, status, doubt, decision, defect_type,
                                               note, decided_at, decided_by_id, created_at)
            SELECT product_id, id,
                   CASE WHEN inspected_at < %(recent)s THEN 'decided' ELSE 'open' END,
                   abs(score - 0.35),
                   CASE WHEN inspected_at >= %(recent)s THEN ''
                        WHEN decision = 'reject' THEN 'defective' ELSE 'normal' END,
                   CASE WHEN inspected_at < %(recent)s AND decision = 'reject'
                        THEN (ARRAY['scratch', 'dent', 'crack'])[1 + id %% 3] ELSE '' END,
                   '',
                   CASE WHEN inspected_at < %(recent)s THEN inspected_at + interval '20 minutes' END,
                   CASE WHEN inspected_at < %(recent)s THEN created_by_id END,
                   inspected_at
            FROM inspection_inspection WHERE product_id = %(product)s AND decision IN ('review', 'reject')
            """,
            {"recent": now - timedelta(days=1), "product": product.pk},
        )
    with connection.cursor() as cursor:
        # VACUUM cannot run inside a transaction; Django's connection is in autocommit here.
        cursor.execute("VACUUM ANALYZE inspection_inspection")
        cursor.execute("VACUUM ANALYZE inspection_reviewitem")
    print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)


def _requests(product, versions, users) -> list[tuple[str, str]]:
    from django.utils import timezone

    now = timezone.now()
    last_tuesday = (now - timedelta(days=(now.weekday() - 1) % 7 or 7)).date()
    tuesday = f"inspected_after={last_tuesday}T00:00&inspected_before={last_tuesday + timedelta(days=1)}T00:00"
    page = f"/products/{product.pk}"
    api = f"/api/products/{product.pk}"
    return [
        ("Product list (with drift banners)", "/"),
        ("Line page, last 8 hours", f"{page}/dashboard/?period=shift&tz=Europe/Berlin"),
        ("Line page, last 24 hours", f"{page}/dashboard/?period=day&tz=Europe/Berlin"),
        ("Line page, last 7 days", f"{page}/dashboard/?period=week&tz=Europe/Berlin"),
        ("Line page, last 30 days", f"{page}/dashboard/?period=month&tz=Europe/Berlin"),
        ("Dashboard API, last 24 hours", f"{api}/dashboard/?period=day"),
        ("Dashboard API, last 30 days", f"{api}/dashboard/?period=month"),
        ("History page, newest first", f"{page}/history/"),
        ("History page, page 100", f"{page}/history/?page=100"),
        ("History page, rejects last Tuesday", f"{page}/history/?decision=reject&{tuesday}&tz=Europe/Berlin"),
        ("History page, highest score first", f"{page}/history/?ordering=-score"),
        ("History page, one station, defect type", f"{page}/history/?user={users[2].username}&defect_type=dent"),
        ("History page, review outcome normal", f"{page}/history/?review=normal"),
        (
            "History page, version and score range",
            f"{page}/history/?version={versions[1].pk}&score_min=0.35&score_max=0.5",
        ),
        ("Inspections API, default", f"{api}/inspections/"),
        ("Inspections API, rejects by score", f"{api}/inspections/?decision=reject&ordering=-score"),
        ("Inspections API, last Tuesday", f"{api}/inspections/?{tuesday}&tz=Europe/Berlin&ordering=time"),
        ("CSV export, rejects last Tuesday", f"{api}/inspections/export/?decision=reject&{tuesday}"),
        ("CSV export, one day (about 11,000 rows)", f"{api}/inspections/export/?{tuesday}"),
        ("Drift API", f"{api}/drift/"),
    ]


def measure(*, repeat: int, explain: bool, only: str = "") -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from inspection.models import Inspection, ModelVersion, Product

    product = Product.objects.get(name="Benchmark bracket")
    versions = list(ModelVersion.objects.filter(product=product).order_by("number"))
    users = list(get_user_model().objects.order_by("username"))
    client = Client()
    client.force_login(users[0])
    print(f"  {Inspection.objects.filter(product=product).count()} inspections in the database", flush=True)
    results = []
    for name, url in _requests(product, versions, users):
        if only and only.lower() not in name.lower():
            continue
        timings, first_bytes = [], []
        size = 0
        for attempt in range(repeat + 1):
            started = time.perf_counter()
            response = client.get(url)
            if response.streaming:
                pieces = iter(response.streaming_content)
                first = next(pieces, b"")
                first_byte = (time.perf_counter() - started) * 1000
                body = first + b"".join(pieces)
            else:
                body, first_byte = response.content, None
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (url, response.status_code, body[:300])
            if attempt:  # the first request warms caches and is not counted
                timings.append(elapsed)
                if first_byte is not None:
                    first_bytes.append(first_byte)
            size = len(body)
        p95 = _p95(timings)
        result = {"name": name, "url": url, "median": statistics.median(timings), "p95": p95, "bytes": size}
        if first_bytes:
            result["first_byte_p95"] = _p95(first_bytes)
        results.append(result)
        flag = "" if p95 < TARGET_MS else "  <-- over target"
        streamed = f"  (streamed; first bytes p95 {result['first_byte_p95']:.1f} ms)" if first_bytes else ""
        print(
            f"  {name:45s} median {statistics.median(timings):7.1f} ms  p95 {p95:7.1f} ms  {size:>9} B{flag}{streamed}",
            flush=True,
        )
        if explain:
            _explain(client, url)
    return results


def _p95(timings: list[float]) -> float:
    ordered = sorted(timings)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def _explain(client, url: str) -> None:
    """Print the plans of the queries one request makes (for finding the index a slow one lacks)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT") or "inspection_inspection" not in sql:
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            print(f"    {query['time']} s: {sql[:200]}")
            for (line,) in cursor.fetchall():
                print(f"      {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/linebench")
    parser.add_argument("--inspections", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--explain", action="store_true", help="print the query plans of each request")
    parser.add_argument("--only", default="", help="measure only the requests whose name contains this")
    arguments = parser.parse_args()
    if not arguments.database.startswith("postgres"):
        parser.error("--database must be a PostgreSQL URL: the benchmark is about PostgreSQL's plans.")
    _configure(arguments.database)
    from django.core.management import call_command

    from inspection.models import Inspection

    call_command("migrate", verbosity=0)
    if arguments.reseed or Inspection.objects.count() != arguments.inspections:
        print(f"Seeding {arguments.inspections} inspections over {arguments.days} days...", flush=True)
        seed(count=arguments.inspections, days=arguments.days)
    from inspection.services.inspection_counts import inspection_counts_roll_up_all

    # What the scheduler does every five minutes; the first time it counts the whole history.
    started = time.perf_counter()
    rows = inspection_counts_roll_up_all()
    print(f"Roll-up of quarter-hour counts: {rows} rows written in {time.perf_counter() - started:.1f} s")
    print(f"Server time per request ({arguments.repeat} requests each, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC):")
    results = measure(repeat=arguments.repeat, explain=arguments.explain, only=arguments.only)
    over = [result["name"] for result in results if result["p95"] >= TARGET_MS]
    print(
        f"p95 under {TARGET_MS} ms: {len(results) - len(over)} of {len(results)}"
        + (f"; over: {', '.join(over)}" if over else "")
    )


if __name__ == "__main__":
    main()
