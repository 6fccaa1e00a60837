"""Acceptance of the parks-team product: the vegetation flow on the small demo city vs truth.json.

One season replay (``season_run``, tests/flows/conftest.py) is shared; two short extra runs check
a window holding only the all-cloud date and a period without any scene.
"""

from __future__ import annotations

import json
import warnings
from datetime import date, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import rasterio
import yaml
from PIL import Image

from core.errors import DuplicateItemWarning, OffsetFlagCorrectedWarning, OffsetUnverifiedWarning
from eo.demo.layout import DemoLayout
from indices.season import clear_sky_description
from tests.flows.conftest import SEASON_END, SEASON_START, ProfileFactory, SeasonRun

ATTRIBUTION = "Contains modified Copernicus Sentinel data 2019-2022"
POLICY = Path(__file__).resolve().parents[2] / "alerts" / "policies" / "irrigation_priority.yaml"


def _weekly_ends() -> list[str]:
    ends, day = [], SEASON_END
    while day >= SEASON_START:
        ends.append(str(day))
        day -= timedelta(days=7)
    return sorted(ends)


def _covers(window_end: str, day: str, days: int = 14) -> bool:
    end = date.fromisoformat(window_end)
    return end - timedelta(days=days - 1) <= date.fromisoformat(day) <= end


def test_season_writes_one_product_folder_per_week(season_run: SeasonRun) -> None:
    assert season_run.state.is_completed()
    assert season_run.state.name == "Completed"  # some windows had clear data: not DATA_GAP
    assert sorted(season_run.windows) == _weekly_ends()
    for folder in season_run.windows.values():
        names = {p.name for p in folder.iterdir()}
        assert {
            "irrigation_priority.geojson",
            "irrigation_priority.csv",
            "irrigation_priority.png",
            "irrigation_priority.html",
            "ndvi_anomaly.tif",
            "manifest.json",
        } <= names
        assert not [n for n in names if "tmp" in n.lower() or n.startswith(".")]


def test_stressed_parks_reach_class_1_or_2_by_season_end(
    season_run: SeasonRun, demo_truth: dict[str, Any]
) -> None:
    last = season_run.parks(str(SEASON_END))
    stressed = [s["park_id"] for s in demo_truth["stressed_parks"]]
    assert stressed
    for park in stressed:
        assert last[park]["status"] != "DATA_GAP", last[park]["why"]
        assert last[park]["priority_class"] in (1, 2), (park, last[park])


def test_unstressed_parks_never_reach_class_1(
    season_run: SeasonRun, demo_truth: dict[str, Any]
) -> None:
    controls = demo_truth["unstressed_parks"]
    assert controls
    urgent = [
        (end, park)
        for end in season_run.windows
        for park, props in season_run.parks(end).items()
        if park in controls and props["priority_class"] == 1
    ]
    assert urgent == []


def test_cloud_hidden_park_is_data_gap_in_every_window(
    season_run: SeasonRun, demo_truth: dict[str, Any]
) -> None:
    hidden = demo_truth["cloud_hidden_park"]["park_id"]
    for end in season_run.windows:
        props = season_run.parks(end)[hidden]
        assert props["status"] == "DATA_GAP", (end, props)
        assert props["priority_class"] is None and props["rank"] is None
        assert props["clear_fraction"] < 0.6, (end, props)  # a gap for cloud, not "fine"


def test_all_cloud_items_contribute_to_no_window(
    season_run: SeasonRun, demo_truth: dict[str, Any]
) -> None:
    cloudy = set(demo_truth["all_cloud_date"]["item_ids"])
    day = demo_truth["all_cloud_date"]["date"]
    touched = [end for end in season_run.windows if _covers(end, day)]
    assert touched  # the season has windows over the all-cloud date
    for end in season_run.windows:
        manifest = season_run.manifest(end)
        assert not cloudy & set(manifest["scene_ids"])
        assert not cloudy & set(manifest["processing_baselines"])


