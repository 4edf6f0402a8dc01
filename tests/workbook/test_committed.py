"""The workbooks committed in workbooks/ are what the generator makes now.

The generator is deterministic, but the model fits behind the sample report's
predictions go through numpy/scipy, whose last bits change between releases. So
every part of each package must be equal to the letter except the numbers in it,
which must be equal to a relative 1e-9: a real change of content (a label, a formula,
a style, a number beyond rounding noise) still fails.
"""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path

from retention_xl.workbook.committed import COMMITTED, write_committed

FOLDER = Path(__file__).resolve().parents[2] / "workbooks"
_NUMBER = re.compile(r"-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _differences(made: Path, committed: Path) -> list[str]:
    """Parts of two packages that differ beyond last-bit float noise."""
    with zipfile.ZipFile(made) as a, zipfile.ZipFile(committed) as b:
        if a.namelist() != b.namelist():
            return [f"parts differ: {sorted(set(a.namelist()) ^ set(b.namelist()))}"]
        out = []
        for name in a.namelist():
            x, y = a.read(name).decode(), b.read(name).decode()
            if x == y:
                continue
            if _NUMBER.split(x) != _NUMBER.split(y):
                out.append(f"{name}: text differs")
                continue
            for p, q in zip(_NUMBER.findall(x), _NUMBER.findall(y), strict=True):
                if p != q and not math.isclose(float(p), float(q), rel_tol=1e-9, abs_tol=1e-12):
                    out.append(f"{name}: {p} != {q}")
                    break
        return out


def test_number_tolerance_still_sees_real_changes(tmp_path):
    """The comparison ignores last-bit noise only."""

    def book(name: str, text: str) -> Path:
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("s.xml", text)
        return path

    base = book("a.xlsx", "<c><v>0.9945110152614743</v><t>Churn</t></c>")
    noise = book("b.xlsx", "<c><v>0.9945110152614741</v><t>Churn</t></c>")
    value = book("c.xlsx", "<c><v>0.9945</v><t>Churn</t></c>")
    label = book("d.xlsx", "<c><v>0.9945110152614743</v><t>Chum</t></c>")
    assert _differences(noise, base) == []
    assert _differences(value, base) == ["s.xml: 0.9945 != 0.9945110152614743"]
    assert _differences(label, base) == ["s.xml: text differs"]


def test_committed_workbooks_are_up_to_date(tmp_path):
    written = write_committed(tmp_path)
    assert [p.name for p in written] == list(COMMITTED)
    stale = {p.name: d for p in written if (d := _differences(p, FOLDER / p.name))}
    assert not stale, (
        f"stale committed workbooks {stale}: regenerate them with "
        "`python -m retention_xl.workbook --out workbooks`"
    )
