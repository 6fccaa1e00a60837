"""The provider/collection table: everything geospace knows about each STAC collection it reads.

One entry per (provider, collection): the hosts that serve it, its assets under the canonical
band aliases used downstream (``red``, ``nir``, ``scl``...) with each asset's key as the provider
names it, data type, nodata and units, and the rule that turns digital numbers into physical
values (DESIGN section 3). :mod:`eo.scenes`, :mod:`eo.stac`, :mod:`eo.stac_load`,
:mod:`eo.sentinel2` and :mod:`eo.harmonise` read it; nothing else in ``eo`` names a provider, an
asset key or a scale. The shape follows odc-stac's ``stac_cfg`` (per collection: ``assets`` with
``data_type``, ``nodata``, ``units``, ``scale``, ``offset``, and ``aliases``);
:meth:`CollectionSpec.odc_stac_config` writes it out in exactly that form.

Scale/offset rules
------------------
``"s2-c1"``: Earth Search ``sentinel-2-c1-l2a``: (DN - 1000) / 10000 for every item.
``"s2-baseline"``: Planetary Computer ``sentinel-2-l2a``: (DN - 1000) / 10000 from processing
baseline 04.00, else DN / 10000.
``"s2-baseline-flag"``: Earth Search ``sentinel-2-l2a`` (legacy): as ``s2-baseline`` but DN / 10000
where ``earthsearch:boa_offset_applied`` is true; the flag lies on some items, so the loader
checks the pixels of items with baseline >= 04.00 (``pixel_check``).
``"linear"``: a fixed ``scale`` and ``offset`` per asset (Landsat C2 L2 surface temperature;
ECOSTRESS L2T LSTE, whose LST is already float32 kelvin: scale 1, offset 0).

Asset keys by suffix
--------------------
NASA's CMR-STAC (LP DAAC) keys each asset by its file name (``ECOv002_L2T_LSTE_..._LST``, and an
``s3_``-prefixed twin for in-region S3 access); ``asset_key_suffix=True`` says so: the asset of
alias ``LST`` is the one whose key ends in ``_LST`` (the ``s3_`` twins are never read).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from core.errors import InvalidInputError

ScaleRule = Literal["s2-c1", "s2-baseline", "s2-baseline-flag", "linear"]
Role = Literal["reflectance", "classification", "temperature", "quality"]


@dataclass(frozen=True)
class AssetSpec:
    """One asset of a collection, under its canonical alias.

    Attributes
    ----------
    key : str
        Asset key in the provider's items (``"B04"`` on Planetary Computer, ``"red"`` on Earth Search).
    role : str
        ``"reflectance"``, ``"classification"`` (SCL codes), ``"temperature"`` or ``"quality"``
        (bit flags).
    data_type : str
        Data type of the stored digital numbers (numpy name).
    nodata : int or float
        Fill value of the digital numbers (NaN for float rasters such as ECOSTRESS LST).
    units : str
        Units after scaling (``"1"`` for reflectance and class codes, ``"K"``).
    scale, offset : float
        Physical value = DN * scale + offset where the collection's rule is ``"linear"``; for the
        Sentinel-2 rules ``scale`` is 1/10000 and the offset is decided per item.
    """

    key: str
    role: Role
    data_type: str = "uint16"
    nodata: int | float = 0
    units: str = "1"
    scale: float = 1.0
    offset: float = 0.0


@dataclass(frozen=True)
class CollectionSpec:
    """One collection of one provider: hosts, assets by alias, and the DN scaling rule."""

    provider: str
    collection: str
    hosts: tuple[str, ...]
    assets: Mapping[str, AssetSpec]
    scale_rule: ScaleRule
    pixel_check: bool = False
    notes: str = ""
    signed_hrefs: bool = False
    properties: Mapping[str, str] = field(default_factory=dict)
    asset_key_suffix: bool = False
    resolution_m: float | None = None  # native pixel size of the analysis product, when fixed

    def asset(self, alias: str) -> AssetSpec:
        """The asset under ``alias``; InvalidInputError naming the known aliases otherwise."""
        try:
            return self.assets[alias]
        except KeyError:
            raise InvalidInputError(
                f"{self.provider} {self.collection!r} has no band {alias!r}; known bands: "
                f"{', '.join(self.assets)}"
            ) from None

    def keys(self, aliases: list[str] | tuple[str, ...]) -> list[str]:
        """Asset keys of ``aliases``, in order."""
        return [self.asset(a).key for a in aliases]

    def alias_of(self, key: str) -> str:
        """Canonical alias of the provider's asset ``key``."""
        for alias, spec in self.assets.items():
            if spec.key == key:
                return alias
        raise InvalidInputError(
            f"{self.provider} {self.collection!r} has no asset key {key!r}; known keys: "
            f"{', '.join(s.key for s in self.assets.values())}"
        )

    def aliases(self, role: Role) -> tuple[str, ...]:
        """Aliases of the assets with ``role``, in table order."""
        return tuple(a for a, s in self.assets.items() if s.role == role)

    def odc_stac_config(self) -> dict[str, Any]:
        """This entry as odc-stac's ``stac_cfg`` (``{collection: {"assets": ..., "aliases": ...}}``)."""
        return {
            self.collection: {
                "assets": {
                    s.key: {
                        "data_type": s.data_type,
                        "nodata": s.nodata,
                        "unit": s.units,
                        "scale": s.scale,
                        "offset": s.offset,
                    }
                    for s in self.assets.values()
                },
                "aliases": {alias: s.key for alias, s in self.assets.items() if alias != s.key},
            }
        }


