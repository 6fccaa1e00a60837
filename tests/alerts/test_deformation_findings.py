"""Deformation findings per release -> the deformation rule: watch vs warning, distortion, gaps."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString

from alerts.decide.policy import load_policy
from alerts.decide.rules import Action, decide
from alerts.detect.deformation import (
    ReleaseEvaluation,
    deformation_findings,
    distortion_findings,
    segment_subjects,
)
from alerts.model import Finding
from indices.deformation import SegmentRules

RULES = SegmentRules()
NOW = datetime(2024, 6, 1, tzinfo=UTC)


def _evaluation(first_year: int, rows: list[dict]) -> ReleaseEvaluation:
    base = {"corridor_id": "U3", "line_name": "U-Bahn U3", "n_points": 20, "n_coherent": 18,
            "velocity_sigma": 0.2, "angular_distortion": 1e-4, "status": "OK", "gate": "none",
            "vertical_velocity": 0.0}  # fmt: skip
    frame = pd.DataFrame([{**base, **r} for r in rows])
    frame["chainage_from_m"] = [100.0 * i for i in range(len(frame))]
    frame["chainage_to_m"] = frame["chainage_from_m"] + 100.0
    geoms = [
        LineString([(4.79e6 + c, 2.8e6), (4.79e6 + c + 100, 2.8e6)])
        for c in frame["chainage_from_m"]
    ]
    return ReleaseEvaluation(
        release=f"{first_year}_{first_year + 4}",
        window_start=date(first_year, 1, 3),
        window_end=date(first_year + 4, 12, 28),
        segments=gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:3035"),
        series={},
        sources=(f"EGMS_L2b_073_0001_IW2_VV_{first_year}_{first_year + 4}_1.csv",),
        points=100,
    )


ROWS = [
    {"segment_id": "U3-001", "gate": "watch", "vertical_velocity": -3.0},
    {"segment_id": "U3-002", "gate": "warning", "vertical_velocity": -6.5},
    {"segment_id": "U3-003", "gate": "warning", "vertical_velocity": -10.0},
    {"segment_id": "U3-004", "status": "DATA_GAP", "n_points": 4, "n_coherent": 3,
     "vertical_velocity": math.nan, "angular_distortion": math.nan},
    {"segment_id": "U3-005", "angular_distortion": 1 / 500},
    {"segment_id": "U3-006", "angular_distortion": 1 / 150},
]  # fmt: skip


def test_finding_levels_values_and_windows() -> None:
    found = {f.subject_id: f for f in deformation_findings(_evaluation(2018, ROWS), RULES)}
    assert [found[s].level for s in ("U3-001", "U3-002", "U3-003", "U3-004")] == [2, 3, 4, 0]
    assert found["U3-002"].value == -6.5 and found["U3-002"].units == "mm yr-1"
    assert found["U3-004"].status == "DATA_GAP" and math.isnan(found["U3-004"].value)
    assert found["U3-002"].coverage == 1.0  # 18 coherent points: at least 10
    assert found["U3-002"].window_start == datetime(2018, 1, 3, tzinfo=UTC)
    assert found["U3-002"].sources[0].endswith("2018_2022_1.csv")


def _decide(
    policy_name: str, subject: str, make: Callable[[ReleaseEvaluation, SegmentRules], list[Finding]]
) -> Action:
    policy = load_policy(policy_name)
    history = [f for year in (2018, 2019) for f in make(_evaluation(year, ROWS), RULES)]
    mine = [f for f in history if f.subject_id == subject]
    return decide(mine, None, None, policy, NOW).action


@pytest.mark.parametrize(
    ("subject", "expected"),
    [("U3-001", Action.NOTHING), ("U3-002", Action.OPEN), ("U3-003", Action.OPEN)],
)
def test_watch_opens_no_work_order_warning_does(subject: str, expected: Action) -> None:
    assert _decide("deformation", subject, deformation_findings) == expected


def test_one_release_alone_does_not_persist() -> None:
    policy = load_policy("deformation")
    once = [
        f for f in deformation_findings(_evaluation(2018, ROWS), RULES) if f.subject_id == "U3-002"
    ]
    assert decide(once, None, None, policy, NOW).action == Action.NOTHING


def _both(year: int, rows: list[dict]) -> list[Finding]:
    ev = _evaluation(year, rows)
    return [*deformation_findings(ev, RULES), *distortion_findings(ev, RULES)]


def test_angular_distortion_on_the_limits_opens_the_segments_work_order() -> None:
    found = {f.subject_id: f for f in distortion_findings(_evaluation(2018, ROWS), RULES)}
    assert "U3-004" not in found  # a DATA_GAP segment has no distortion finding
    assert found["U3-005"].level == 3 and found["U3-006"].level == 4
    assert found["U3-001"].level == 0
    policy = load_policy("deformation")
    assert [o.version for o in policy.also] == [load_policy("deformation_distortion").version]
    for subject, level in (("U3-005", 3), ("U3-006", 4), ("U3-001", 0)):
        history = [f for year in (2018, 2019) for f in _both(year, ROWS) if f.subject_id == subject]
        d = decide(history, None, None, policy, NOW)
        if level == 0:  # a watch and no distortion: nothing opens
            assert d.action == Action.NOTHING
            continue
        assert d.action == Action.OPEN and d.revision is not None and d.revision.level == level
        assert d.revision.hazard == "deformation" and d.revision.subject_id == subject
        # the work order says which figure raised it, not only the (quiet) velocity
        distortion = found[subject].value
        assert f"angular_distortion {distortion:.3g} 1 (level {level} from" in d.revision.summary
        (also,) = d.revision.payload["also_rated"]
        assert also["finding_kind"] == "angular_distortion" and also["level"] == level


def _queue(out: Path, year: int, rows: list[dict]) -> list:
    from alerts.decide.pipeline import apply_findings
    from alerts.outbox.store import open_store

    store = open_store(out)
    try:
        return apply_findings(
            store, _both(year, rows), load_policy("deformation"), now=NOW, sinks=["files"],
            subjects=segment_subjects(_evaluation(year, rows).segments),
        )  # fmt: skip
    finally:
        store.close()


def test_one_work_order_per_segment_raised_held_and_cleared_by_either_figure(
    tmp_path: Path,
) -> None:
    """A segment whose velocity and distortion both reach their limits holds one work order: the
    distortion keeps it open after the velocity falls, and it clears when neither holds."""
    from alerts.outbox import commands as ops

    both = {"segment_id": "U3-001", "gate": "warning", "vertical_velocity": -6.0,
            "angular_distortion": 1 / 400}  # fmt: skip
    only_distortion = {**both, "gate": "none", "vertical_velocity": -0.5}
    neither = {**only_distortion, "angular_distortion": 1e-4}
    outcomes = [_queue(tmp_path, 2018, [both]), _queue(tmp_path, 2019, [both])]
    assert [len(o) for o in outcomes] == [1, 1]  # one outcome per segment, not per figure
    assert [o[0].action for o in outcomes] == ["nothing", "open"]
    held = _queue(tmp_path, 2020, [only_distortion])[0]  # the velocity fell: new evidence only
    assert held.action == "revise" and "level 3" in held.reason  # the distortion holds level 3
    assert _queue(tmp_path, 2021, [neither])[0].action == "clear"
    revisions = [r for r in ops.list_revisions(tmp_path) if r["hazard"] == "deformation"]
    assert {r["subject"] for r in revisions} == {"U3-001"}
    assert len({r["alert_key"] for r in revisions}) == 1  # one event: opened, revised, cleared
    assert [r["revision"] for r in revisions] == [1, 2, 3]


def test_subjects_name_line_and_chainage() -> None:
    subjects = segment_subjects(_evaluation(2018, ROWS).segments)
    assert subjects["U3-002"].name == "U-Bahn U3, km 0.100-0.200 (U3-002)"
    assert set(subjects) == set(_evaluation(2018, ROWS).segments["segment_id"])  # one per segment
    lon, lat = subjects["U3-002"].geometry["coordinates"][0]  # type: ignore[index]
    assert 5 < lon < 30 and 40 < lat < 60


def test_coverage_counts_coherent_points_so_few_points_lower_the_certainty() -> None:
    from alerts.decide.rules import coverage_status
    from alerts.detect.deformation import deformation_policy, point_coverage
    from core.profile import DeformationConfig

    policy = deformation_policy(DeformationConfig(source="insar"))  # the profile's rule
    assert [point_coverage(n, RULES) for n in (4, 5, 7, 10, 40)] == [0.4, 0.5, 0.7, 1.0, 1.0]
    assert str(coverage_status(point_coverage(5, RULES), policy)) == "DEGRADED"
    assert str(coverage_status(point_coverage(10, RULES), policy)) == "OK"


def test_work_order_carries_the_engineers_figures_and_the_plot_link() -> None:
    """The Open311 form of a warning: figures (hand-written values) and the plot as media_url."""
    from urllib.parse import parse_qsl

    from alerts.formats.georeport import encode_form, service_request

    figures = {"acceleration": -0.8, "seasonal_amplitude": 1.5, "angular_distortion": 0.0025,
               "vertical_method": "asc+desc decomposition", "release": "2019_2023"}  # fmt: skip
    rows = [{**r, **figures} if r["segment_id"] == "U3-002" else r for r in ROWS]
    url = "https://maps.example.org/out/deformation/2019_2023/timeseries/U3-002.png"
    subjects = segment_subjects(_evaluation(2019, rows).segments, plots={"U3-002": url})
    assert "plot" not in subjects["U3-001"].links  # no plot given for it
    history = [
        f for year in (2018, 2019) for f in deformation_findings(_evaluation(year, rows), RULES)
        if f.subject_id == "U3-002"
    ]  # fmt: skip
    d = decide(history, None, None, load_policy("deformation"), NOW, subject=subjects["U3-002"])
    assert d.action == Action.OPEN and d.revision is not None
    details = d.revision.payload["details"]
    assert details["vertical_velocity"] == {
        "label": "vertical velocity (negative: subsidence)", "value": -6.5, "units": "mm/yr",
        "sigma": 0.2, "note": "asc+desc decomposition",
    }  # fmt: skip
    assert details["angular_distortion"]["note"] == "1/400; limits 1/500, 1/150"
    assert d.revision.payload["links"] == {"plot": url}
    form = service_request(d.revision, service_code="ground-movement")
    assert form["media_url"] == url
    assert form["attribute[vertical_velocity]"] == "-6.5"
    assert form["attribute[vertical_velocity_sigma]"] == "0.2"
    assert form["attribute[acceleration]"] == "-0.8"
    assert form["attribute[seasonal_amplitude]"] == "1.5"
    assert form["attribute[angular_distortion]"] == "0.0025"
    assert form["attribute[n_points]"] == "20" and form["attribute[n_coherent]"] == "18"
    assert form["attribute[chainage]"] == "km 0.100-0.200"
    assert form["attribute[line]"] == "U-Bahn U3"
    text = form["description"]
    for line in (
        "- line: U-Bahn U3",
        "- chainage: km 0.100-0.200",
        "- vertical velocity (negative: subsidence): -6.5 ± 0.2 mm/yr (asc+desc decomposition)",
        "- acceleration: -0.8 mm/yr²",
        "- seasonal amplitude: 1.5 mm",
        "- angular distortion: 0.0025 (1/400; limits 1/500, 1/150)",
        "- points joined: 20",
        "- coherent points: 18",
        "- EGMS release: 2019_2023",
        f"plot: {url}",
    ):
        assert line in text, text
    assert text.endswith(f"message_key {d.revision.message_key}")
    assert dict(parse_qsl(encode_form(form).decode("ascii")))["media_url"] == url
    # the Open311 sink builds the same form from the stored revision (the relay's message)
    from alerts.sinks.base import OutboundMessage
    from alerts.sinks.open311 import default_form

    rev = d.revision
    message = OutboundMessage(
        message_key=rev.message_key, alert_key=rev.alert_key, revision=rev.revision,
        hazard=rev.hazard, subject_id=rev.subject_id, level=rev.level, payload=rev.to_dict(),
    )  # fmt: skip
    assert default_form(message, "ground-movement") == form


def test_a_file_plot_link_is_named_but_not_sent_as_media_url() -> None:
    from alerts.formats.georeport import service_request

    link = "file:///srv/out/deformation/2019_2023/timeseries/U3-003.png"
    subjects = segment_subjects(_evaluation(2019, ROWS).segments, plots={"U3-003": link})
    history = [
        f for year in (2018, 2019) for f in deformation_findings(_evaluation(year, ROWS), RULES)
        if f.subject_id == "U3-003"
    ]  # fmt: skip
    d = decide(history, None, None, load_policy("deformation"), NOW, subject=subjects["U3-003"])
    assert d.revision is not None
    form = service_request(d.revision, service_code="ground-movement")
    assert "media_url" not in form and f"plot: {link}" in form["description"]
    assert "- acceleration: not measured" in form["description"]  # no figure in the frame
    assert "attribute[acceleration]" not in form


def test_plot_links_under_a_published_base_or_as_file_urls(tmp_path: Path) -> None:
    from alerts.products.deformation_release import plot_links, plot_name

    out = tmp_path / "out"
    folder = out / "deformation" / "2019_2023"
    written = {
        plot_name("U3-002"): folder / "timeseries" / "U3-002.png",
        plot_name("U6 west/001"): folder / plot_name("U6 west/001"),
        "manifest.json": folder / "manifest.json",
    }
    ids = ["U3-001", "U3-002", "U6 west/001"]
    published = plot_links(ids, written, out, "https://maps.example.org/geospace/")
    assert published["U3-002"] == (
        "https://maps.example.org/geospace/deformation/2019_2023/timeseries/U3-002.png"
    )
    assert "U3-001" not in published  # no plot written for it
    assert published["U6 west/001"].startswith("https://maps.example.org/geospace/deformation/")
    assert " " not in published["U6 west/001"]
    local = plot_links(ids, written, out)
    assert local["U3-002"] == (folder / "timeseries" / "U3-002.png").resolve().as_uri()


def test_watch_list_and_the_operators_digest() -> None:
    """Watched segments (and only they) are listed in the digest with line, chainage, v +- sigma."""
    from alerts.decide.notices import WATCH_IN_SUMMARY, digest_revision
    from alerts.detect.deformation import watch_list

    rows = [
        *ROWS,
        {"segment_id": "U3-007", "gate": "watch", "vertical_velocity": 2.6, "velocity_sigma": 0.5},
        {"segment_id": "U3-008", "gate": "watch", "vertical_velocity": -3.1,
         "distortion_class": "exceeds"},  # a distortion exceedance is a warning, not a watch
    ]  # fmt: skip
    watch = watch_list(_evaluation(2019, rows).segments, "2019_2023")
    assert [w["subject_id"] for w in watch] == ["U3-001", "U3-007"]
    first = watch[0]
    assert first["text"] == "U-Bahn U3, km 0.000-0.100 (U3-001): -3.0 ± 0.2 mm/yr"
    assert first["chainage"] == "km 0.000-0.100" and first["line"] == "U-Bahn U3"
    assert (first["vertical_velocity_mm_yr"], first["sigma_mm_yr"]) == (-3.0, 0.2)
    assert watch[1]["text"] == "U-Bahn U3, km 0.600-0.700 (U3-007): +2.6 ± 0.5 mm/yr"
    period = (datetime(2019, 1, 1, tzinfo=UTC), datetime(2023, 12, 31, tzinfo=UTC))
    kwargs = {"hazard": "deformation", "scope": "demo", "period": period, "work_orders": 0,
              "changes": {}, "open_gaps": [], "now": NOW}  # fmt: skip
    digest = digest_revision(**kwargs, watch=watch)  # type: ignore[arg-type]
    assert digest.payload["watch"] == watch
    assert digest.summary.endswith(
        "2 on watch (no work order): U-Bahn U3, km 0.000-0.100 (U3-001): -3.0 ± 0.2 mm/yr; "
        "U-Bahn U3, km 0.600-0.700 (U3-007): +2.6 ± 0.5 mm/yr."
    )
    plain = digest_revision(**kwargs)  # type: ignore[arg-type]
    assert "watch" not in plain.payload and "on watch" not in plain.summary
    assert plain.message_key == digest.message_key  # one digest per run and period
    many = [
        {"subject_id": f"S{i:03d}", "text": f"segment {i}"} for i in range(WATCH_IN_SUMMARY + 3)
    ]
    long = digest_revision(**kwargs, watch=many)  # type: ignore[arg-type]
    assert len(long.payload["watch"]) == WATCH_IN_SUMMARY + 3
    assert long.summary.endswith("; and 3 more (see payload watch).")


def _l3_file(folder: Path, component: str, velocity: float) -> Path:
    """An EGMS L3 (Ortho) CSV along a 200 m line: a point every 5 m, monthly for five years."""
    days = pd.date_range("2019-01-06", "2023-12-30", freq="30D")
    years = (days - days[0]).days.to_numpy() / 365.25
    xs = 4.79e6 + np.arange(0.0, 200.0, 5.0)
    frame = pd.DataFrame({"pid": [f"p{i}" for i in range(len(xs))], "easting": xs,
                          "northing": 2.8e6 + 3.0, "height": 170.0, "rmse": 1.0,
                          "mean_velocity": velocity, "mean_velocity_std": 0.1})  # fmt: skip
    for day, t in zip(days, years, strict=True):
        frame[day.strftime("%Y%m%d")] = velocity * t
    path = folder / f"EGMS_L3_E47N28_100km_{component}_2019_2023_1.csv"
    frame.to_csv(path, index=False)
    return path


def test_an_l3_release_gives_vertical_figures_and_leaves_east_west_out(tmp_path: Path) -> None:
    """EGMS L3: the vertical file is the vertical velocity as it is (no coherence column: taken as
    coherent); the east-west file says nothing about settlement and is not read as vertical."""
    from alerts.detect.deformation import evaluate_release
    from eo.insar import Release, read_release
    from indices.deformation import segment_corridors

    line = gpd.GeoDataFrame({"cid": ["U3"], "name": ["U-Bahn U3"]},
                            geometry=[LineString([(4.79e6, 2.8e6), (4.79e6 + 200, 2.8e6)])],
                            crs="EPSG:3035")  # fmt: skip
    segments = segment_corridors(line, id_field="cid", name_field="name")
    up, east = _l3_file(tmp_path, "U", -6.0), _l3_file(tmp_path, "E", 9.0)
    period = {"start": date(2019, 1, 1), "end": date(2023, 12, 31)}
    ev = evaluate_release(
        read_release(Release(2019, 2023, (up, east))), segments, RULES, {}, **period
    )
    figures = ev.segments.set_index("segment_id")
    assert figures["vertical_velocity"].tolist() == pytest.approx([-6.0, -6.0], abs=1e-6)
    assert figures["vertical_method"].eq("L3 vertical (EGMS)").all()
    assert figures["n_coherent"].sum() == 40 and (figures["status"] != "DATA_GAP").all()
    alone = evaluate_release(
        read_release(Release(2019, 2023, (east,))), segments, RULES, {}, **period
    )
    assert (alone.segments["status"] == "DATA_GAP").all() and alone.points == 0
