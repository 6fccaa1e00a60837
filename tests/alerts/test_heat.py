"""Heat bulletins: forecast outlook, the rule chain (open, update, cancel), approval on the replay
clock, expiry at onset, the operator notice, CAP validity, and the HTML/PDF bulletin rendering."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from affine import Affine
from lxml import etree

from alerts.decide.pipeline import apply_findings
from alerts.decide.policy import load_policy
from alerts.decide.revisions import SubjectInfo
from alerts.detect.heat import bulletin_finding, heat_outlook
from alerts.detect.heat_notice import approval_notice
from alerts.outbox import commands as ops
from alerts.outbox.asof import outbox_clock, read_as_of, set_as_of
from alerts.outbox.store import open_store
from alerts.products.heat_bulletin import bulletin_html, bulletin_pdf, map_figure
from core.status import SubjectStatus
from eo.meteo import DailyWeather, HeatWarning, HeatWarnings, daily_from_frame

TZ = "Europe/Vienna"
SUBJECT = "test:heat-bulletin"
SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[16.33, 48.18], [16.40, 48.18], [16.40, 48.22], [16.33, 48.22], [16.33, 48.18]]
    ],
}


def forecast(first: str, rows: list[tuple[float, float, float]], felt: bool = True) -> DailyWeather:
    days = pd.date_range(first, periods=len(rows), freq="D").strftime("%Y-%m-%d")
    frame = pd.DataFrame(
        {"date": days, "tmax_c": [r[0] for r in rows], "tmin_c": [r[1] for r in rows]}
    )
    if felt:
        frame["felt_tmax_c"] = [r[2] for r in rows]
    return daily_from_frame(frame, "test")


WAVE = [(31, 19, 33.5), (34, 21, 36.4), (35, 21.5, 37.1), (34.5, 22, 36.8), (33.5, 21, 35.6)]
HOTTER = [
    (35, 21.5, 37.5),
    (36.5, 22.5, 38.9),
    (36, 23, 38.6),
    (35.5, 22.5, 38.2),
    (33, 20.5, 36.0),
]
NONE = [(28, 17.5, 28.9), (27, 16, 27.5), (29, 17, 30.1), (30, 18, 31.2), (28.5, 17, 29.4)]


def issued(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T06:00:00")


def test_outlook_value_exceeds_35_exactly_when_the_vienna_criterion_holds() -> None:
    out = heat_outlook(forecast("2022-07-19", WAVE), issued=issued("2022-07-18"))
    assert out.wave == (date(2022, 7, 20), date(2022, 7, 23))
    assert out.vienna_runs == ((date(2022, 7, 20), date(2022, 7, 23)),)
    # windows of 3 days: min(33.5,36.4,37.1)=33.5, min(36.4,37.1,36.8)=36.4, min(37.1,36.8,35.6)=35.6
    assert out.sustained_felt_c == pytest.approx(36.4)
    assert out.status == SubjectStatus.OK
    # three felt > 35 days with a cool night in the middle: not a wave, value capped below 35
    cool = [(34, 21, 36.0), (34, 19.9, 36.0), (34, 21, 36.0)]
    out = heat_outlook(forecast("2022-07-01", cool), issued=issued("2022-06-30"))
    assert out.wave is None and out.sustained_felt_c < 35.0
    # exactly 35.0 felt is not "über 35"
    edge = [(33, 21, 35.0), (33, 21, 36.0), (33, 21, 36.0)]
    assert heat_outlook(forecast("2022-07-01", edge), issued=issued("2022-06-30")).wave is None


def test_outlook_without_felt_temperature_is_data_gap_but_kysely_still_runs() -> None:
    out = heat_outlook(forecast("2022-07-19", HOTTER, felt=False), issued=issued("2022-07-18"))
    assert out.status == SubjectStatus.DATA_GAP and out.vienna_runs is None
    assert "no_felt_temperature" in out.reasons
    assert out.kysely_runs == ((date(2022, 7, 19), date(2022, 7, 23)),)
    finding = bulletin_finding(out, SUBJECT, sources=("f.csv",), timezone=TZ)
    assert finding.status == SubjectStatus.DATA_GAP and finding.level == 0


def test_apparent_temperature_lowers_certainty_and_gaps_degrade() -> None:
    days = pd.date_range("2022-07-20", periods=4, freq="D").strftime("%Y-%m-%d")
    frame = pd.DataFrame({"date": days, "tmax_c": [36.0] * 4, "tmin_c": [22.0] * 4,
                          "rh_pct": [45.0] * 4, "wind_ms": [1.0] * 4})  # fmt: skip
    weather = daily_from_frame(frame, "apparent")
    out = heat_outlook(weather, issued=issued("2022-07-19"))
    assert out.felt_source == "apparent" and out.wave is not None
    assert out.status == SubjectStatus.DEGRADED and "apparent_temperature" in out.reasons
    assert "one step lower" in out.note
    longer = forecast("2022-07-19", [*WAVE, (33, 21, 36.0), (30, 19, 31.0)]).table
    gappy = longer.drop(pd.Timestamp("2022-07-24"))  # 6 of 7 days: the wave is still judged
    out = heat_outlook(DailyWeather(gappy, "perceived", "gap"), issued=issued("2022-07-18"))
    assert out.status == SubjectStatus.DEGRADED and out.coverage == pytest.approx(6 / 7)
    assert out.wave == (date(2022, 7, 20), date(2022, 7, 23))
    # a gap that leaves no 3 consecutive judged days: DATA_GAP, never "no heatwave"
    holey = longer.drop([pd.Timestamp("2022-07-21"), pd.Timestamp("2022-07-24")])
    out = heat_outlook(DailyWeather(holey, "perceived", "gap"), issued=issued("2022-07-18"))
    assert out.status == SubjectStatus.DATA_GAP and "forecast_gaps" in out.reasons


def test_geosphere_orange_warning_makes_a_wave_without_the_vienna_criterion() -> None:
    onset = pd.Timestamp("2022-07-19T22:00", tz="UTC")
    warnings = HeatWarnings((HeatWarning(3, onset, onset + pd.Timedelta(days=3), "1"),), "test")
    out = heat_outlook(forecast("2022-07-19", NONE), issued=issued("2022-07-18"), warnings=warnings)
    assert out.wave == (date(2022, 7, 20), date(2022, 7, 22))
    assert out.sustained_felt_c > 35.0


def run_forecast(out: Path, day: str, rows: list[tuple[float, float, float]]) -> list:
    first = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    outlook = heat_outlook(forecast(first, rows), issued=issued(day))
    finding = bulletin_finding(outlook, SUBJECT, sources=("test",), timezone=TZ)
    set_as_of(out, issued(day))
    store = open_store(out)
    try:
        return apply_findings(
            store, [finding], load_policy("heat"), now=issued(day).replace(tzinfo=UTC),
            sinks=("files",), subjects={SUBJECT: SubjectInfo(name="Test", geometry=SQUARE)},
            out_dir=out,
        )  # fmt: skip
    finally:
        store.close()


def test_multi_day_heatwave_updates_the_same_event_and_its_end_cancels_it(
    tmp_path: Path, schema: etree.XMLSchema
) -> None:
    assert run_forecast(tmp_path, "2022-06-20", NONE)[0].revision_id is None  # no bulletin
    first = run_forecast(tmp_path, "2022-07-18", WAVE)[0]
    assert first.action == "open"
    assert run_forecast(tmp_path, "2022-07-18", WAVE)[0].revision_id is None  # rerun: nothing new
    second = run_forecast(tmp_path, "2022-07-19", HOTTER)[0]
    assert second.action == "revise"
    end = run_forecast(tmp_path, "2022-07-25", NONE)[0]
    assert end.action == "clear"
    revs = [r for r in ops.list_revisions(tmp_path) if r["hazard"] == "heat"]
    assert [(r["revision"], r["msg_type"], r["level"]) for r in revs] == [
        (1, "Alert", 3), (2, "Update", 4), (3, "Cancel", 4)]  # fmt: skip
    assert len({r["alert_key"] for r in revs}) == 1
    cap_files = sorted((tmp_path / "alerts" / "cap").glob("*.xml"))
    assert len(cap_files) == 3
    for path in cap_files:
        doc = etree.parse(str(path))
        schema.assertValid(doc)
        ns = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
        assert doc.findtext("c:status", namespaces=ns) == "Draft"
        params = {p.findtext("c:valueName", namespaces=ns): p.findtext("c:value", namespaces=ns)
                  for p in doc.iterfind(".//c:parameter", ns)}  # fmt: skip
        assert params["awareness_type"] == "5; high-temperature"
    update = etree.parse(str(cap_files[1]))
    assert "references" in etree.tostring(update).decode()


def test_bulletin_waits_on_the_replay_clock_then_approval_makes_it_actual(
    tmp_path: Path, schema: etree.XMLSchema
) -> None:
    run_forecast(tmp_path, "2022-07-18", WAVE)
    pending = ops.list_revisions(tmp_path, status="pending_approval")
    assert len(pending) == 1  # years after 2022 on the wall clock, still pending: replay clock
    approved = ops.approve(tmp_path, pending[0]["id"], "Dr. Public Health")
    assert approved["status"] == "queued"
    cap = next((tmp_path / "alerts" / "cap").glob("*.1.xml"))
    schema.assertValid(etree.parse(str(cap)))
    assert b"<status>Actual</status>" in cap.read_bytes()


def test_unapproved_bulletin_expires_at_onset(tmp_path: Path) -> None:
    run_forecast(tmp_path, "2022-07-18", WAVE)
    set_as_of(tmp_path, datetime(2022, 7, 19, 22, 0, 1))  # onset: 2022-07-20 00:00 Vienna
    assert ops.list_revisions(tmp_path, status="pending_approval") == []
    assert [r["status"] for r in ops.list_revisions(tmp_path)] == ["expired"]


def test_replay_clock_flows_forward_and_never_back(tmp_path: Path) -> None:
    wall = iter([1000.0, 1000.0, 1010.0, 1020.0]).__next__
    set_as_of(tmp_path, datetime(2022, 7, 18, 6), wall=wall)
    as_of = datetime(2022, 7, 18, 6, tzinfo=UTC).timestamp()
    assert outbox_clock(tmp_path, wall=wall)() == pytest.approx(as_of)
    assert outbox_clock(tmp_path, wall=wall)() == pytest.approx(as_of + 10)
    set_as_of(tmp_path, datetime(2022, 6, 1), wall=wall)  # earlier: ignored
    assert read_as_of(tmp_path)[0] == pytest.approx(as_of + 20)
    assert outbox_clock(tmp_path / "elsewhere", wall=lambda: 5.0)() == 5.0


def test_approval_notice_says_until_when() -> None:
    bulletin = {"message_key": "a" * 64, "id": 7, "revision": 1, "level": 3,
                "onset": "2022-07-19T22:00:00+00:00", "area_name": "Margareten"}  # fmt: skip
    notice = approval_notice(bulletin, now=datetime(2022, 7, 18, 6, tzinfo=UTC), timezone=TZ)
    assert "waits for approval until 2022-07-20 00:00 CEST" in notice.summary
    assert notice.hazard == "notice" and notice.payload["about_hazard"] == "heat"
    assert "approve 7" in notice.instruction
    # built by the one notice builder: its topic, and it expires at the bulletin's onset
    assert notice.payload["notice"] == "approval_pending"
    assert notice.payload["event"] == "Bulletin awaiting approval"
    assert notice.expires == datetime(2022, 7, 19, 22, tzinfo=UTC)
    assert notice.rule_version == "heat-approval-1" and notice.area_name == "Margareten"


def test_bulletin_renders_offline_html_and_a_pdf_with_the_map() -> None:
    lst = 300.0 + np.random.default_rng(1).normal(0, 2, (40, 50))
    import geopandas as gpd
    from shapely.geometry import box

    districts = gpd.GeoDataFrame({"zone_id": ["5"], "name": ["Margareten"]},
                                 geometry=[box(0, -1200, 900, 0)], crs="EPSG:32633")  # fmt: skip
    hot = gpd.GeoDataFrame(
        {"hotspot_id": [1]}, geometry=[box(100, -600, 400, -300)], crs="EPSG:32633"
    )
    fig = map_figure(
        lst, Affine(30, 0, 0, 0, -30, 0), hot, districts, ["5"], title="T", attribution="A"
    )
    rows = [{"rank": 1, "name": "Margareten", "hot_share": "60%"}]
    daily = [
        {
            "date": "2022-07-20",
            "tmax_c": 34.0,
            "tmin_c": 21.0,
            "felt_tmax_c": 36.4,
            "warning_level": 0,
        }
    ]
    import io

    png = io.BytesIO()
    fig.savefig(png, format="png")
    html = bulletin_html(title="T", headline="H", status_line="pending", map_png=png.getvalue(),
                         ranking_rows=rows, forecast_rows=daily, notes=["n"], instruction="i")  # fmt: skip
    text = html.decode()
    assert 'src="data:image/png;base64,' in text and "Margareten" in text
    assert "http://" not in text and "https://" not in text  # nothing to fetch: loads offline
    pdf = bulletin_pdf(map_fig=fig, title="T", headline="H", status_line="pending",
                       ranking_rows=rows, forecast_rows=daily, notes=["n"])  # fmt: skip
    assert pdf.startswith(b"%PDF")
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(
        b"/Type /Page>"
    ) >= 2 or (b"/Count 2" in pdf)
    assert b"/Subtype /Image" in pdf  # the LST map is embedded as an image
    streets = [{"rank": 1, "name": "Hot street", "zone_id": "s-001", "hot_share": "90%"}]
    with_streets = bulletin_pdf(map_fig=map_figure(lst, Affine(30, 0, 0, 0, -30, 0), hot, districts,
                                                   ["5"], title="T", attribution="A"),
                                title="T", headline="H", status_line="pending", ranking_rows=rows,
                                forecast_rows=daily, notes=["n"], street_rows=streets)  # fmt: skip
    assert b"/Count 3" in with_streets and b"/Count 2" in pdf  # a third page for the streets


def test_hotspot_rule_file_quantities_with_units(tmp_path: Path) -> None:
    from alerts.detect.heat_hotspots import load_hotspot_rule
    from core.errors import InvalidInputError

    rule = load_hotspot_rule()
    assert (rule.connectivity, rule.merge_gap_m, rule.min_area_m2) == (8, 100.0, 50000.0)
    assert "5 ha" in rule.describe() and rule.version in rule.describe()
    bad = tmp_path / "bare.yaml"
    bad.write_text('version: "x"\nconnectivity: 8\nmerge_gap: "30 m"\nmin_area: 10000\n')
    with pytest.raises(InvalidInputError, match="bare number"):
        load_hotspot_rule(bad)
    bad.write_text('version: "x"\nconnectivity: 6\nmerge_gap: "30 m"\nmin_area: "1 ha"\n')
    with pytest.raises(InvalidInputError, match="4 or 8"):
        load_hotspot_rule(bad)
    bad.write_text('version: "x"\nconnectivity: 8\nmerge_gap: "30 m"\nmin_areas: "1 ha"\n')
    with pytest.raises(InvalidInputError, match="unknown keys"):
        load_hotspot_rule(bad)
