"""The production dashboard: counts and rates by period and version, activations, latency, throughput, backlog."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from django.utils import timezone

from inspection.selectors.dashboard import production_dashboard
from tests.platform.factories import ProductFactory
from tests.platform.line_data import Part, record_parts, trained_version

# Whole hours keep every part in a known hour bucket; the pages and endpoint use the real now, at most an
# hour later, which changes none of the counts below.
NOW = timezone.now().replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def line(db):
    """Yesterday version 1 ran; version 2 was activated 6 hours ago. Latencies 0.01 ... 0.20 s."""
    product = ProductFactory(name="Lid")
    first = trained_version(product, 1, activated_at=NOW - timedelta(days=3))
    second = trained_version(product, 2, activated_at=NOW - timedelta(hours=6))
    parts = []
    # The day before the last 24 hours: 10 parts, 8 passed, 2 rejected.
    for index in range(10):
        parts.append(Part(NOW - timedelta(hours=30, minutes=index), "reject" if index < 2 else "pass", version=first))
    # The last 24 hours: version 1 made 12 parts (9 pass, 2 review, 1 reject), version 2 made 8 (4 pass, 4 reject).
    for index in range(12):
        decision = "pass" if index < 9 else ("review" if index < 11 else "reject")
        parts.append(
            Part(
                NOW - timedelta(hours=20) + timedelta(minutes=index * 4),
                decision,
                seconds=(index + 1) / 100,
                version=first,
                review="pending" if decision == "review" else "",
            )
        )
    for index in range(8):
        parts.append(
            Part(
                NOW - timedelta(hours=2, minutes=index * 5),
                "pass" if index < 4 else "reject",
                seconds=(index + 13) / 100,
                version=second,
            )
        )
    record_parts(product, parts)
    return {"product": product, "first": first, "second": second}


def test_the_day_counts_parts_by_decision_with_rates_and_compares_with_the_day_before(line):
    figures = production_dashboard(product=line["product"], period_key="day", now=NOW)
    totals = figures["totals"]
    assert (totals["parts"], totals["pass"], totals["review"], totals["reject"]) == (20, 13, 2, 5)
    assert totals["pass_rate"] == pytest.approx(0.65) and totals["reject_rate"] == pytest.approx(0.25)
    previous = figures["previous"]
    assert (previous["parts"], previous["pass"], previous["reject"]) == (10, 8, 2)


def test_counts_are_split_by_version_newest_first(line):
    rows = production_dashboard(product=line["product"], period_key="day", now=NOW)["by_version"]
    assert [(row["version"], row["parts"], row["pass"], row["review"], row["reject"]) for row in rows] == [
        (2, 8, 4, 0, 4),
        (1, 12, 9, 2, 1),
    ]
    assert rows[0]["reject_rate"] == pytest.approx(0.5)


def test_the_activation_inside_the_period_is_marked_and_the_one_in_force_before_it_named(line):
    activations = production_dashboard(product=line["product"], period_key="day", now=NOW)["activations"]
    assert [(row["version"], row["in_period"]) for row in activations] == [(1, False), (2, True)]
    assert activations[1]["time"] == int((NOW - timedelta(hours=6)).timestamp())


def test_engine_latency_median_and_95th_percentile(line):
    latency = production_dashboard(product=line["product"], period_key="day", now=NOW)["latency"]
    # Twenty latencies 0.01 ... 0.20: the median is 0.105, the 95th percentile 0.1905 (linear interpolation).
    assert latency["count"] == 20
    assert latency["median"] == pytest.approx(0.105)
    assert latency["p95"] == pytest.approx(0.1905)


def test_throughput_is_parts_per_hour_with_the_busiest_hour(line):
    throughput = production_dashboard(product=line["product"], period_key="day", now=NOW)["throughput"]
    assert throughput["per_hour"] == pytest.approx(20 / 24)
    assert throughput["busiest_parts"] == 12


def test_the_series_has_one_bucket_per_hour_holding_every_part(line):
    series = production_dashboard(product=line["product"], period_key="day", now=NOW)["series"]
    assert series["bucket"] == "hour"
    assert len(series["times"]) == 24
    assert all(later - earlier == 3600 for earlier, later in pairwise(series["times"]))
    assert (sum(series["pass"]), sum(series["review"]), sum(series["reject"])) == (13, 2, 5)


def test_the_month_is_drawn_per_local_day(line):
    zone = zoneinfo.ZoneInfo("Asia/Kolkata")
    series = production_dashboard(product=line["product"], period_key="month", now=NOW, zone=zone)["series"]
    assert series["bucket"] == "day"
    starts = [datetime.fromtimestamp(moment, zone) for moment in series["times"]]
    assert all((start.hour, start.minute) == (0, 0) for start in starts)
    assert sum(series["pass"]) + sum(series["review"]) + sum(series["reject"]) == 30


def test_the_shift_is_the_last_eight_hours(line):
    figures = production_dashboard(product=line["product"], period_key="shift", now=NOW)
    assert figures["totals"]["parts"] == 8 and figures["by_version"][0]["version"] == 2


def test_the_review_backlog_counts_waiting_parts_by_age(line):
    backlog = production_dashboard(product=line["product"], period_key="day", now=NOW)["backlog"]
    assert backlog["pending"] == 2
    # The two review parts were inspected 20 hours ago plus 36 and 40 minutes.
    assert backlog["oldest_age_seconds"] == pytest.approx(timedelta(hours=19, minutes=24).total_seconds())
    assert {row["age"]: row["count"] for row in backlog["by_age"]}["8 to 24 hours"] == 2


def test_the_dashboard_endpoint_answers_json_and_refuses_an_unknown_period(api_client, line):
    url = f"/api/products/{line['product'].pk}/dashboard/"
    response = api_client.get(url, {"period": "week", "tz": "Europe/Berlin"})
    assert response.status_code == 200
    body = response.json()
    assert body["period"]["key"] == "week" and body["totals"]["parts"] == 30
    # One bucket per hour; the first hour is partial unless now is a whole hour.
    assert len(body["series"]["times"]) in (7 * 24, 7 * 24 + 1)
    refused = api_client.get(url, {"period": "fortnight"})
    assert refused.status_code == 400 and "period" in refused.json()["detail"]


def test_the_dashboard_page_shows_the_figures_and_links_the_product_from_the_list(client, user, line):
    client.force_login(user)
    product = line["product"]
    page = client.get(f"/products/{product.pk}/dashboard/", {"period": "day"}).content.decode()
    assert 'data-metric="parts">20<' in page
    assert "dashboard-data" in page and "vendor/uplot/uPlot.iife.min.js" in page
    products = client.get("/").content.decode()
    assert f'href="/products/{product.pk}/dashboard/"' in products


def test_the_dashboard_page_names_an_unknown_period_and_shows_the_day(client, user, line):
    client.force_login(user)
    response = client.get(f"/products/{line['product'].pk}/dashboard/", {"period": "year"})
    assert response.status_code == 200
    assert "period must be one of" in response.content.decode()


def _figures(product, period, zone):
    figures = production_dashboard(product=product, period_key=period, now=NOW, zone=zone)
    return {key: figures[key] for key in ("totals", "previous", "by_version", "series")}


@pytest.mark.parametrize("zone_name", ["UTC", "Asia/Kolkata", "America/St_Johns"])
def test_counts_rolled_up_per_quarter_hour_give_the_figures_of_counting_every_part(line, zone_name):
    from inspection.models import InspectionCount
    from inspection.services.inspection_counts import inspection_counts_roll_up

    zone = zoneinfo.ZoneInfo(zone_name)
    product = line["product"]
    before = {period: _figures(product, period, zone) for period in ("shift", "day", "week", "month")}
    # Rolled up to three hours ago: periods read the roll-up in the middle and the parts at both ends.
    inspection_counts_roll_up(product=product, now=NOW - timedelta(hours=3))
    assert InspectionCount.objects.filter(product=product).exists()
    for period, figures in before.items():
        assert _figures(product, period, zone) == figures, period
    # Parts inspected after the roll-up are counted from the inspections themselves.
    record_parts(product, [Part(NOW - timedelta(minutes=30), "reject", version=line["second"])])
    assert production_dashboard(product=product, period_key="day", now=NOW)["totals"]["reject"] == 6


def test_rolling_up_twice_counts_nothing_twice_and_the_periodic_task_rolls_up(line):
    from inspection.models import InspectionCount
    from inspection.services.inspection_counts import inspection_counts_roll_up
    from inspection.tasks import roll_up_inspection_counts

    product = line["product"]
    # The periodic task first, while nothing is counted: it must write the rows itself.
    assert roll_up_inspection_counts() > 0
    total = sum(InspectionCount.objects.filter(product=product).values_list("parts", flat=True))
    assert total == 30
    assert inspection_counts_roll_up(product=product, now=NOW) == 0
    assert sum(InspectionCount.objects.filter(product=product).values_list("parts", flat=True)) == 30
