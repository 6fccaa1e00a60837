"""Atomic product writing: stage every file next to its target, then move them all in at the end.

Each product is first written to a hidden temporary file in its final directory (same file system,
so :func:`os.replace` is atomic); only when every product of a run is staged are they moved into
place, the manifest last. A failure while rendering or writing leaves the previous run's files
untouched and removes the temporary files. Names are slugs and must stay under the output folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from types import TracebackType

from core.errors import InvalidInputError

_SLUG_PART = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
# A staging file: ``.<name>.<pid>-<12 hex>.tmp`` (older runs: ``.<name>.<12 hex>.tmp``).
_STAGED = re.compile(r"^\..+\.(?:(\d+)-)?[0-9a-f]{12}\.tmp$")


def clean_stale_staging(out_dir: Path) -> list[Path]:
    """Delete the staging files a dead run left under ``out_dir``; return what was removed.

    A staging file names the process that wrote it; files of a process that still runs (another
    run on the same folder) are kept. Prefect's home (``.prefect``) is not searched.
    """
    removed: list[Path] = []
    if not Path(out_dir).is_dir():
        return removed
    for folder, dirs, files in os.walk(out_dir):
        dirs[:] = [d for d in dirs if d != ".prefect"]
        for name in files:
            match = _STAGED.match(name)
            if match is None or (match.group(1) and _alive(int(match.group(1)))):
                continue
            path = Path(folder) / name
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def slug(text: str) -> str:
    """File-name slug of ``text``: ASCII lower case, runs of other characters become ``-``.

    Raises
    ------
    InvalidInputError
        Nothing usable is left (e.g. an empty or all-symbol id).
    """
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    out = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if not out:
        raise InvalidInputError(f"{text!r} gives an empty file name; use letters or digits in ids")
    return out


def product_path(out_dir: Path, name: str) -> Path:
    """Absolute path of product ``name`` (``"a.png"`` or ``"timeseries/a.png"``) under ``out_dir``.

    Raises
    ------
    InvalidInputError
        An absolute name, ``..``, a part that is not a slug, or a path resolving outside ``out_dir``.
    """
    parts = PurePosixPath(name).parts
    if not parts or PurePosixPath(name).is_absolute() or "\\" in name:
        raise InvalidInputError(
            f"product name {name!r} must be a relative path under the output folder"
        )
    for part in parts:
        if part in {".", ".."} or not _SLUG_PART.match(part):
            raise InvalidInputError(
                f"product name {name!r}: part {part!r} is not a slug (a-z, 0-9, '.', '_', '-'); "
                "path escapes are refused"
            )
    root = out_dir.resolve()
    target = root.joinpath(*parts)
    if not target.resolve().is_relative_to(root):
        raise InvalidInputError(f"product {name!r} would be written outside {root} (symlink?)")
    return target


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ProductStage:
    """Two-phase writer of one run's products (use as a context manager).

    ``stage_bytes``/``stage_file`` write temporary files beside their targets; ``commit`` moves
    them in with :func:`os.replace` in staging order; leaving the ``with`` block without a commit
    (an exception) deletes every temporary file.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self._staged: dict[str, tuple[Path, Path]] = {}

    def __enter__(self) -> ProductStage:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.discard()

    def _temp_for(self, name: str) -> tuple[Path, Path]:
        if name in self._staged:
            raise InvalidInputError(f"product {name!r} is staged twice in one run")
        target = product_path(self.out_dir, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp")
        self._staged[name] = (temp, target)
        return temp, target

    def stage_bytes(self, name: str, data: bytes) -> Path:
        """Stage ``data`` as product ``name``; returns the temporary path."""
        return self.stage_file(name, lambda temp: temp.write_bytes(data))

    def stage_file(self, name: str, write: Callable[[Path], object]) -> Path:
        """Stage product ``name`` by calling ``write(temp_path)``; returns the temporary path."""
        temp, _ = self._temp_for(name)
        write(temp)
        if not temp.is_file():
            raise InvalidInputError(f"writer of {name!r} produced no file")
        return temp

    def staged(self) -> dict[str, Path]:
        """Temporary path of every staged product, in staging order."""
        return {name: temp for name, (temp, _) in self._staged.items()}

    def commit(self) -> dict[str, Path]:
        """Move every staged file into place (staging order); returns name -> final path."""
        done: dict[str, Path] = {}
        for name, (temp, target) in list(self._staged.items()):
            os.replace(temp, target)
            done[name] = target
            del self._staged[name]
        return done

    def discard(self) -> None:
        """Delete the temporary files of everything not yet committed."""
        for temp, _ in self._staged.values():
            temp.unlink(missing_ok=True)
        self._staged.clear()
