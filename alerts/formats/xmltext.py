"""Text for XML 1.0: remove the characters it cannot carry, and say which were removed.

XML 1.0 allows only ``#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]``
(W3C XML 1.0, section 2.2 "Characters"); every other code point (C0 controls such as NUL, BEL, ESC,
lone surrogates, U+FFFE/U+FFFF) is dropped. Drops are returned as :class:`Removal` values so the
caller can report them; nothing is dropped silently.

References
----------
W3C (2008). Extensible Markup Language (XML) 1.0 (Fifth Edition), production [2] Char.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import GeospaceWarning

__all__ = ["ControlCharactersRemovedWarning", "Removal", "clean_text"]

_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class ControlCharactersRemovedWarning(GeospaceWarning):
    """Characters XML 1.0 cannot carry were removed from a text field."""


@dataclass(frozen=True)
class Removal:
    """Characters removed from one field: the field name and their code points (``U+0007``)."""

    field: str
    code_points: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.field}: removed {', '.join(self.code_points)}"


def clean_text(text: str, field: str) -> tuple[str, Removal | None]:
    """``text`` without the characters XML 1.0 cannot carry, and what was removed (or None).

    Parameters
    ----------
    text : str
        Any text.
    field : str
        Name of the field, for the report (e.g. ``"info/description"``).
    """
    found = _NOT_XML.findall(text)
    if not found:
        return text, None
    return _NOT_XML.sub("", text), Removal(field, tuple(f"U+{ord(c):04X}" for c in found))
