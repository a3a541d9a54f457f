"""The inspection history: filters, sorting and paging in the list endpoint and the page, and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from inspection.models import Inspection
from tests.platform.factories import ProductFactory, UserFactory
from tests.platform.line_data import Part, record_parts, trained_version

MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture
def line(db):
    """A week on a line: two versions, two stations, every decision and review outcome."""
    product = ProductFactory(name="Bracket")
    first = trained_version(product, 1, activated_at=MONDAY - timedelta(days=1))
    second = trained_version(product, 2, activated_at=MONDAY + timedelta(days=2))
    north, south = UserFactory(username="station-north"), UserFactory(username="station-south")
    parts = [
        Part(MONDAY, "pass", 0.10, version=first, user=north, name="a.png"),
        Part(MONDAY + timedelta(hours=1), "review", 0.40, version=first, user=north, name="b.png", review="pending"),
        Part(
            MONDAY + timedelta(days=1),
            "reject",
            0.90,
            version=first,
            user=south,
            name="c.png",
            review="defective",
            defect_type="scratch",
        ),
        Part(
            MONDAY + timedelta(days=2, hours=1),
            "review",
            0.45,
            version=second,
            user=south,
            name="d.png",
            review="normal",
        ),
        Part(
            MONDAY + timedelta(days=3),
            "reject",
            0.95,
            version=second,
            user=north,
            name="=cmd|calc.png",
            review="defective",
            defect_type="dent",
        ),
        Part(MONDAY + timedelta(days=4), "pass", 0.05, version=second, user=south, name="f.png"),
    ]
    record_parts(product, parts)
    return {"product": product, "first": first, "second": second}


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["original_name"] for row in response.data["results"]]


def history(api_client, product, **params):
    return api_client.get(f"/api/products/{product.pk}/inspections/", params)


def test_without_filters_the_list_shows_every_part_newest_submitted_first(api_client, line):
    response = history(api_client, line["product"])
    assert names(response) == ["f.png", "=cmd|calc.png", "d.png", "c.png", "b.png", "a.png"]
    assert response.data["count"] == 6


def test_a_time_range_keeps_the_parts_inspected_inside_it(api_client, line):
    response = history(
        api_client, line["product"], inspected_after="2026-12-01T00:00:00Z", inspected_before="2026-12-03T00:00:00Z"
    )
    assert sorted(names(response)) == ["c.png", "d.png"]


def test_a_time_without_offset_is_read_in_the_time_zone_given(api_client, line):
    # 09:30 in Berlin is 08:30 UTC: a.png (08:00 UTC) is before it, b.png (09:00 UTC) after.
    response = history(
        api_client,
        line["product"],
        inspected_after="2026-11-30T09:30",
        tz="Europe/Berlin",
        inspected_before="2026-11-30T12:00",
    )
    assert names(response) == ["b.png"]


def test_several_decisions_can_be_asked_for_at_once(api_client, line):
    client = api_client
    response = client.get(f"/api/products/{line['product'].pk}/inspections/?decision=pass&decision=reject")
    assert sorted(names(response)) == ["=cmd|calc.png", "a.png", "c.png", "f.png"]


def test_score_range_version_and_user_narrow_the_list(api_client, line):
    product = line["product"]
    assert sorted(names(history(api_client, product, score_min=0.4, score_max=0.9))) == ["b.png", "c.png", "d.png"]
    assert sorted(names(history(api_client, product, version=line["second"].pk))) == ["=cmd|calc.png", "d.png", "f.png"]
    assert sorted(names(history(api_client, product, user="station-south"))) == ["c.png", "d.png", "f.png"]


def test_review_outcome_and_defect_type_narrow_the_list(api_client, line):
    product = line["product"]
    assert sorted(names(history(api_client, product, review="none"))) == ["a.png", "f.png"]
    assert names(history(api_client, product, review="pending")) == ["b.png"]
    assert names(history(api_client, product, review="normal")) == ["d.png"]
    assert sorted(names(history(api_client, product, review="defective"))) == ["=cmd|calc.png", "c.png"]
    assert names(history(api_client, product, defect_type="Scratch")) == ["c.png"]


def test_sorting_by_score_and_by_time_in_both_directions(api_client, line):
    product = line["product"]
    assert names(history(api_client, product, ordering="-score"))[:2] == ["=cmd|calc.png", "c.png"]
    assert names(history(api_client, product, ordering="score"))[:2] == ["f.png", "a.png"]
    assert names(history(api_client, product, ordering="time"))[0] == "a.png"
    assert names(history(api_client, product, ordering="-time"))[0] == "f.png"


def test_parts_not_scored_count_as_the_highest_score_and_waiting_ones_as_the_newest(api_client, line):
    product = line["product"]
    record_parts(
        product,
        [
            Part(MONDAY, status=Inspection.Status.FAILED, decision="review", score=None, name="unaligned.png"),
            Part(MONDAY, status=Inspection.Status.PENDING, decision="", score=None, name="waiting.png"),
        ],
    )
    assert names(history(api_client, product, ordering="-score"))[:2] in (
        ["unaligned.png", "waiting.png"],
        ["waiting.png", "unaligned.png"],
    )
    assert names(history(api_client, product, ordering="-time"))[0] == "waiting.png"
    assert names(history(api_client, product, ordering="time"))[-1] == "waiting.png"


def test_the_list_is_paged(api_client, line):
    response = history(api_client, line["product"], page_size=4, page=2, ordering="time")
    assert names(response) == ["=cmd|calc.png", "f.png"]
    assert response.data["count"] == 6 and response.data["previous"]


@pytest.mark.parametrize(
    "params, named",
    [
        ({"decision": "maybe"}, "decision"),
        ({"score_min": "high"}, "score_min"),
        ({"inspected_after": "last tuesday"}, "inspected_after"),
        ({"review": "later"}, "review"),
        ({"ordering": "name"}, "ordering"),
        ({"version": "1.5"}, "version"),
        ({"tz": "Mars/Olympus"}, "tz"),
    ],
)
def test_a_bad_filter_value_is_refused_naming_the_parameter(api_client, line, params, named):
    response = history(api_client, line["product"], **params)
    assert response.status_code == 400
    assert named in response.data["detail"]


def test_the_batch_job_and_status_filters_still_work(api_client, line):
    product = line["product"]
    record_parts(product, [Part(MONDAY, status=Inspection.Status.PENDING, decision="", score=None, name="w.png")])
    assert names(history(api_client, product, status="pending")) == ["w.png"]
    assert names(history(api_client, product, job=12345)) == []


def export(api_client, product, **params):
    response = api_client.get(f"/api/products/{product.pk}/inspections/export/", params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert response.streaming
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_csv_export_holds_the_filtered_list_with_times_in_the_time_zone_asked(api_client, line):
    rows = export(api_client, line["product"], decision="reject", tz="America/New_York")
    assert [row["part"] for row in rows] == ["'=cmd|calc.png", "c.png"]
    newest = rows[0]
    # 2026-12-03 08:00 UTC is 03:00 in New York.
    assert newest["inspected_at"] == "2026-12-03T03:00:00-05:00"
    assert newest["decision"] == "reject" and float(newest["score"]) == 0.95 and newest["version"] == "2"
    assert newest["user"] == "station-north" and newest["review"] == "defective" and newest["defect_type"] == "dent"


def test_the_csv_export_defaults_to_utc_and_streams_more_rows_than_one_chunk(api_client, db, monkeypatch):
    monkeypatch.setattr("inspection.selectors.inspection_history.EXPORT_CHUNK", 7)
    product = ProductFactory()
    record_parts(product, [Part(MONDAY + timedelta(minutes=index)) for index in range(30)])
    rows = export(api_client, product)
    assert len(rows) == 30
    assert rows[0]["inspected_at"] == "2026-11-30T08:29:00+00:00"
    assert rows[-1]["inspected_at"] == "2026-11-30T08:00:00+00:00"


def test_a_bad_filter_refuses_the_export_too(api_client, line):
    response = api_client.get(f"/api/products/{line['product'].pk}/inspections/export/", {"score_max": "x"})
    assert response.status_code == 400 and "score_max" in response.data["detail"]


def test_the_export_needs_a_signed_in_user(anonymous_client, line):
    response = anonymous_client.get(f"/api/products/{line['product'].pk}/inspections/export/")
    assert response.status_code in (401, 403)


def test_the_history_page_lists_filtered_parts_and_offers_their_csv(client, user, line):
    client.force_login(user)
    product = line["product"]
    response = client.get(f"/products/{product.pk}/history/", {"decision": "reject", "tz": "UTC"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "2 inspections" in page
    assert "c.png" in page and "d.png" not in page
    assert f"/api/products/{product.pk}/inspections/export/?decision=reject&amp;tz=UTC" in page
    assert 'datetime="2026-12-01T08:00:00+00:00"' in page


def test_the_history_page_names_a_bad_filter_and_keeps_what_was_typed(client, user, line):
    client.force_login(user)
    response = client.get(f"/products/{line['product'].pk}/history/", {"score_min": "abc", "user": "station-north"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "score_min" in page and "0 inspections" in page
    assert '<option value="station-north" selected>' in page


def test_counting_stops_past_the_limit_and_says_so(api_client, client, user, line, monkeypatch):
    monkeypatch.setattr("inspection.selectors.inspection_history.COUNT_LIMIT", 3)
    product = line["product"]
    response = history(api_client, product, page_size=2)
    assert response.data["count"] == 4 and response.data["count_is_lower_bound"] is True
    assert names(history(api_client, product, page_size=2, page=2)) == ["d.png", "c.png"]
    narrowed = history(api_client, product, decision="reject")
    assert narrowed.data["count"] == 2 and narrowed.data["count_is_lower_bound"] is False
    client.force_login(user)
    page = client.get(f"/products/{product.pk}/history/").content.decode()
    assert "More than 3 inspections" in page and "narrow the filters" in page


def test_the_inspect_page_gives_the_inspection_time_for_the_readers_zone(client, user, line):
    client.force_login(user)
    product = line["product"]
    inspect_page = client.get(f"/products/{product.pk}/inspect/").content.decode()
    # The newest part, f.png, was inspected 2026-12-04 08:00 UTC; local_time.js shows it in the reader's zone.
    assert '<time datetime="2026-12-04T08:00:00+00:00" data-local-time>' in inspect_page
    assert "js/local_time.js" in inspect_page