_S2_SCALE = 1.0 / 10000.0
_S2_BANDS = (
    ("coastal", "B01"),
    ("blue", "B02"),
    ("green", "B03"),
    ("red", "B04"),
    ("rededge1", "B05"),
    ("rededge2", "B06"),
    ("rededge3", "B07"),
    ("nir", "B08"),
    ("nir08", "B8A"),
    ("nir09", "B09"),
    ("swir16", "B11"),
    ("swir22", "B12"),
)


def _s2_assets(band_ids: bool) -> Mapping[str, AssetSpec]:
    """Sentinel-2 L2A assets: common-name keys (Earth Search) or band ids (Planetary Computer)."""
    assets = {
        alias: AssetSpec(key=band if band_ids else alias, role="reflectance", scale=_S2_SCALE)
        for alias, band in _S2_BANDS
    }
    assets["scl"] = AssetSpec(
        key="SCL" if band_ids else "scl", role="classification", data_type="uint8"
    )
    return MappingProxyType(assets)


_EARTH_SEARCH_HOSTS = (
    "earth-search.aws.element84.com",
    "sentinel-cogs.s3.us-west-2.amazonaws.com",
    "e84-earth-search-sentinel-data.s3.us-west-2.amazonaws.com",
)
_SENTINEL_HUB_HOSTS = (
    "sh.dataspace.copernicus.eu",
    "identity.dataspace.copernicus.eu",
    "services.sentinel-hub.com",
)
_LP_DAAC_HOSTS = (
    "cmr.earthdata.nasa.gov",
    "data.lpdaac.earthdatacloud.nasa.gov",
    "urs.earthdata.nasa.gov",
)
_PLANETARY_COMPUTER_HOSTS = (
    "planetarycomputer.microsoft.com",
    "sentinel2l2a01.blob.core.windows.net",
    "landsateuwest.blob.core.windows.net",
)

