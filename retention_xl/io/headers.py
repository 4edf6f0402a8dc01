"""Header matching: normalised names and synonyms (English and Italian).

``normalise("Data Ordine ")``, ``normalise("data_ordine")`` and ``normalise("DATA-ORDINE")``
are all ``"data ordine"``: case, accents, spaces and punctuation are ignored, so a
header typed by hand or exported by a localised platform still matches.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["HeaderIndex", "normalise"]

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise(header: object) -> str:
    """Casefold, strip accents, collapse everything but letters and digits to one space.

    Examples
    --------
    >>> normalise("  Quantità_Ordinata (Totale) ")
    'quantita ordinata totale'
    """
    text = "" if header is None else str(header)
    text = unicodedata.normalize("NFKD", text.replace("\ufeff", ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return _NON_ALNUM.sub(" ", text).strip()


class HeaderIndex:
    """Look up a file's columns by normalised name.

    ``find(["order id", "id ordine"])`` returns the original header of the first
    synonym present, or None.
    """

    def __init__(self, headers: Sequence[str], *, file: str = "") -> None:
        self.file = file
        self.headers = list(headers)
        self._by_norm: dict[str, str] = {}
        for h in self.headers:
            self._by_norm.setdefault(normalise(h), h)

    def __contains__(self, name: object) -> bool:
        return normalise(name) in self._by_norm

    def get(self, name: str) -> str | None:
        """The original header whose normalised form equals ``normalise(name)``."""
        return self._by_norm.get(normalise(name))

    def find(self, synonyms: Iterable[str], *, exclude: Iterable[str] = ()) -> str | None:
        """The original header of the first synonym present (skipping ``exclude``)."""
        skip = set(exclude)
        for syn in synonyms:
            found = self._by_norm.get(normalise(syn))
            if found is not None and found not in skip:
                return found
        return None

    def find_containing(self, words: Iterable[str]) -> str | None:
        """The first header whose normalised text contains one of ``words``."""
        for word in words:
            w = normalise(word)
            for norm, original in self._by_norm.items():
                if w and re.search(rf"(?:^| ){re.escape(w)}(?: |$)", norm):
                    return original
        return None

    def resolve(
        self, roles: Mapping[str, Sequence[str]], mapping: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Map each role to a header: ``mapping`` first (exact, normalised), then synonyms.

        Roles not found are absent from the result; a header is used for one role only.
        """
        out: dict[str, str] = {}
        used: set[str] = set()
        for role, column in (mapping or {}).items():
            found = self.get(column)
            if found is not None:
                out[role] = found
                used.add(found)
        for role, synonyms in roles.items():
            if role in out:
                continue
            found = self.find(synonyms, exclude=used)
            if found is not None:
                out[role] = found
                used.add(found)
        for role, header in out.items():
            twin = f"{header} (2)"  # the reader's name for a second column of that name
            if twin in self.headers:
                from retention_xl.errors import ExportError

                first = self.headers.index(header)
                second = self.headers.index(twin)
                raise ExportError(
                    f"the header names {header!r} twice (columns {first + 1} and {second + 1}): "
                    f"which one holds the {role.replace('_', ' ')} cannot be told, and reading "
                    "the wrong one would shift every number. The header row may be damaged: "
                    "export the file again, or rename one column",
                    file=self.file,
                    column=header,
                )
        return out
