"""A local stand-in of Vienna's open-data WFS (``https://data.wien.gv.at/daten/geo``).

``GET /daten/geo?service=WFS&request=GetFeature&version=1.1.0&typeName=ogdwien:<LAYER>
&srsName=EPSG:4326|EPSG:31256&outputFormat=json`` answers GeoServer's GeoJSON (``totalFeatures``,
``numberMatched``, ``crs`` as ``urn:ogc:def:crs:EPSG::<code>``, feature ids ``<LAYER>.<n>``,
``geometry_name`` ``SHAPE``); without ``srsName`` the native EPSG:31256. An unknown typeName gets
GeoServer's ``ows:ExceptionReport``. Layers: ``BEZIRKSGRENZEOGD`` and ``UBAHNOGD`` from the real
files in ``/work/shared/data/vienna/`` (the U-Bahn file also holds ``UBAHNHALTOGD`` stops, which
are left out), ``PARKANLAGEOGD`` in its real field layout built from the demo city's park polygons
(the shared park file holds points only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd

from tests.servers.http_base import FaultyHandler, ServerWithPlan

SHARED = Path("/work/shared/data/vienna")
DISTRICTS_FILE = SHARED / "BEZIRKSGRENZEOGD.json"
UBAHN_FILE = SHARED / "UBAHNOGD_UBAHNHALTOGD_2017.json"
NATIVE = 31256
PARK_FIELDS = (
    "OBJECTID",
    "ANL_NAME",
    "BEZIRK",
    "FLAECHE",
    "OEFF_ZEITEN",
    "SPIELEN_IM_PARK",
    "WASSER_IM_PARK",
    "HUNDE_IM_PARK",
    "TELEFON",
    "WEBLINK1",
    "SE_ANNO_CAD_DATA",
)


def _crs_code(collection: dict[str, Any]) -> int:
    name = str(collection.get("crs", {}).get("properties", {}).get("name", "EPSG::4326"))
    return int(name.rsplit(":", 1)[1])


def _frame(features: list[dict[str, Any]], epsg: int) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame.from_features(features, crs=f"EPSG:{epsg}")
    frame["__id"] = [f["id"] for f in features]
    return frame


def parks_layer() -> gpd.GeoDataFrame:
    """The demo city's parks as ``PARKANLAGEOGD`` rows (EPSG:32633), fields as the real layer's."""
    from eo.demo.geography import vienna_geography

    parks = vienna_geography().parks.reset_index(drop=True)
    rows = []
    for index, park in parks.iterrows():
        area = round(park.geometry.area)
        rows.append(
            {
                "__id": f"PARKANLAGEOGD.{1906430 + index}",
                "OBJECTID": 1906430 + index,
                "ANL_NAME": park["name"],
                "BEZIRK": int(park["district_id"]),
                "FLAECHE": f"{area:,} m²".replace(",", "."),  # the portal's "2.488 m²" style
                "OEFF_ZEITEN": "0:00-24:00",
                "SPIELEN_IM_PARK": "Ja",
                "WASSER_IM_PARK": "Nein",
                "HUNDE_IM_PARK": "Nein",
                "TELEFON": "01 4000 8042",
                "WEBLINK1": "http://www.wien.gv.at/umwelt/parks/anlagen/index.html",
                "SE_ANNO_CAD_DATA": None,
                "geometry": park.geometry,
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=parks.crs)


def wfs_layers() -> dict[str, gpd.GeoDataFrame]:
    """Every layer the server offers, by typeName (without the ``ogdwien:`` prefix)."""
    layers = {"PARKANLAGEOGD": parks_layer()}
    districts = json.loads(DISTRICTS_FILE.read_text(encoding="utf-8"))
    layers["BEZIRKSGRENZEOGD"] = _frame(districts["features"], _crs_code(districts))
    ubahn = json.loads(UBAHN_FILE.read_text(encoding="utf-8"))
    lines = [f for f in ubahn["features"] if str(f["id"]).startswith("UBAHNOGD.")]
    layers["UBAHNOGD"] = _frame(lines, _crs_code(ubahn))
    return layers


def feature_collection(frame: gpd.GeoDataFrame, epsg: int) -> dict[str, Any]:
    """GeoServer's GeoJSON of ``frame`` in EPSG:``epsg``."""
    frame = frame.to_crs(f"EPSG:{epsg}")
    features = []
    for _, row in frame.iterrows():
        props = {k: row[k] for k in frame.columns if k not in ("geometry", "__id")}
        props = {k: (None if v != v else v) for k, v in props.items()}  # NaN -> null
        features.append(
            {
                "type": "Feature",
                "id": row["__id"],
                "geometry": row.geometry.__geo_interface__,
                "geometry_name": "SHAPE",
                "properties": {
                    k: (v.item() if hasattr(v, "item") else v) for k, v in props.items()
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "totalFeatures": len(features),
        "numberMatched": len(features),
        "numberReturned": len(features),
        "timeStamp": "2023-12-02T14:22:27.251Z",
        "crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}},
    }


class WfsHandler(FaultyHandler):
    def serve(self, method: str, *, truncate: bool) -> int:
        parts = urlsplit(self.path)
        query = {k.lower(): v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path != "/daten/geo" or query.get("service", "").upper() != "WFS":
            return self._send(404, b"not found", "text/plain", truncate)
        layers: dict[str, gpd.GeoDataFrame] = self.server.settings["layers"]
        name = query.get("typename", "").removeprefix("ogdwien:")
        if query.get("request") != "GetFeature" or name not in layers:
            report = (
                '<?xml version="1.0" encoding="UTF-8"?><ows:ExceptionReport version="1.0.0" '
                'xmlns:ows="http://www.opengis.net/ows"><ows:Exception exceptionCode='
                '"InvalidParameterValue" locator="typeName"><ows:ExceptionText>Feature type '
                f"ogdwien:{name} unknown</ows:ExceptionText></ows:Exception></ows:ExceptionReport>"
            )
            return self._send(200, report.encode(), "application/xml", truncate)
        epsg = int(query.get("srsname", f"EPSG:{NATIVE}").rsplit(":", 1)[1])
        body = json.dumps(feature_collection(layers[name], epsg)).encode()
        self.server.settings.setdefault("served", []).append((name, epsg))
        return self._send(200, body, "application/json;charset=UTF-8", truncate)

    def _send(self, status: int, body: bytes, kind: str, truncate: bool) -> int:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        if truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body[: len(body) // 2] if truncate else body)
        return status


def start_wfs(layers: dict[str, gpd.GeoDataFrame]) -> ServerWithPlan:
    """Start the WFS stand-in on 127.0.0.1 (free port)."""
    return ServerWithPlan(WfsHandler, layers=layers).start()


def wfs_url(base_url: str, type_name: str, srs: str | None = "EPSG:4326") -> str:
    """The profile URL of one layer, in the form the Vienna profile uses."""
    url = (
        f"{base_url}/daten/geo?service=WFS&request=GetFeature&version=1.1.0"
        f"&typeName=ogdwien:{type_name}&outputFormat=json"
    )
    return f"{url}&srsName={srs}" if srs else url
