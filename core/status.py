"""States shared by every layer: whether a subject's data in a window can support a decision."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from core.errors import InvalidInputError


class SubjectStatus(StrEnum):
    """Whether a subject's data in a window can support a decision (DESIGN section 5).

    ``DATA_GAP``: too few clear pixels or points: never "no hazard", never an alert.
    ``DEGRADED``: enough to decide, but the certainty is one step lower.
    """

    OK = "OK"
    DATA_GAP = "DATA_GAP"
    DEGRADED = "DEGRADED"


@dataclass(frozen=True)
class CoverageRule:
    """The one coverage rule: how much clear data a subject needs (DESIGN section 5).

    Built from the profile (``CityProfile.vegetation.coverage_rule()`` for parks,
    ``CityProfile.deformation.coverage_rule()`` for corridor segments) and passed down
    to whoever decides or explains a status, so the zonal statistics, the rules and the "why" text
    all quote the same numbers.

    Attributes
    ----------
    minimum : float
        Coverage (0..1) below which (or NaN) the subject is DATA_GAP.
    degraded_below : float
        Coverage (0..1) below which a subject that is not a gap is DEGRADED.
    min_dates : int
        Clear dates a window needs (0 where dates do not apply, e.g. point products).
    counted : str
        For a coverage that counts things against a full count (deformation: coherent points,
        coverage = points / ``full_count``), what is counted; empty for a clear share (parks).
    full_count : int
        The count that is full coverage (0 with ``counted`` empty).
    """

    minimum: float
    degraded_below: float
    min_dates: int = 0
    counted: str = ""
    full_count: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.minimum <= self.degraded_below <= 1.0:
            raise InvalidInputError(
                f"coverage rule: need 0 % <= minimum <= degraded_below <= 100 %, got minimum "
                f"{self.minimum:.0%} and degraded_below {self.degraded_below:.0%}; fix the profile"
            )
        if (
            isinstance(self.min_dates, bool)
            or int(self.min_dates) != self.min_dates
            or self.min_dates < 0
        ):
            raise InvalidInputError(
                f"coverage rule: min_dates must be a whole count >= 0, got {self.min_dates!r}"
            )
        if bool(self.counted) != (self.full_count > 0):
            raise InvalidInputError(
                f"coverage rule: counted {self.counted!r} and full_count {self.full_count!r} "
                "go together (both set for a counted coverage, neither for a clear share)"
            )

    def status(self, coverage: float) -> SubjectStatus:
        """DATA_GAP below ``minimum`` (or NaN), DEGRADED below ``degraded_below``, else OK."""
        if not coverage >= self.minimum:  # NaN is a gap
            return SubjectStatus.DATA_GAP
        if coverage < self.degraded_below:
            return SubjectStatus.DEGRADED
        return SubjectStatus.OK

    def describe(self) -> str:
        """``"minimum 60 % clear, degraded below 90 %, at least 2 clear dates"``; for a counted
        coverage ``"minimum 5 coherent points (50 % of 10), degraded below 9 (90 %)"``."""
        if self.counted:
            need = math.ceil(self.minimum * self.full_count - 1e-9)
            ok = math.ceil(self.degraded_below * self.full_count - 1e-9)
            return (
                f"minimum {need} {self.counted} ({self.minimum * 100:g} % of {self.full_count}), "
                f"degraded below {ok} ({self.degraded_below * 100:g} %)"
            )
        text = f"minimum {self.minimum * 100:g} % clear, degraded below {self.degraded_below * 100:g} %"
        return text + (f", at least {self.min_dates} clear dates" if self.min_dates else "")