def test_window_with_only_the_all_cloud_date_is_all_data_gap(
    prefect_server: None, profile_copy: ProfileFactory, tmp_path: Path, demo_truth: dict[str, Any]
) -> None:
    """A 1-day window on the all-cloud date, its items loaded (no scene cloud filter): nothing clear."""
    from flows.vegetation import vegetation_flow

    day = date.fromisoformat(demo_truth["all_cloud_date"]["date"])
    profile = profile_copy(
        "one-day",
        **{"vegetation.window": "1 d", "sources.sentinel2.max_cloud_cover": "100 %"},
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # expected: the offset of a cloud-only item is unverified
        state = vegetation_flow(
            profile=str(profile), start=day, end=day, out_dir=str(tmp_path), return_state=True
        )
    assert state.is_completed() and state.name == "DATA_GAP"
    unverified = {
        str(w.message).split(":")[0] for w in caught if w.category is OffsetUnverifiedWarning
    }
    assert unverified <= {f"item {i}" for i in demo_truth["all_cloud_date"]["item_ids"]}
    folder = tmp_path / "vegetation" / str(day)
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert set(manifest["scene_ids"]) == set(demo_truth["all_cloud_date"]["item_ids"])
    parks = json.loads((folder / "irrigation_priority.geojson").read_text("utf-8"))["features"]
    assert parks
    for feature in parks:
        props = feature["properties"]
        assert props["status"] == "DATA_GAP"
        assert props["clear_fraction"] == 0.0 and props["clear_dates"] == 0, props


def test_wrongly_flagged_item_is_corrected_from_its_pixels(
    season_run: SeasonRun, demo_truth: dict[str, Any]
) -> None:
    wrong = demo_truth["wrong_flag_item"]
    assert wrong["flag_boa_offset_applied"] and wrong["offset_in_pixels"]
    windows = [end for end in season_run.windows if _covers(end, wrong["date"])]
    assert windows
    for end in windows:
        manifest = season_run.manifest(end)
        assert wrong["id"] in manifest["scene_ids"]
        entry = next(e for e in manifest["harmonisation"]["items"] if e["id"] == wrong["id"])
        assert entry["decided_by"] == "pixels"
        assert entry["offset_dn"] == 1000  # the BOA offset the pixels still carry
        assert manifest["harmonisation"]["n_corrected"] >= 1
    corrected = [w for w in season_run.warnings if w.category is OffsetFlagCorrectedWarning]
    assert any(wrong["id"] in str(w.message) for w in corrected)


def test_duplicate_is_dropped_and_listed(season_run: SeasonRun, demo_truth: dict[str, Any]) -> None:
    dup = demo_truth["duplicate"]
    windows = [end for end in season_run.windows if _covers(end, dup["date"])]
    assert windows
    for end in windows:
        manifest = season_run.manifest(end)
        assert dup["dropped"] in manifest["dropped_duplicates"]
        assert dup["kept"] in manifest["scene_ids"]
        assert dup["dropped"] not in manifest["scene_ids"]
    assert any(w.category is DuplicateItemWarning for w in season_run.warnings)


def _png_text(path: Path) -> str:
    with Image.open(path) as image:
        return " ".join(str(v) for v in image.info.values())


def test_every_product_carries_the_copernicus_attribution(season_run: SeasonRun) -> None:
    for folder in season_run.windows.values():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if path.suffix == ".tif":
                with rasterio.open(path) as src:
                    text = " ".join(src.tags().values())
            elif path.suffix == ".png":
                text = _png_text(path)
            else:
                text = path.read_text(encoding="utf-8-sig")
            assert ATTRIBUTION in text, path
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        assert manifest["attribution"] == ATTRIBUTION
        geojson = json.loads((folder / "irrigation_priority.geojson").read_text("utf-8"))
        assert geojson["attribution"] == ATTRIBUTION
        first = (folder / "irrigation_priority.csv").read_text("utf-8-sig").splitlines()[0]
        assert ATTRIBUTION in first


def _catalog_baselines(demo: DemoLayout) -> dict[str, str]:
    """Processing baseline of every Sentinel-2 item, read from the demo's STAC item files."""
    out = {}
    for path in Path(demo.stac).rglob("*.json"):
        doc = json.loads(path.read_text("utf-8"))
        if doc.get("type") == "Feature" and str(doc.get("collection", "")).startswith("sentinel-2"):
            out[doc["id"]] = doc["properties"]["s2:processing_baseline"]
    return out


def test_manifest_lists_scenes_baselines_masks_clear_fractions_and_versions(
    season_run: SeasonRun, demo_small: DemoLayout
) -> None:
    baselines = _catalog_baselines(demo_small)
    rule = yaml.safe_load(POLICY.read_text("utf-8"))["version"]
    manifest = season_run.manifest(str(SEASON_END))
    parks = season_run.parks(str(SEASON_END))
    used = [*manifest["scene_ids"], *manifest["reference_scene_ids"]]
    assert manifest["scene_ids"] and manifest["reference_scene_ids"]
    assert all(i.split("_")[2].startswith("2022") for i in manifest["scene_ids"])
    assert {i.split("_")[2][:4] for i in manifest["reference_scene_ids"]} <= {
        "2019",
        "2020",
        "2021",
    }
    assert manifest["processing_baselines"] == {i: baselines[i] for i in used}
    assert {e["id"] for e in manifest["harmonisation"]["items"]} == set(used)
    assert "SCL" in manifest["masks"]
    assert manifest["parks"]["clear_fractions"].keys() == parks.keys()
    for park, cf in manifest["parks"]["clear_fractions"].items():
        assert cf == pytest.approx(parks[park]["clear_fraction"])
    assert manifest["rule_version"] == rule
    # The installed package's version and the mask the ranking applied, never restated by hand.
    assert manifest["code_version"] == metadata.version("geospace")
    assert manifest["masks"] == clear_sky_description()
    assert manifest["period"] == {"start": "2022-08-17", "end": str(SEASON_END)}


def test_period_without_scenes_exits_0_with_every_park_data_gap(
    prefect_server: None,
    profile_copy: ProfileFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """May 2022: no scene at all (the demo's 2022 starts in June): a result, not an error."""
    from flows.cli import main

    out = tmp_path / "out"
    profile = profile_copy("may")
    argv = ["run", "vegetation", "--profile", str(profile), "--out", str(out)]
    rc = main([*argv, "--start", "2022-05-07", "--end", "2022-05-14"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "vegetation: DATA_GAP:" in captured.out  # the flow's final state name
    assert "every park is DATA_GAP" in captured.out
    folders = sorted((out / "vegetation").iterdir())
    assert [f.name for f in folders] == ["2022-05-07", "2022-05-14"]
    for folder in folders:
        features = json.loads((folder / "irrigation_priority.geojson").read_text("utf-8"))
        assert features["features"]
        assert {f["properties"]["status"] for f in features["features"]} == {"DATA_GAP"}
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        assert manifest["scene_ids"] == []
        assert manifest["attribution"].startswith("Contains modified Copernicus Sentinel data")
    assert _last_flow_state_name() == "DATA_GAP"


def test_a_cli_run_resolves_profile_aoi_and_parks_once(
    prefect_server: None,
    profile_copy: ProfileFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import flows.vegetation_inputs as resolution
    from flows.cli import main

    counts = dict.fromkeys(("load_profile", "load_aoi", "read_layer"), 0)

    def counting(name: str, real: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return real(*args, **kwargs)

        return wrapper

    for name in counts:
        monkeypatch.setattr(resolution, name, counting(name, getattr(resolution, name)))
    argv = ["run", "vegetation", "--profile", str(profile_copy("once")), "--out", str(tmp_path)]
    assert main([*argv, "--start", "2022-05-14", "--end", "2022-05-14"]) == 0
    assert counts == {"load_profile": 1, "load_aoi": 1, "read_layer": 1}


def _last_flow_state_name() -> str:
    """Name of the state of the most recent flow run on the Prefect server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=1)
    assert runs and runs[0].state is not None
    assert runs[0].state.is_completed()
    return str(runs[0].state.name)


def _irrigation_revisions(out: Path) -> list[dict[str, Any]]:
    from alerts.outbox import commands as ops

    return [r for r in ops.list_revisions(out) if r["hazard"] == "irrigation"]


def test_watered_park_work_order_opens_updates_and_clears(
    season_run: SeasonRun, demo_truth: dict[str, Any]
) -> None:
    revisions = _irrigation_revisions(season_run.out)
    (watered,) = [w["park_id"] for w in demo_truth["watered_parks"]]
    types = [r["msg_type"] for r in revisions if r["subject"] == watered]
    assert types[0] == "Alert" and types[-1] == "Cancel" and "Update" in types, types
    assert [r["revision"] for r in revisions if r["subject"] == watered] == list(
        range(1, len(types) + 1)
    )
    stressed = {s["park_id"] for s in demo_truth["stressed_parks"]}
    opened = {r["subject"] for r in revisions if r["msg_type"] == "Alert"}
    assert stressed <= opened  # every stressed park becomes a work order
    assert not opened & set(demo_truth["unstressed_parks"])  # no control park does
    assert not opened & {demo_truth["cloud_hidden_park"]["park_id"]}  # hidden is a gap, not "fine"


def test_rerunning_a_window_adds_no_revision(season_run: SeasonRun) -> None:
    from alerts.outbox import commands as ops
    from flows.vegetation import vegetation_flow

    before = ops.list_revisions(season_run.out)
    assert any(r["hazard"] == "notice" for r in before)  # DATA_GAP notices are revisions too
    last = max(season_run.windows)
    vegetation_flow(
        profile="vienna-demo",
        start=date.fromisoformat(last),
        end=date.fromisoformat(last),
        out_dir=str(season_run.out),
    )
    assert ops.list_revisions(season_run.out) == before


def test_parks_in_the_planted_heat_cluster_get_heat_exposure(
    season_run: SeasonRun, demo_small: DemoLayout, demo_truth: dict[str, Any]
) -> None:
    """The profile configures heat, so every window loads the clear LST of its lookback: a park
    mostly inside a planted hot disc gets h > 0, a park far from the cluster h = 0, and a window
    before the first Landsat scene says so (h empty, counted as 0)."""
    import geopandas as gpd
    from shapely.geometry import Point

    cluster = demo_truth["heat"]["landsat"]["hotspot_cluster"]
    discs = [Point(c).buffer(cluster["radius_m"]) for c in cluster["centres_xy"]]
    parks = gpd.read_file(Path(demo_small.root) / "layers" / "parks.geojson").to_crs(32633)
    inside, outside = [], []
    for pid, geom in zip(parks["park_id"].astype(str), parks.geometry, strict=True):
        if max(geom.intersection(d).area for d in discs) >= 0.5 * geom.area:
            inside.append(pid)
        elif min(geom.distance(d) for d in discs) > 1000:  # beyond the districts' +4 K as well
            outside.append(pid)
    assert inside and outside, (inside, outside)
    first_scene = min(s.split("_")[3] for s in demo_truth["heat"]["landsat"]["scenes"])
    seen = 0
    for end in sorted(season_run.windows):
        heat = season_run.manifest(end)["heat_exposure"]
        props = season_run.parks(end)
        if end.replace("-", "") < first_scene:
            assert heat["status"] == "no LST scene in the period" and not heat["scene_ids"]
            assert all(props[p]["heat_exposure"] is None for p in props)
            continue
        assert heat["status"] == "available" and heat["scene_ids"]
        seen += 1
        assert all(props[p]["heat_exposure"] > 0 for p in inside), end
        assert all(props[p]["heat_exposure"] == 0 for p in outside), end
    assert seen >= 1


def test_a_profile_without_heat_loads_no_lst(profile_copy: ProfileFactory, tmp_path: Path) -> None:
    from flows.vegetation_inputs import resolve_inputs
    from tests.flows.conftest import DELETE

    assert resolve_inputs(profile_copy("with-heat"), tmp_path).heat is not None
    assert resolve_inputs(profile_copy("no-heat", heat=DELETE), tmp_path).heat is None
