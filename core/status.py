"""States shared by every layer: whether a subject's data in a window can support a decision."""

from __future__ import annotations

from enum import StrEnum


class SubjectStatus(StrEnum):
    """Whether a subject's data in a window can support a decision (DESIGN section 5).

    ``DATA_GAP``: too few clear pixels or points: never "no hazard", never an alert.
    ``DEGRADED``: enough to decide, but the certainty is one step lower.
    """

    OK = "OK"
    DATA_GAP = "DATA_GAP"
    DEGRADED = "DEGRADED"
