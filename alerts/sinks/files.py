"""File sink: one JSON line per message appended to a JSONL file, fsynced, idempotent.

Several relay processes may share the file: an exclusive ``flock`` covers check-and-append, and
the set of message keys already in the file is kept in memory and refreshed from the bytes other
processes appended since (``tell`` of the last read). A line cut short by a crash is skipped when
reading and the next append starts on a fresh line.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import BinaryIO

from alerts.sinks.base import DeliveryReceipt, OutboundMessage, TransientSinkError


class FileSink:
    """Append messages to ``path`` (JSONL) once each.

    Parameters
    ----------
    path : Path
        The JSONL file (its folder is created).
    name : str
        Sink name used in the outbox rows.
    """

    def __init__(self, path: str | Path, name: str = "files") -> None:
        self.path = Path(path)
        self.name = name
        self._seen: set[str] = set()
        self._offset = 0

    def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        """Append the message unless its ``message_key`` is already in the file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = message.to_json().encode() + b"\n"
        try:
            with open(self.path, "a+b") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                self._refresh(fh)
                if message.message_key in self._seen:
                    return DeliveryReceipt(self.name, message.message_key, duplicate=True)
                fh.seek(0, os.SEEK_END)
                if fh.tell() and not self._ends_with_newline(fh):
                    fh.write(b"\n")
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
                self._seen.add(message.message_key)
                self._offset = fh.tell()
        except OSError as err:
            raise TransientSinkError(
                f"cannot append to {self.path}: {err}; check the disk and permissions"
            ) from err
        return DeliveryReceipt(self.name, message.message_key, detail=str(self.path))

    def _refresh(self, fh: BinaryIO) -> None:
        end = fh.seek(0, os.SEEK_END)
        if end < self._offset:  # file replaced or truncated: read it all again
            self._seen.clear()
            self._offset = 0
        fh.seek(self._offset)
        chunk = fh.read(end - self._offset)
        complete, sep, _ = chunk.rpartition(b"\n")
        for raw in complete.split(b"\n"):
            key = _message_key(raw)
            if key:
                self._seen.add(key)
        self._offset += len(complete) + len(sep)

    @staticmethod
    def _ends_with_newline(fh: BinaryIO) -> bool:
        fh.seek(-1, os.SEEK_END)
        last = fh.read(1)
        fh.seek(0, os.SEEK_END)
        return last == b"\n"

    def close(self) -> None:
        """Nothing to release (the file is opened per message)."""


def _message_key(raw: bytes) -> str | None:
    try:
        return str(json.loads(raw)["message_key"])
    except (ValueError, KeyError, TypeError):
        return None  # a line cut short by a crash, or a blank line
