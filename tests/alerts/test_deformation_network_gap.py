"""A release in which every corridor segment lacks data: ONE DATA_GAP notice about the network.

As the parks layer's gap (flows.alerting.layer_gap_outcome): the operators get one notice for the
whole network (subject ``<profile>:all-segments``, reason ``every_segment``), not one per segment;
a rerun adds nothing, and the next release with data clears it (Cancel).
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import yaml
from shapely.geometry import LineString

from alerts.detect.deformation import EVERY_SEGMENT, network_subject
from alerts.outbox import commands as ops
from core.profile import PACKAGED_PROFILES, parse_profile
from eo.insar import find_releases
from flows.deformation import DeformationInputs, run_releases
from indices.deformation import segment_corridors

X0, Y0 = 4.79e6, 2.8e6
START, END = date(2018, 1, 1), date(2023, 12, 31)


def _egms(folder: Path, years: tuple[int, int], per_segment: int) -> None:
    """An ascending EGMS L2b CSV with ``per_segment`` coherent points on each 100 m segment."""
    xs = [100.0 * s + 10.0 + 80.0 * i / per_segment for s in range(3) for i in range(per_segment)]
    days = pd.date_range(f"{years[0]}-01-06", f"{years[1]}-12-28", freq="12D")
    t = (days - days[0]).days.to_numpy() / 365.25
    rng = np.random.default_rng(years[0])
    frame = pd.DataFrame({"pid": [f"p{i}" for i in range(len(xs))], "easting": X0 + np.array(xs),
                          "northing": Y0 + 3.0, "temporal_coherence": 0.9, "mean_velocity": -1.0,
                          "los_east": -0.6, "los_north": -0.1, "los_up": 0.79,
                          "incidence_angle": 38.0})  # fmt: skip
    series = {
        day.strftime("%Y%m%d"): -1.0 * ti + rng.normal(0, 0.3, len(xs))
        for day, ti in zip(days, t, strict=True)
    }
    frame = pd.concat([frame, pd.DataFrame(series)], axis=1)
    frame.to_csv(folder / f"EGMS_L2b_073_0001_IW2_VV_{years[0]}_{years[1]}_1.csv", index=False)


def _inputs(tmp_path: Path, src: Path) -> DeformationInputs:
    doc: dict[str, Any] = copy.deepcopy(
        yaml.safe_load((PACKAGED_PROFILES / "vienna-demo.yaml").read_text("utf-8"))
    )
    doc["deformation"]["source"] = str(src)
    doc["sinks"] = [{"kind": "files", "name": "operators", "path": str(tmp_path / "operators"),
                     "accepts": {"kinds": ["notice", "digest"]}}]  # fmt: skip
    profile = parse_profile(doc, base_dir=tmp_path, source="test profile")
    assert profile.deformation is not None
    line = gpd.GeoDataFrame({"cid": ["U3"], "name": ["U-Bahn U3"]},
                            geometry=[LineString([(X0, Y0), (X0 + 300, Y0)])], crs="EPSG:3035")  # fmt: skip
    segments = segment_corridors(line, id_field="cid", name_field="name")
    return DeformationInputs(profile, profile.deformation, segments, tuple(find_releases(src)))


def _notices(out: Path) -> list[dict[str, Any]]:
    """The DATA_GAP notices (digests left out), with their payloads."""
    return [
        ops.show(out, r["id"])
        for r in ops.list_revisions(out)
        if r["hazard"] == "notice" and not r["subject"].startswith("digest/")
    ]


def test_a_release_without_data_on_any_segment_is_one_network_notice(tmp_path: Path) -> None:
    src, out = tmp_path / "insar", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    _egms(src, (2017, 2021), per_segment=2)  # under the profile's 5 coherent points everywhere
    inputs = _inputs(tmp_path, src)
    subject = network_subject(inputs.profile.name)
    summary = run_releases(inputs, START, END, out)
    assert summary["all_data_gap_releases"] == 1 and summary["network_gap"] == "opened"
    (opened,) = _notices(out)  # one for the network, none per segment (3 segments)
    assert opened["subject"] == f"deformation/{subject}" and opened["msg_type"] == "Alert"
    assert opened["payload"]["payload"]["reasons"] == [EVERY_SEGMENT]
    assert f"({EVERY_SEGMENT})" in opened["payload"]["summary"]
    digests = [r for r in ops.list_revisions(out) if r["subject"].startswith("digest/")]
    assert len(digests) == 1

    before = ops.list_revisions(out)  # the next check skips the release: nothing new
    idle = run_releases(_inputs(tmp_path, src), START, END, out)
    assert idle["skipped"] == ["2017_2021"] and idle["revisions_queued"] == 0
    assert ops.list_revisions(out) == before

    _egms(src, (2018, 2022), per_segment=8)  # the next release sees every segment
    later = run_releases(_inputs(tmp_path, src), START, END, out)
    assert later["skipped"] == ["2017_2021"] and later["network_gap"] == "cleared"
    notices = _notices(out)
    assert [n["subject"] for n in notices] == [f"deformation/{subject}"] * 2
    assert notices[-1]["msg_type"] == "Cancel"
