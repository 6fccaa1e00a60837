"""A small output folder of the three products, written by hand (no flow), for the dashboard tests.

Two vegetation windows (the dashboard shows the later), one heat issue day, one deformation
release, and the stored map context, all near Vienna's centre in WGS84. The figures are the
test's own; the tests compare the page with them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
from shapely.geometry import LineString, box

from alerts.products.context import MapContext, write_context

LON, LAT = 16.37, 48.205
D = 0.002  # about 150 m east-west, 220 m north-south


def _square(i: float, j: float, size: float = 1.0) -> Any:
    return box(LON + i * D, LAT + j * D, LON + (i + size) * D, LAT + (j + size) * D)


def _collection(features: list[dict[str, Any]], **extra: Any) -> str:
    return json.dumps({"type": "FeatureCollection", **extra, "features": features})


def _feature(geom: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geom.__geo_interface__}


def _park(pid: str, name: str, cls: int | None, rank: int | None, geom: Any) -> dict[str, Any]:
    return _feature(
        geom,
        park_id=pid,
        name=name,
        status="DATA_GAP" if cls is None else "OK",
        priority_class=cls,
        rank=rank,
        why="moisture (NDMI) 0.30 below the median" if cls else "not enough clear sky",
        ndvi_anomaly=None if cls is None else -0.25,
        ndmi_anomaly=None if cls is None else -0.30,
        clear_fraction=0.2 if cls is None else 1.0,
    )


def write_products(out: Path) -> dict[str, Any]:
    """Write the folder; returns what the tests expect to see."""
    early = out / "vegetation" / "2022-08-16"
    late = out / "vegetation" / "2022-08-30"
    for folder in (early, late):
        folder.mkdir(parents=True)
    (early / "irrigation_priority.geojson").write_text(
        _collection([_park("old-park", "Old Park", 2, 1, _square(0, 0))])
    )
    (early / "manifest.json").write_text(
        json.dumps({"period": {"start": "2022-08-03", "end": "2022-08-16"}})
    )
    (late / "irrigation_priority.geojson").write_text(
        _collection(
            [
                _park("rosengarten", "Rosengarten", 1, 1, _square(0, 0)),
                _park("lindenhof", "Lindenhof", 4, 2, _square(2, 0)),
                _park("nebelwiese", "Nebelwiese", None, None, _square(0, 2)),
            ]
        )
    )
    (late / "irrigation_priority.html").write_text("<!DOCTYPE html><title>map</title>")
    (late / "manifest.json").write_text(
        json.dumps({"period": {"start": "2022-08-17", "end": "2022-08-30"}})
    )
    (late / ".irrigation_priority.csv.123-abc.tmp").write_text("partial")
    heat = out / "heat" / "2022-07-19"
    heat.mkdir(parents=True)
    (heat / "hotspots.geojson").write_text(_collection([_feature(_square(5, 5, 0.5), zone=1)]))
    (heat / "districts.csv").write_text(
        "zone_id,status,lst_median_c,suhi_k,hot_share,exposed_65_plus,rank,name\n"
        "5,OK,37.1,9.8,0.98,7708,1,Margareten\n6,OK,33.0,5.1,0.10,120,2,Mariahilf\n"
    )
    (heat / "manifest.json").write_text(
        json.dumps(
            {
                "product": "heat",
                "issued": "2022-07-19T06:00:00",
                "bulletin_districts": ["5"],
                "forecast": {"heatwave": ["2022-07-20", "2022-07-24"]},
            }
        )
    )
    release = out / "deformation" / "2019_2023"
    release.mkdir(parents=True)
    line = [(LON - 4 * D, LAT - 3 * D), (LON + 8 * D, LAT - 3 * D)]
    segments = [
        ("U9-001", "warning", -6.0, LineString([line[0], (LON, LAT - 3 * D)])),
        ("U9-002", "none", 0.5, LineString([(LON, LAT - 3 * D), (LON + 4 * D, LAT - 3 * D)])),
        ("U9-003", "DATA_GAP", None, LineString([(LON + 4 * D, LAT - 3 * D), line[1]])),
    ]
    (release / "corridor_segments.geojson").write_text(
        _collection(
            [
                _feature(
                    g,
                    segment_id=s,
                    line_name="U-Bahn U9",
                    alert=a,
                    vertical_velocity=v,
                    velocity_sigma=0.4,
                    n_coherent=12 if v is not None else 1,
                    chainage_from_m=100.0 * i,
                    chainage_to_m=100.0 * (i + 1),
                    status="DATA_GAP" if v is None else "OK",
                )
                for i, (s, a, v, g) in enumerate(segments)
            ]
        )
    )
    (release / "manifest.json").write_text(
        json.dumps(
            {
                "release": "2019_2023",
                "created": "2026-01-02T03:04:05+00:00",
                "segments": {"count": 3, "by_alert": {"warning": 1, "none": 1, "DATA_GAP": 1}},
            }
        )
    )
    districts = gpd.GeoDataFrame(
        {"id": ["5", "6"], "name": ["Margareten", "Mariahilf"]},
        geometry=[_square(-4, -4, 8), _square(4, -4, 8)],
        crs="EPSG:4326",
    )
    water = gpd.GeoDataFrame(
        {"id": ["Donau"], "name": ["Donau"]}, geometry=[_square(-4, 5, 12)], crs="EPSG:4326"
    )
    corridors = gpd.GeoDataFrame(
        {"id": ["U9"], "name": ["U-Bahn U9"]}, geometry=[LineString(line)], crs="EPSG:4326"
    )
    write_context(out, MapContext(districts=districts, water=water, corridors=corridors))
    return {
        "parks": {"rosengarten", "lindenhof", "nebelwiese"},
        "segments": {"U9-001", "U9-002", "U9-003"},
        "districts": {"5", "6"},
    }


def revisions() -> list[dict[str, Any]]:
    """Outbox revisions as ``geospace alerts list --json`` gives them, notices with payloads."""

    def rev(
        i: int,
        key: str,
        hazard: str,
        subject: str,
        status: str,
        msg: str = "Alert",
        number: int = 1,
        **payload: Any,
    ) -> dict[str, Any]:
        row = {
            "id": i,
            "alert_key": key,
            "message_key": f"m{i}",
            "revision": number,
            "hazard": hazard,
            "subject": subject,
            "level": 3,
            "msg_type": msg,
            "status": status,
            "approved_by": None,
            "approved_at": None,
        }
        if payload:
            row["payload"] = payload
        return row

    gap = {
        "subject_name": "Nebelwiese",
        "payload": {
            "notice": "data_gap",
            "about_hazard": "irrigation",
            "reasons": ["few_clear_dates"],
            "window_start": "2022-08-17T00:00:00",
        },
    }
    return [
        rev(1, "a", "irrigation", "rosengarten", "sent"),
        rev(2, "a", "irrigation", "rosengarten", "sent", "Cancel", 2),  # closed
        rev(3, "b", "heat", "demo:heat-bulletin", "pending_approval", subject_name="Vienna heat"),
        rev(4, "c", "deformation", "U9-001", "dead"),
        rev(5, "d", "deformation", "U9-002", "queued"),
        rev(6, "e", "notice", "irrigation/nebelwiese", "sent", **gap),
        rev(7, "f", "notice", "irrigation/old-park", "sent", **gap),
        rev(8, "f", "notice", "irrigation/old-park", "sent", "Cancel", 2, **gap),  # gap cleared
        rev(9, "g", "notice", "digest/irrigation/demo", "sent", payload={"notice": "digest"}),
        rev(10, "h", "irrigation", "lindenhof", "rejected"),
        rev(11, "i", "notice", "heat/approval/b", "sent"),  # told, done
        rev(12, "j", "notice", "delivery/m4", "queued"),  # a notice not yet delivered
    ]
