"""The CAP archive of bulletins: ``OUT/alerts/cap/<identifier>.xml``, Draft until approved.

Every bulletin revision is archived as CAP 1.2 when it is created, whatever its status, and again
when a person approves it (DESIGN section 5). The archive is a record, not a publishing sink: the
file of a pending, rejected or expired bulletin says ``<status>Draft</status>``, the file of an
approved one (queued, sent, dead) ``Actual``; the status is always taken from the outbox row, so
archiving again never turns an approved bulletin back into a Draft.

Which revisions are bulletins (:func:`is_bulletin`): every revision that needs a person's approval
when it is created (``status == pending_approval``) and every revision of a hazard published as
CAP (:data:`CAP_HAZARDS`, public-health bulletins: ``heat``). Maintenance work orders (Open311) and
operator notices are not archived.

Files are written atomically (a temporary file in the same folder, then ``os.replace``); a file
whose bytes would not change is left alone, so reruns neither duplicate nor rewrite anything. The
file name is the CAP identifier itself and must be a safe slug (letters, digits, ``.``, ``_``,
``-``, ``@``, not starting with a dot).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from alerts.cap import DEFAULT_IDENTIFIER_PREFIX, DEFAULT_SENDER, build_cap
from alerts.model import Revision, RevisionStatus, cap_identifier
from alerts.outbox.store import OutboxStore
from core.errors import InvalidInputError

__all__ = [
    "CAP_HAZARDS",
    "archive_dir",
    "archive_path",
    "archive_revision",
    "archive_stored",
    "is_bulletin",
]

CAP_HAZARDS = frozenset({"heat"})
"""Hazards whose revisions are public bulletins published as CAP (archived whatever their status)."""

_SAFE = re.compile(r"^[A-Za-z0-9_@-][A-Za-z0-9._@-]{0,199}$")


def is_bulletin(revision: Revision | Mapping[str, Any]) -> bool:
    """True for a revision that needs approval or whose hazard is published as CAP.

    ``revision`` is a :class:`Revision` or its ``to_dict()`` form, as produced (the status it was
    created with decides whether it needed approval).
    """
    data = revision.to_dict() if isinstance(revision, Revision) else revision
    status = str(getattr(data.get("status"), "value", data.get("status")))
    return status == RevisionStatus.PENDING_APPROVAL or str(data.get("hazard")) in CAP_HAZARDS


def archive_dir(out_dir: str | Path) -> Path:
    """The archive folder of an output folder: ``OUT/alerts/cap``."""
    return Path(out_dir) / "alerts" / "cap"


def archive_path(out_dir: str | Path, identifier: str) -> Path:
    """``OUT/alerts/cap/<identifier>.xml``; refuses an identifier that is not a safe file name."""
    if not _SAFE.match(identifier) or ".." in identifier:
        raise InvalidInputError(
            f"CAP identifier {identifier!r} cannot be an archive file name: use only letters, "
            "digits, '.', '_', '-' and '@' in the identifier prefix (no '/', no leading '.')"
        )
    return archive_dir(out_dir) / f"{identifier}.xml"


def _write_atomic(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``; False if unchanged."""
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def archive_revision(
    out_dir: str | Path,
    revision: Revision,
    *,
    sender: str = DEFAULT_SENDER,
    identifier_prefix: str = DEFAULT_IDENTIFIER_PREFIX,
    timezone: str | None = None,
) -> Path:
    """Write the CAP document of ``revision`` (its current status) to the archive.

    Parameters
    ----------
    out_dir : path
        Output folder; the file goes to ``out_dir/alerts/cap/<identifier>.xml``.
    revision : Revision
        The revision with the status it has NOW (Draft for pending/rejected/expired).
    sender, identifier_prefix, timezone
        As for :func:`alerts.cap.build_cap`.

    Returns
    -------
    Path
        The archived file (left untouched when its bytes are already current).
    """
    identifier = cap_identifier(identifier_prefix, revision.alert_key, revision.revision)
    path = archive_path(out_dir, identifier)
    doc = build_cap(revision, sender=sender, identifier_prefix=identifier_prefix, timezone=timezone)
    _write_atomic(path, doc.xml)
    return path


def _stored(store: OutboxStore, message_keys: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for start in range(0, len(message_keys), 500):
        chunk = message_keys[start : start + 500]
        rows += store.db.query(
            "SELECT message_key, status, payload FROM revisions"
            f" WHERE message_key IN ({','.join('?' * len(chunk))}) ORDER BY id",
            chunk,
        )
    return rows


def archive_stored(
    store: OutboxStore,
    out_dir: str | Path,
    message_keys: Iterable[str],
    **cap_options: Any,
) -> list[Path]:
    """Archive the stored bulletins among ``message_keys`` with the status their row has now.

    Revisions that are not bulletins (:func:`is_bulletin` of the revision as produced) and keys
    not in the outbox are skipped. ``cap_options`` go to :func:`archive_revision`.
    """
    paths = []
    for row in _stored(store, sorted(set(message_keys))):
        produced = json.loads(str(row["payload"]))
        if not is_bulletin(produced):
            continue
        try:
            revision = Revision.from_dict(produced)
        except (TypeError, ValueError, KeyError) as err:
            raise InvalidInputError(
                f"bulletin {row['message_key'][:12]} cannot be archived as CAP: its stored form is "
                f"not a complete alerts.model.Revision ({err}); produce it with alerts.decide.rules"
            ) from err
        current = replace(revision, status=RevisionStatus(str(row["status"])))
        paths.append(archive_revision(out_dir, current, **cap_options))
    return paths
