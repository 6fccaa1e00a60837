"""The city profile: one typed, validated YAML per city (AOI, grid, layers, sources, rules, sinks).

Profiles are passed explicitly (no module-level settings). Relative paths in a profile resolve
against its ``data_root``, which itself resolves against the profile file's folder, or, for the
profiles packaged with geospace (``vienna``, ``vienna-demo``), against the ``--out`` folder.
Quantities carry units (``"10 m"``, ``"80 %"``); a bare number is refused with the fix.
"""

from __future__ import annotations

import difflib
import math
import os
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from core.errors import InvalidInputError, ProfileError
from core.quantities import parse_quantity
from core.status import CoverageRule
from core.urls import redact_url, sink_url_problem

PACKAGED_PROFILES = Path(__file__).parent / "profiles"


def _quantity(unit: str) -> BeforeValidator:
    def convert(value: object) -> float:
        try:
            return parse_quantity(value, unit)
        except InvalidInputError as err:
            raise ValueError(str(err).removeprefix("value: ")) from err

    return BeforeValidator(convert)


Metres = Annotated[float, _quantity("m")]
Seconds = Annotated[float, _quantity("s")]
Days = Annotated[float, _quantity("d")]
Fraction = Annotated[float, _quantity("1")]
SquareKm = Annotated[float, _quantity("km2")]


def _within(
    low: float, high: float, *, unit: str, example: str, whole: bool = False
) -> AfterValidator:
    """A range check (``low <= value <= high``, finite) whose message gives the range and a fix."""

    def check(value: float) -> float:
        ok = math.isfinite(value) and low <= value <= high
        if ok and whole and value != int(value):
            ok = False
        if not ok:
            kind = "a whole number of " if whole else "a finite value in "
            raise ValueError(f"must be {kind}{low:g}..{high:g} {unit}; write e.g. '{example}'")
        return value

    return AfterValidator(check)


def _positive(*, unit: str, example: str) -> AfterValidator:
    """Strictly positive and finite."""

    def check(value: float) -> float:
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"must be a positive, finite number of {unit}; write e.g. '{example}'")
        return value

    return AfterValidator(check)