COLLECTIONS: Mapping[tuple[str, str], CollectionSpec] = MappingProxyType(
    {
        (spec.provider, spec.collection): spec
        for spec in (
            CollectionSpec(
                provider="earth-search",
                collection="sentinel-2-c1-l2a",
                hosts=_EARTH_SEARCH_HOSTS,
                assets=_s2_assets(band_ids=False),
                scale_rule="s2-c1",
                notes="Element84's Collection 1 reprocessing: every item baseline >= 05.00",
            ),
            CollectionSpec(
                provider="earth-search",
                collection="sentinel-2-l2a",
                hosts=_EARTH_SEARCH_HOSTS,
                assets=_s2_assets(band_ids=False),
                scale_rule="s2-baseline-flag",
                pixel_check=True,
                notes="legacy: earthsearch:boa_offset_applied is wrong on some items; "
                "raster:bands offsets ignored",
            ),
            CollectionSpec(
                provider="planetary-computer",
                collection="sentinel-2-l2a",
                hosts=_PLANETARY_COMPUTER_HOSTS,
                assets=_s2_assets(band_ids=True),
                scale_rule="s2-baseline",
                signed_hrefs=True,
                notes="unharmonised DN: the offset is in the DN from baseline 04.00",
            ),
            CollectionSpec(
                provider="sentinelhub",
                collection="sentinel-2-l2a",
                hosts=_SENTINEL_HUB_HOSTS,
                assets=_s2_assets(band_ids=True),
                scale_rule="s2-baseline",
                notes="Sentinel Hub / Copernicus Data Space Process API (eo/sentinelhub.py): DN "
                "requested with harmonizeValues=false, so the offset is in the DN from baseline "
                "04.00 and negative reflectance is kept",
            ),
            CollectionSpec(
                provider="planetary-computer",
                collection="landsat-c2-l2",
                hosts=_PLANETARY_COMPUTER_HOSTS,
                assets=MappingProxyType(
                    {
                        "lwir11": AssetSpec(
                            key="lwir11",
                            role="temperature",
                            units="K",
                            scale=0.00341802,
                            offset=149.0,
                        ),
                        "qa_pixel": AssetSpec(key="qa_pixel", role="quality", nodata=1),
                    }
                ),
                scale_rule="linear",
                signed_hrefs=True,
                resolution_m=30.0,
                notes="USGS LSDS-1619: ST_B10 (asset lwir11) K = DN * 0.00341802 + 149.0",
            ),
            CollectionSpec(
                provider="lp-daac",
                collection="ECO_L2T_LSTE_002",
                hosts=_LP_DAAC_HOSTS,
                assets=MappingProxyType(
                    {
                        "LST": AssetSpec(
                            key="LST",
                            role="temperature",
                            data_type="float32",
                            nodata=float("nan"),
                            units="K",
                        ),
                        "QC": AssetSpec(key="QC", role="quality", nodata=65535),
                        "cloud": AssetSpec(
                            key="cloud", role="quality", data_type="uint8", nodata=255
                        ),
                        "water": AssetSpec(
                            key="water", role="quality", data_type="uint8", nodata=255
                        ),
                    }
                ),
                scale_rule="linear",
                asset_key_suffix=True,
                resolution_m=70.0,
                notes="ECOSTRESS tiled LST&E v002 (LP DAAC, CMR-STAC LPCLOUD; Earthdata Login): "
                "70 m COGs on MGRS-based UTM tiles, LST float32 kelvin with NaN fill; QC bits 0-1 "
                "mandatory QA (00 best, 01 nominal, 10 cloud, 11 not produced); cloud 1 = cloud; "
                "water 1 = water",
            ),
        )
    }
)
"""Every (provider, collection) geospace reads."""


def providers() -> tuple[str, ...]:
    """Known provider names, sorted."""
    return tuple(sorted({p for p, _ in COLLECTIONS}))


def collection_spec(provider: str, collection: str) -> CollectionSpec:
    """The table entry of ``provider``/``collection``.

    Raises
    ------
    InvalidInputError
        The pair is not in the table; the message lists the known pairs.
    """
    spec = COLLECTIONS.get((provider, collection))
    if spec is None:
        known = ", ".join(f"{p}: {c}" for p, c in sorted(COLLECTIONS))
        raise InvalidInputError(
            f"unknown STAC source provider={provider!r} collection={collection!r}; known: {known}; "
            "fix the source entry (sources.*.provider/collection) of the profile"
        )
    return spec


def provider_of_hosts(text: str) -> str | None:
    """The provider one of whose hosts appears in ``text`` (e.g. items' link hrefs), or None."""
    for (provider, _), spec in sorted(COLLECTIONS.items()):
        if any(host in text for host in spec.hosts):
            return provider
    return None
