"""Make every formula show a fresh value when the workbook is opened.

Excel honours ``<calcPr fullCalcOnLoad="1"/>`` in ``workbook.xml`` and recalculates
everything on opening. LibreOffice does not: its OOXML import
(``sc/source/filter/oox/formulabuffer.cxx`` and ``workbookfragment.cxx``) keeps the
cached result ``<v>`` of every formula cell and recalculates only when the user's
setting *Recalculation on file load* (default: never) says so. What it does
recalculate on load, whatever that setting, is a formula cell **without** a cached
result: such a cell is marked dirty with the recalc mode "once on load". (Cached
string results are trusted only from a generator it knows, Excel or LibreOffice.)

So after a refresh the user's own sheets - whose formulas read the KPI names and the
raw tabs that have just changed - keep their formulas, formats and everything else
byte for byte, and lose only the cached results of their formula cells. Both
programs then compute them on opening; charts drawn from those cells follow.

>>> drop_formula_results(b'<c r="B2" s="1"><f>KPI_revenue*2</f><v>13290</v></c>')
b'<c r="B2" s="1"><f>KPI_revenue*2</f></c>'
>>> drop_formula_results(b'<c r="A1" t="str"><f>A2&amp;"x"</f><v>old</v></c><c r="A2"><v>5</v></c>')
b'<c r="A1"><f>A2&amp;"x"</f></c><c r="A2"><v>5</v></c>'
"""

from __future__ import annotations

import re

__all__ = ["drop_formula_results", "has_formula_results"]

# a cell: its opening tag (with or without a namespace prefix), a formula element
# (empty, as in the dependent cells of a shared formula, or with text), then the cached
# value. Cells without <f> (numbers, text, the non-anchor cells of an array formula)
# are not touched.
_CELL = re.compile(
    rb"<(?P<p>(?:[A-Za-z_][\w.-]*:)?)c\b(?P<attrs>[^>]*)>"
    rb"(?P<f><(?P=p)f\b[^>]*?(?:/>|>[^<]*</(?P=p)f>))"
    rb"<(?P=p)v>[^<]*</(?P=p)v>"
)
_TYPE = re.compile(rb'\s+t\s*=\s*(?:"[^"]*"|\'[^\']*\')')


def _strip(m: re.Match[bytes]) -> bytes:
    attrs = _TYPE.sub(b"", m.group("attrs"))  # the type described the dropped <v>
    p = m.group("p")
    return b"<" + p + b"c" + attrs + b">" + m.group("f")


def drop_formula_results(sheet_xml: bytes) -> bytes:
    """``sheet_xml`` with the cached result ``<v>`` of every formula cell removed.

    Formulas, styles, values of plain cells and every other element stay as they are;
    the cell's ``t`` attribute goes with its value (it typed the cached result).
    """
    if b"<f" not in sheet_xml and b":f" not in sheet_xml:
        return sheet_xml
    return _CELL.sub(_strip, sheet_xml)


def has_formula_results(sheet_xml: bytes) -> bool:
    """Whether any formula cell of ``sheet_xml`` carries a cached result.

    >>> has_formula_results(b'<c r="A1"><f>1+1</f><v>2</v></c>')
    True
    >>> has_formula_results(b'<c r="A1"><f>1+1</f></c>')
    False
    """
    return _CELL.search(sheet_xml) is not None