WindowDays = Annotated[Days, _within(1, 366, unit="d", example="14 d", whole=True)]
PositiveSeconds = Annotated[Seconds, _positive(unit="s", example="30 s")]
Share = Annotated[Fraction, _within(0, 1, unit="(0..100 %)", example="60 %")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AOIConfig(_Strict):
    """Area of interest: a GeoJSON file (WGS84, or with a declared ``crs``) and its caps."""

    path: str
    max_area: Annotated[SquareKm, _positive(unit="km2", example="2000 km2")] = Field(
        default=2000.0, description="largest AOI accepted, e.g. '2000 km2'"
    )
    max_vertices: int = Field(default=20000, gt=3)


class GridConfig(_Strict):
    """Output grid: projected CRS and resolution; edges snap to the Sentinel-2 pixel phase."""

    crs: str = "EPSG:32633"
    resolution: Annotated[Metres, _positive(unit="m", example="10 m")] = 10.0

    @field_validator("crs")
    @classmethod
    def _epsg(cls, value: str) -> str:
        head, _, code = value.partition(":")
        if head.upper() != "EPSG" or not code.isdigit():
            raise ValueError(f"{value!r} is not an 'EPSG:nnnn' code; write e.g. 'EPSG:32633'")
        return f"EPSG:{code}"


class LayerConfig(_Strict):
    """A vector layer from any OGR source (file or WFS URL) with declared id and name fields."""

    path: str
    id_field: str
    name_field: str | None = None


class TableConfig(_Strict):
    """A CSV table keyed by an id field (population by district)."""

    path: str
    id_field: str


class LayersConfig(_Strict):
    parks: LayerConfig
    districts: LayerConfig | None = None
    corridors: LayerConfig | None = None
    water: LayerConfig | None = None  # map context only (rivers, canals, lakes)
    population: TableConfig | None = None


PLANETARY_COMPUTER_SIGN_ENDPOINT = "https://planetarycomputer.microsoft.com/api/sas/v1"


class StacSourceConfig(_Strict):
    """A scene source: a STAC API URL (https), a local static catalogue path, or Sentinel Hub.

    ``provider: sentinelhub`` is the Sentinel Hub / Copernicus Data Space Process API
    (``eo/sentinelhub.py``): ``catalog`` is then the service base URL
    (``https://sh.dataspace.copernicus.eu`` or ``https://services.sentinel-hub.com``), ``token_url``
    its OAuth token URL, and the client id and secret come from the environment variables named by
    ``client_id_env``/``client_secret_env`` (never from this file). ``planetary-computer`` sources
    sign asset hrefs through ``sign_endpoint`` (default: the public Planetary Computer SAS API;
    an optional subscription key from the variable named by ``sign_key_env``).
    """

    provider: Literal["earth-search", "planetary-computer", "sentinelhub", "lp-daac"]
    collection: str
    catalog: str
    max_cloud_cover: Annotated[Fraction, _within(0, 1, unit="(0..100 %)", example="80 %")] = Field(
        default=0.8, description="loose scene filter, e.g. '80 %'"
    )
    sign_endpoint: str | None = None
    sign_key_env: str | None = None
    token_url: str | None = None
    client_id_env: str = "SH_CLIENT_ID"
    client_secret_env: str = "SH_CLIENT_SECRET"
    mosaicking_order: Literal["leastRecent", "mostRecent"] = "leastRecent"

    @model_validator(mode="after")
    def _provider_settings(self) -> StacSourceConfig:
        if self.provider == "sentinelhub" and not self.token_url:
            raise ValueError(
                "a sentinelhub source needs token_url; write e.g. 'https://identity.dataspace."
                "copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token' (Copernicus Data "
                "Space) or 'https://services.sentinel-hub.com/auth/realms/main/protocol/"
                "openid-connect/token' (Sentinel Hub)"
            )
        if self.provider != "sentinelhub" and self.token_url:
            raise ValueError(f"token_url is for provider sentinelhub only, not {self.provider}")
        if self.provider != "planetary-computer" and (self.sign_endpoint or self.sign_key_env):
            raise ValueError(
                f"sign_endpoint/sign_key_env are for provider planetary-computer only, not "
                f"{self.provider}"
            )
        return self

    def signing_endpoint(self) -> str | None:
        """The SAS API of a remote Planetary Computer source (None for unsigned sources)."""
        if self.provider != "planetary-computer" or "://" not in self.catalog:
            return None
        return self.sign_endpoint or PLANETARY_COMPUTER_SIGN_ENDPOINT


class SourcesConfig(_Strict):
    sentinel2: StacSourceConfig
    landsat: StacSourceConfig | None = None


class AllowlistConfig(_Strict):
    """Hosts allowed for catalogue roots and asset hrefs (https only), and local folders."""

    hosts: tuple[str, ...] = ()
    local_dirs: tuple[str, ...] = (".",)


class HttpConfig(_Strict):
    timeout: PositiveSeconds = 30.0
    retries: int = Field(default=5, ge=0, le=20)
    backoff_max: Annotated[Seconds, _within(0, 3600, unit="s", example="60 s")] = 60.0


class VegetationConfig(_Strict):
    """Weekly irrigation-priority evaluation (DESIGN sections 4 and 7)."""

    window: WindowDays = 14.0
    reference_window: WindowDays | None = Field(
        default=None,
        description="calendar window in the reference years, centred on the evaluation window "
        "(default: the same length); wider when the reference archive is sparse",
    )
    cadence: WindowDays = 7.0
    reference_years: tuple[int, ...] = (2019, 2020, 2021)
    min_reference_years: int = Field(default=3, ge=1)
    baseline_min_years: int = Field(
        default=2,
        ge=1,
        description="reference years that must have seen a pixel clear for its baseline",
    )
    min_clear_fraction: Fraction = Field(
        default=0.6, description="clear share of a park below which it is DATA_GAP, e.g. '60 %'"
    )
    ok_clear_fraction: Fraction = Field(
        default=0.9, description="clear share below which a park that is not a gap is DEGRADED"
    )
    min_clear_dates: int = Field(default=2, ge=1)
    stress_threshold: Annotated[
        Fraction, _within(-2, 2, unit="(index units)", example="-0.10 1")
    ] = -0.10
    season_start: str = "06-01"
    season_end: str = "08-31"
    language: Literal["en", "de"] = "en"
    policy: str = "irrigation_priority"

    @model_validator(mode="after")
    def _enough_years(self) -> VegetationConfig:
        if len(self.reference_years) < self.min_reference_years:
            raise ValueError(
                f"reference_years lists {len(self.reference_years)} years but min_reference_years "
                f"is {self.min_reference_years}; list at least that many years"
            )
        if self.reference_window is not None and self.reference_window < self.window:
            raise ValueError(
                f"reference_window {self.reference_window:g} d is shorter than window "
                f"{self.window:g} d; make it at least as long"
            )
        if not 0.0 <= self.min_clear_fraction <= self.ok_clear_fraction <= 1.0:
            raise ValueError(
                f"min_clear_fraction {self.min_clear_fraction:.0%} and ok_clear_fraction "
                f"{self.ok_clear_fraction:.0%} must satisfy 0 % <= min <= ok <= 100 %"
            )
        if self.baseline_min_years > len(self.reference_years):
            raise ValueError(
                f"baseline_min_years {self.baseline_min_years} exceeds the {len(self.reference_years)} "
                "reference years; lower it or list more years"
            )
        return self

    def coverage_rule(self) -> CoverageRule:
        """The park coverage rule (DATA_GAP / DEGRADED / OK): the one source of its numbers."""
        return CoverageRule(
            minimum=self.min_clear_fraction,
            degraded_below=self.ok_clear_fraction,
            min_dates=self.min_clear_dates,
        )


class DeliveryKind(StrEnum):
    """What kind of message a revision is, for routing (a sink's ``accepts.kinds``).

    ``work_order``: a maintenance ticket (irrigation, deformation); ``bulletin``: a public CAP
    bulletin (heat); ``notice``: an operator notice (DATA_GAP, dead row); ``digest``: the
    operators' summary of a run.
    """

    WORK_ORDER = "work_order"
    BULLETIN = "bulletin"
    NOTICE = "notice"
    DIGEST = "digest"


class SinkAccepts(_Strict):
    """Which revisions a sink takes: hazards (``irrigation``, ``heat``, ``deformation``; for
    notices and digests, the hazard they are about) and kinds; an omitted list takes all."""

    hazards: tuple[str, ...] | None = None
    kinds: tuple[DeliveryKind, ...] | None = None


MmPerYear = Annotated[float, _quantity("mm yr-1")]


class KnownEventConfig(_Strict):
    """Works or construction with a date: a step term for segments within ``radius`` of it."""

    name: str
    date: date
    lon: float = Field(ge=-180, le=180, description="WGS84 longitude of the site")
    lat: float = Field(ge=-90, le=90, description="WGS84 latitude of the site")
    radius: Annotated[Metres, _positive(unit="m", example="150 m")] = 150.0


DEFORMATION_DEGRADED_BELOW = 0.9
"""Share of a segment's full count of coherent points (twice ``min_points``) below which a segment
that is not a gap is DEGRADED (certainty one step lower): 5-8 points at the default 5."""


class DeformationConfig(_Strict):
    """Ground deformation along corridors from InSAR point releases (DESIGN section 4, issue 9).

    ``source`` is a folder of EGMS files (CSV or official zip, ascending and descending); a
    release is the ``YYYY_YYYY`` period in the file names, and each release is evaluated once.
    """

    source: str
    segment_length: Annotated[Metres, _positive(unit="m", example="100 m")] = 100.0
    buffer: Annotated[Metres, _positive(unit="m", example="30 m")] = 30.0
    min_points: int = Field(default=5, ge=1)
    min_coherence: Annotated[Fraction, _within(0, 1, unit="(coherence)", example="0.7 1")] = 0.7
    watch_velocity: Annotated[MmPerYear, _positive(unit="mm/yr", example="2 mm/yr")] = 2.0
    warning_velocity: Annotated[MmPerYear, _positive(unit="mm/yr", example="5 mm/yr")] = 5.0
    min_significance: float = Field(default=3.0, gt=0, description="|v| / sigma for a finding")
    bin_length: Annotated[Metres, _positive(unit="m", example="20 m")] = 20.0
    max_bin_distance: Annotated[Metres, _positive(unit="m", example="50 m")] = 50.0
    known_events: tuple[KnownEventConfig, ...] = ()
    products_url: str | None = Field(
        default=None,
        description="https URL where OUT is published: work orders link the plot as "
        "<products_url>/deformation/<release>/timeseries/<segment>.png (default: a file:// URL)",
    )

    @model_validator(mode="after")
    def _ordered(self) -> DeformationConfig:
        if self.products_url is not None and not self.products_url.startswith(
            ("https://", "http://")
        ):
            raise ValueError(
                f"products_url {self.products_url!r} is not an http(s) URL; give the https URL "
                "under which the output folder is published, or leave it out (file:// links)"
            )
        if self.warning_velocity < self.watch_velocity:
            raise ValueError(
                f"warning_velocity {self.warning_velocity:g} mm/yr is below watch_velocity "
                f"{self.watch_velocity:g} mm/yr; the warning must be the larger"
            )
        if self.bin_length > self.max_bin_distance:
            raise ValueError(
                f"bin_length {self.bin_length:g} m exceeds max_bin_distance "
                f"{self.max_bin_distance:g} m; make the bins at most that long"
            )
        return self

    def coverage_rule(self) -> CoverageRule:
        """The segment coverage rule (DATA_GAP / DEGRADED / OK): the one source of its numbers.

        Coverage is coherent points against twice ``min_points`` (full coverage; see
        ``alerts.detect.deformation.point_coverage``), so the minimum is ``min_points`` (the
        detector's gate, 50 %) and a segment under :data:`DEFORMATION_DEGRADED_BELOW` of the full
        count is DEGRADED. The work-order rules bind it (``alerts/policies/deformation.yaml``
        restates nothing) and the DATA_GAP "why" quotes it.
        """
        full = 2 * self.min_points
        return CoverageRule(
            minimum=self.min_points / full,
            degraded_below=DEFORMATION_DEGRADED_BELOW,
            counted="coherent points",
            full_count=full,
        )


class SinkConfig(_Strict):
    """One delivery sink; secrets come from the environment variables it names, never the file.

    ``name`` (default: the kind) keys the sink's outbox rows. Options by kind: ``files`` ``path``;
    ``webhook`` ``url``, ``token_env``; ``rabbitmq`` ``url_env`` (AMQP URL with credentials);
    ``redis`` ``stream``, ``url_env``; ``open311`` ``url`` (endpoint), ``api_key_env``,
    ``jurisdiction_env``, ``service_code``. ``accepts`` routes revisions to the sink (default:
    everything); only sinks that accept a revision get an outbox row for it.
    """

    kind: Literal["files", "webhook", "rabbitmq", "redis", "open311"]
    name: str | None = None
    path: str | None = None
    url: str | None = None
    url_env: str | None = None
    token_env: str | None = None
    stream: str | None = None
    api_key_env: str | None = None
    jurisdiction_env: str | None = None
    service_code: str | None = None
    accepts: SinkAccepts = SinkAccepts()

    @property
    def key(self) -> str:
        """The sink's name in the outbox."""
        return self.name or self.kind

    def spec(self) -> dict[str, Any]:
        """Options for :func:`alerts.sinks.build_sink` (``endpoint`` is Open311's ``url``), with
        ``accepts`` as plain lists for :class:`alerts.sinks.routing.Routing`."""
        options = self.model_dump(mode="json", exclude_none=True, exclude={"kind", "name"})
        if not options.get("accepts"):
            options.pop("accepts", None)
        if self.kind == "open311" and "url" in options:
            options["endpoint"] = options.pop("url")
        return {"type": self.kind, **options}


class OutboxConfig(_Strict):
    """Outbox storage: SQLite under the output folder unless ``dsn_env`` names a PostgreSQL DSN."""

    dsn_env: str | None = None
    # The relay refuses a lease under 0.5 s (alerts.outbox.relay.MIN_LEASE_S): refused here too,
    # so a served city's delivery never fails on it at its first schedule.
    lease: Annotated[Seconds, _within(0.5, 86400, unit="s", example="30 s")] = 30.0
    max_attempts: int = Field(default=8, ge=1)

    def dsn(self) -> str | None:
        """The PostgreSQL DSN from the variable ``dsn_env`` names; None for the SQLite default.

        Raises
        ------
        InvalidInputError
            ``dsn_env`` names a variable that is not set (exit 2): a city configured for
            PostgreSQL must never fall back to a local SQLite outbox unnoticed.
        """
        if self.dsn_env is None:
            return None
        dsn = os.environ.get(self.dsn_env)
        if not dsn:
            raise InvalidInputError(
                f"outbox.dsn_env: ${self.dsn_env}: not set; export the PostgreSQL DSN in it or "
                "remove outbox.dsn_env to use SQLite under --out"
            )
        return dsn


class HeatWeatherConfig(_Strict):
    """Weather for the heat product: a station series and forecasts (CSV), or the GeoSphere API.

    ``forecasts`` is a folder of ``forecast_YYYY-MM-DD.csv`` files (one per issue day, columns of
    :mod:`eo.meteo`) or ``geosphere`` for the GeoSphere Austria data hub at ``lat``/``lon``.
    """

    station: str | None = None
    forecasts: str
    lat: float = Field(default=48.2082, ge=-90, le=90)
    lon: float = Field(default=16.3738, ge=-180, le=180)
    data_hub_url: str = "https://dataset.api.hub.geosphere.at/v1"
    warnings_url: str = "https://warnungen.zamg.at/wsapp/api"


class HeatBlocksConfig(_Strict):
    """Finer units than districts (statistical blocks): polygons and their population by age."""

    layer: LayerConfig
    population: TableConfig


class HeatStreetsConfig(_Strict):
    """Street-scale heat: a street centre-line layer cut into segments, each buffered to a corridor.

    Per segment: area-weighted LST statistics and the share of hot-spot area (no population:
    segments are listed by heat, for shade, water points and street-tree planning).
    """

    layer: LayerConfig
    segment_length: Annotated[Metres, _positive(unit="m", example="100 m")] = Field(
        default=100.0, description="length of a street segment, e.g. '100 m'"
    )
    buffer: Annotated[Metres, _positive(unit="m", example="15 m")] = Field(
        default=15.0, description="half-width of the street corridor around the centre line"
    )


class HeatConfig(_Strict):
    """Heat hotspots and bulletins for health services (DESIGN sections 4 and 5)."""

    lst_window: WindowDays = Field(
        default=60.0, description="days of Landsat scenes before the run's end, e.g. '60 d'"
    )
    hotspot_distance: Annotated[Metres, _positive(unit="m", example="90 m")] = Field(
        default=90.0, description="Gi* neighbourhood radius at 30 m, e.g. '90 m'"
    )
    hotspot_confidence: Literal["90 %", "95 %", "99 %"] = "95 %"
    fdr: bool = True
    strict_qa: bool = False
    reference_layer: str = Field(
        description="polygons of the rural (or large green) reference area for the SUHI"
    )
    population: TableConfig
    min_clear_fraction: Share = 0.5
    ok_clear_fraction: Share = 0.9
    bulletin_districts: int = Field(default=5, ge=1, le=30)
    weather: HeatWeatherConfig
    blocks: HeatBlocksConfig | None = Field(
        default=None, description="finer units (blocks) ranked like districts, when configured"
    )
    lst_source: StacSourceConfig | None = Field(
        default=None,
        description="another LST product than sources.landsat, e.g. ECOSTRESS (provider lp-daac, "
        "collection ECO_L2T_LSTE_002); analysed at its own resolution (70 m)",
    )
    streets: HeatStreetsConfig | None = Field(
        default=None, description="street centre lines for street-segment LST, when configured"
    )

    @model_validator(mode="after")
    def _ordered(self) -> HeatConfig:
        if self.min_clear_fraction > self.ok_clear_fraction:
            raise ValueError(
                f"min_clear_fraction {self.min_clear_fraction:.0%} exceeds ok_clear_fraction "
                f"{self.ok_clear_fraction:.0%}; the DATA_GAP threshold must be the lower one"
            )
        return self

    @property
    def hot_class(self) -> int:
        """Smallest Gi* class counted as hot (1/2/3 = 90/95/99 %)."""
        return {"90 %": 1, "95 %": 2, "99 %": 3}[self.hotspot_confidence]


class CityProfile(_Strict):
    """Everything geospace needs to know about one city."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    timezone: str = "Europe/Vienna"
    data_root: str = "."
    synthetic: bool = False
    aoi: AOIConfig
    grid: GridConfig = GridConfig()
    layers: LayersConfig
    sources: SourcesConfig
    allowlist: AllowlistConfig = AllowlistConfig()
    http: HttpConfig = HttpConfig()
    vegetation: VegetationConfig = VegetationConfig()
    heat: HeatConfig | None = None
    deformation: DeformationConfig | None = None
    sinks: tuple[SinkConfig, ...] = (SinkConfig(kind="files"),)
    outbox: OutboxConfig = OutboxConfig()
    base_dir: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _sinks_reachable(self) -> CityProfile:
        """A sink that delivery would refuse is refused here, before any run queues alerts for
        it (they would wait in the outbox forever): https, hosts on ``allowlist.hosts``."""
        for sink in self.sinks:
            if sink.url is None:
                continue
            problem = sink_url_problem(sink.url, self.allowlist.hosts)
            if problem is not None:
                raise ValueError(f"sinks.{sink.key}.url: {redact_url(sink.url)}: {problem}")
        return self

    def resolve(self, path_or_url: str) -> str:
        """An absolute path for a relative path, or the URL unchanged."""
        if "://" in path_or_url:
            return path_or_url
        path = Path(path_or_url).expanduser()
        return str(path if path.is_absolute() else (self.base_dir / path).resolve())

    def reference_days(self) -> int:
        """Length of the reference-year window, days."""
        veg = self.vegetation
        return int(veg.reference_window if veg.reference_window is not None else veg.window)

    def local_dirs(self) -> tuple[Path, ...]:
        """Allowed local folders, absolute."""
        return tuple(Path(self.resolve(d)) for d in self.allowlist.local_dirs)

    def season_dates(self, year: int) -> tuple[date, date]:
        """First and last day of the season in ``year``."""
        start = date.fromisoformat(f"{year}-{self.vegetation.season_start}")
        end = date.fromisoformat(f"{year}-{self.vegetation.season_end}")
        return start, end


def _field_names(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Known field names at the location of an 'extra field' error, for 'did you mean'."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or not hasattr(current, "model_fields"):
            continue
        field = current.model_fields.get(part)
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [
            a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        current = candidates[0] if candidates else None
    return (
        list(current.model_fields)
        if current is not None and hasattr(current, "model_fields")
        else []
    )


def _describe(err: ValidationError, source: str) -> str:
    lines = []
    for problem in err.errors():
        loc = tuple(problem["loc"])
        where = ".".join(str(p) for p in loc) or "(top level)"
        if problem["type"] == "extra_forbidden":
            known = _field_names(CityProfile, loc)
            guess = difflib.get_close_matches(str(loc[-1]), known, n=1)
            hint = f"did you mean '{guess[0]}'?" if guess else f"known fields: {', '.join(known)}"
            lines.append(f"{where}: unknown field; {hint}")
        elif problem["type"] == "missing":
            lines.append(f"{where}: required field is missing; add it")
        else:
            reason = str(problem["msg"]).removeprefix("Value error, ")
            given = problem.get("input")
            if isinstance(given, dict | list):  # a whole section: its reason names the fields
                lines.append(f"{where}: {reason}" if loc else reason)
            else:
                lines.append(f"{where}: {given!r}: {reason}")
    # One line (the CLI prints one line per error): the problems joined, the file named first.
    return f"profile {source} is invalid: " + " | ".join(lines)


def parse_profile(data: object, *, base_dir: Path, source: str) -> CityProfile:
    """Validate a profile mapping; relative paths resolve under ``base_dir / data_root``."""
    if not isinstance(data, dict):
        raise ProfileError(
            f"profile {source} must be a YAML mapping of fields, got {type(data).__name__}"
        )
    try:
        profile = CityProfile.model_validate(data)
    except ValidationError as err:
        raise ProfileError(_describe(err, source)) from err
    root = Path(profile.data_root).expanduser()
    root = root if root.is_absolute() else base_dir / root
    return profile.model_copy(update={"base_dir": root.resolve()})


def load_profile(name_or_path: str | Path, *, out_dir: Path = Path("out")) -> CityProfile:
    """Load a profile by packaged name (``vienna-demo``, ``vienna``) or by path to a YAML file.

    Packaged profiles resolve their ``data_root`` against ``out_dir`` (the demo city lives in
    ``OUT/demo-city``); a profile file resolves it against the file's own folder.
    """
    text = str(name_or_path)
    packaged = PACKAGED_PROFILES / f"{text}.yaml"
    if "/" not in text and not text.endswith((".yaml", ".yml")) and packaged.is_file():
        path, base = packaged, Path(out_dir)
    else:
        path = Path(text).expanduser()
        base = path.parent
        if not path.is_file():
            names = sorted(p.stem for p in PACKAGED_PROFILES.glob("*.yaml"))
            raise ProfileError(
                f"profile {text!r} not found: give a path to a YAML file or one of {', '.join(names)}"
            )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ProfileError(f"profile {path} is not valid YAML: {err}") from err
    return parse_profile(data, base_dir=base, source=str(path))
