"""Errors and warnings shared by every geospace package.

One base class, :class:`GeospaceError`; subclasses say *why* something failed and carry the exit
code the CLI uses (DESIGN section 5): 2 for invalid input, 1 for a failure of a source or sink.
Messages say what, which input, why and how to fix it.
"""

from __future__ import annotations


class GeospaceError(Exception):
    """Base class of every error raised on purpose by geospace."""

    exit_code: int = 1


class InvalidInputError(GeospaceError, ValueError):
    """The user's input is wrong (profile, AOI, dates, URL off the allowlist): exit code 2."""

    exit_code = 2


class ProfileError(InvalidInputError):
    """A city profile failed validation."""


class AOIError(InvalidInputError):
    """An area of interest is not valid GeoJSON, self-intersecting, too large, or in the wrong CRS."""


class AllowlistError(InvalidInputError):
    """A catalogue root or asset href is not on the profile's allowlist."""


class SourceUnavailableError(GeospaceError):
    """A remote source stayed unreachable after retries: exit code 1."""

    exit_code = 1


class DataReadError(GeospaceError):
    """Data could be reached but not read (truncated body, corrupt file): exit code 1."""

    exit_code = 1


class GeospaceWarning(UserWarning):
    """Base class of every warning geospace emits; tests turn them into errors selectively."""


class DegradedDataWarning(GeospaceWarning):
    """The data is usable but degraded (few clear pixels, unverified metadata)."""


class OffsetFlagCorrectedWarning(DegradedDataWarning):
    """An item's metadata said the BOA offset was (not) applied and its pixels said otherwise."""


class OffsetUnverifiedWarning(DegradedDataWarning):
    """An item's BOA offset state could not be checked on its pixels (too few dark reference pixels)."""


class DuplicateItemWarning(GeospaceWarning):
    """Two items cover the same tile and day; the older processing was dropped."""
