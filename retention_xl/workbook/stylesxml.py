"""Cell styles in an existing ``styles.xml``: find or append one ``<xf>`` per style key.

Both writers need the index of a cell format (``s="N"`` on a ``<c>`` element) for each
style key of the plan. The builder's package was written by XlsxWriter; refresh patches
a workbook that Excel or LibreOffice may have saved again. :func:`ensure_styles` reads
the ``<numFmts>``, ``<fonts>``, ``<fills>``, ``<borders>`` and ``<cellXfs>`` of such a
part, reuses an existing ``<xf>`` that already renders a :class:`Style` exactly as
asked, and appends what is missing (number format, font, fill, border, then the xf)
by splicing text into the part, so everything else in it (cell styles, dxfs used by
conditional formats, colours, extensions) stays byte for byte.

Matching normalises what writers spell differently: LibreOffice writes every default
(``horizontal="general"``, ``wrapText="false"``, ``locked="true"``), XlsxWriter writes
built-in number formats as custom ones, colours may be theme or indexed colours for
"automatic". A style asks for: a number format code, bold, italic, font colour and
size (the workbook's default font otherwise), a solid background, thin borders on
four sides, horizontal alignment, wrapping, and the locked flag.

Examples
--------
>>> from retention_xl.workbook.plan import Style
>>> xml = (b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
...        b'<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
...        b'<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
...        b'<borders count="1"><border/></borders>'
...        b'<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellXfs>'
...        b'</styleSheet>')
>>> new, xf = ensure_styles(xml, {"plain": Style(), "pct": Style(num_format="0.0%")})
>>> xf
{'plain': 0, 'pct': 1}
>>> ensure_styles(new, {"pct": Style(num_format="0.0%")})[1]
{'pct': 1}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from xml.etree.ElementTree import Element
from xml.sax.saxutils import quoteattr

from retention_xl.errors import WorkbookError
from retention_xl.io.safety import parse_xml
from retention_xl.workbook.plan import Style

__all__ = ["BUILTIN_NUM_FORMATS", "canonical_format", "ensure_styles"]

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_Q = "{" + NS + "}"

#: Built-in number formats whose code does not depend on the locale (id -> code).
BUILTIN_NUM_FORMATS: Mapping[int, str] = {
    0: "General",
    1: "0",
    2: "0.00",
    3: "#,##0",
    4: "#,##0.00",
    9: "0%",
    10: "0.00%",
    11: "0.00E+00",
    12: "# ?/?",
    13: "# ??/??",
    45: "mm:ss",
    46: "[h]:mm:ss",
    47: "mm:ss.0",
    48: "##0.0E+0",
    49: "@",
}
_BUILTIN_IDS = {code: num_id for num_id, code in BUILTIN_NUM_FORMATS.items()}
_FIRST_CUSTOM_ID = 164


@dataclass(frozen=True, slots=True)
class _FontKey:
    bold: bool
    italic: bool
    size: float
    color: str | None
    name: str | None
    plain: bool  # no underline, strike-through, super/subscript


@dataclass(frozen=True, slots=True)
class _XfKey:
    num_format: str
    font: _FontKey
    fill: str | None
    border: bool
    align: str | None
    wrap: bool
    locked: bool


#: Characters a number format shows literally without quotes or a backslash.
_LITERAL = set("$-+/():!^&'~{}<>= ")


def canonical_format(code: str) -> str:
    """A number format code with its literal text spelled one way.

    Writers quote literals differently (LibreOffice saves ``yyyy-mm-dd`` as
    ``yyyy\\-mm\\-dd`` and ``#,##0.00 "€"`` as ``#,##0.00" €"``); this puts every run
    of literal characters in double quotes, so equal formats compare equal.

    >>> canonical_format(r'yyyy\\-mm\\-dd') == canonical_format("yyyy-mm-dd")
    True
    >>> canonical_format('#,##0.00 "€"') == canonical_format('#,##0.00" €"')
    True
    """
    out: list[str] = []
    literal: list[str] = []
    i = 0
    in_brackets = False

    def flush() -> None:
        if literal:
            out.append('"' + "".join(literal) + '"')
            literal.clear()

    while i < len(code):
        char = code[i]
        if in_brackets:
            out.append(char)
            in_brackets = char != "]"
        elif char == "\\" and i + 1 < len(code):
            literal.append(code[i + 1])
            i += 1
        elif char == '"':
            end = code.find('"', i + 1)
            end = len(code) if end < 0 else end
            literal.extend(code[i + 1 : end])
            i = end
        elif char in _LITERAL:
            literal.append(char)
        else:
            flush()
            if char == "[":
                in_brackets = True
            out.append(char)
        i += 1
    flush()
    return "".join(out)


def _truthy(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() in ("1", "true")


def _argb(color: str | None) -> str | None:
    """``"#1f4e79"`` -> ``"FF1F4E79"``; ``None`` stays ``None``."""
    if color is None:
        return None
    digits = color.lstrip("#").upper()
    if len(digits) == 6:
        digits = "FF" + digits
    if len(digits) != 8 or any(c not in "0123456789ABCDEF" for c in digits):
        raise WorkbookError(f"style colour {color!r} is not '#RRGGBB'")
    return digits


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: Element, name: str) -> Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _children(element: Element | None, name: str) -> list[Element]:
    if element is None:
        return []
    return [child for child in element if _local(child.tag) == name]


def _rgb_of(element: Element | None) -> str | None:
    """An explicit RGB colour, or ``None`` for automatic/theme/indexed colours."""
    if element is None:
        return None
    rgb = element.get("rgb")
    if rgb is None:
        return None
    rgb = rgb.upper()
    return "FF" + rgb if len(rgb) == 6 else rgb


def _font_key(font: Element) -> _FontKey:
    def flag(name: str) -> bool:
        node = _child(font, name)
        return node is not None and _truthy(node.get("val"), True)

    size_node = _child(font, "sz")
    name_node = _child(font, "name")
    vert = _child(font, "vertAlign")
    underline = _child(font, "u")
    plain = (
        not flag("strike")
        and (underline is None or underline.get("val", "single") == "none")
        and (vert is None or vert.get("val", "baseline") == "baseline")
    )
    return _FontKey(
        bold=flag("b"),
        italic=flag("i"),
        size=float(size_node.get("val", "11")) if size_node is not None else 11.0,
        color=_rgb_of(_child(font, "color")),
        name=name_node.get("val") if name_node is not None else None,
        plain=plain,
    )


def _fill_key(fill: Element) -> str | None:
    """The solid background colour of a fill; ``None`` for no fill; ``"?"`` otherwise."""
    pattern = _child(fill, "patternFill")
    if pattern is None:
        return "?"  # gradient fills never match a Style
    kind = pattern.get("patternType", "none")
    if kind == "none":
        return None
    if kind != "solid":
        return "?"
    return _rgb_of(_child(pattern, "fgColor")) or "?"


def _border_key(border: Element) -> bool | None:
    """True for thin lines on four sides, False for none, None for anything else."""
    styles = []
    for side in ("left", "right", "top", "bottom"):
        node = _child(border, side)
        styles.append(node.get("style") if node is not None else None)
    diagonal = _child(border, "diagonal")
    if diagonal is not None and diagonal.get("style"):
        return None
    if all(s in (None, "none") for s in styles):
        return False
    if all(s == "thin" for s in styles):
        return True
    return None


@dataclass(slots=True)
class _Sheet:
    """What ensure_styles needs to know about a styles part."""

    num_formats: dict[int, str]
    fonts: list[_FontKey]
    fills: list[str | None]
    borders: list[bool | None]
    xfs: list[_XfKey | None]
    base_font: Element


def _read(root: Element) -> _Sheet:
    if root.tag != _Q + "styleSheet":
        raise WorkbookError(f"styles part has root <{_local(root.tag)}>, not <styleSheet>")
    num_formats = dict(BUILTIN_NUM_FORMATS)
    for node in _children(_child(root, "numFmts"), "numFmt"):
        num_formats[int(node.get("numFmtId", "0"))] = node.get("formatCode", "General")
    font_nodes = _children(_child(root, "fonts"), "font")
    if not font_nodes:
        raise WorkbookError("styles part has no <fonts>: the workbook is damaged")
    fonts = [_font_key(node) for node in font_nodes]
    fills = [_fill_key(node) for node in _children(_child(root, "fills"), "fill")]
    borders = [_border_key(node) for node in _children(_child(root, "borders"), "border")]
    xfs: list[_XfKey | None] = []
    for node in _children(_child(root, "cellXfs"), "xf"):
        try:
            font = fonts[int(node.get("fontId", "0"))]
            fill = fills[int(node.get("fillId", "0"))] if fills else None
            border = borders[int(node.get("borderId", "0"))] if borders else False
        except (IndexError, ValueError):
            xfs.append(None)
            continue
        code = num_formats.get(int(node.get("numFmtId", "0")))
        code = canonical_format(code) if code is not None else None
        alignment = _child(node, "alignment")
        protection = _child(node, "protection")
        align: str | None = None
        wrap = False
        if alignment is not None:
            horizontal = alignment.get("horizontal", "general")
            align = None if horizontal == "general" else horizontal
            odd = (
                alignment.get("vertical", "bottom") != "bottom"
                or alignment.get("textRotation", "0") != "0"
                or alignment.get("indent", "0") != "0"
                or _truthy(alignment.get("shrinkToFit"), False)
            )
            if odd:
                xfs.append(None)
                continue
            wrap = _truthy(alignment.get("wrapText"), False)
        locked = True
        if protection is not None:
            if _truthy(protection.get("hidden"), False):
                xfs.append(None)
                continue
            locked = _truthy(protection.get("locked"), True)
        if code is None or border is None:
            xfs.append(None)
            continue
        xfs.append(_XfKey(code, font, fill, border, align, wrap, locked))
    if not xfs:
        raise WorkbookError("styles part has no <cellXfs>: the workbook is damaged")
    return _Sheet(num_formats, fonts, fills, borders, xfs, font_nodes[0])


def _wanted(style: Style, sheet: _Sheet) -> _XfKey:
    base = sheet.fonts[0]
    font = _FontKey(
        bold=style.bold,
        italic=style.italic,
        size=float(style.font_size) if style.font_size is not None else base.size,
        color=_argb(style.font_color) if style.font_color is not None else base.color,
        name=base.name,
        plain=True,
    )
    return _XfKey(
        num_format=canonical_format(style.num_format or "General"),
        font=font,
        fill=_argb(style.bg_color),
        border=style.border,
        align=style.align,
        wrap=style.wrap,
        locked=style.locked,
    )


def _font_xml(key: _FontKey, base: Element) -> str:
    parts = ["<font>"]
    if key.bold:
        parts.append("<b/>")
    if key.italic:
        parts.append("<i/>")
    parts.append(f'<sz val="{key.size:g}"/>')
    if key.color is not None:
        parts.append(f'<color rgb="{key.color}"/>')
    else:
        base_color = _child(base, "color")
        if base_color is not None and _rgb_of(base_color) is None:
            attrs = "".join(f" {k}={quoteattr(v)}" for k, v in sorted(base_color.attrib.items()))
            parts.append(f"<color{attrs}/>")
    if key.name is not None:
        parts.append(f"<name val={quoteattr(key.name)}/>")
    for extra in ("family", "charset", "scheme"):
        node = _child(base, extra)
        if node is not None and node.get("val") is not None:
            parts.append(f"<{extra} val={quoteattr(node.get('val', ''))}/>")
    parts.append("</font>")
    return "".join(parts)


def _fill_xml(color: str) -> str:
    return (
        f'<fill><patternFill patternType="solid"><fgColor rgb="{color}"/>'
        '<bgColor indexed="64"/></patternFill></fill>'
    )


_THIN_BORDER = (
    '<border><left style="thin"><color auto="1"/></left><right style="thin"><color auto="1"/>'
    '</right><top style="thin"><color auto="1"/></top><bottom style="thin"><color auto="1"/>'
    "</bottom><diagonal/></border>"
)
_NO_BORDER = "<border><left/><right/><top/><bottom/><diagonal/></border>"


def _xf_xml(num_id: int, font_id: int, fill_id: int, border_id: int, key: _XfKey) -> str:
    attrs = [
        f'numFmtId="{num_id}" fontId="{font_id}" fillId="{fill_id}" borderId="{border_id}"',
        'xfId="0"',
    ]
    if num_id:
        attrs.append('applyNumberFormat="1"')
    if font_id:
        attrs.append('applyFont="1"')
    if fill_id:
        attrs.append('applyFill="1"')
    if border_id:
        attrs.append('applyBorder="1"')
    inner = []
    if key.align is not None or key.wrap:
        attrs.append('applyAlignment="1"')
        align = f' horizontal="{key.align}"' if key.align is not None else ""
        wrap = ' wrapText="1"' if key.wrap else ""
        inner.append(f"<alignment{align}{wrap}/>")
    if not key.locked:
        attrs.append('applyProtection="1"')
        inner.append('<protection locked="0"/>')
    head = "<xf " + " ".join(attrs)
    return head + (">" + "".join(inner) + "</xf>" if inner else "/>")


class _Splicer:
    """Appends records to container elements of the styles text, fixing their counts."""

    def __init__(self, text: str) -> None:
        self.text = text
        match = re.match(r"\s*(?:<\?xml[^>]*\?>\s*)?<(?:(\w+):)?styleSheet\b", text)
        if match is None:
            raise WorkbookError("styles part does not start with <styleSheet>")
        self.prefix = f"{match.group(1)}:" if match.group(1) else ""

    def _prefixed(self, fragment: str) -> str:
        if not self.prefix:
            return fragment
        return re.sub(r"<(/?)(?=[a-zA-Z])", lambda m: f"<{m.group(1)}{self.prefix}", fragment)

    def append(self, container: str, records: list[str], *, after: tuple[str, ...] = ()) -> None:
        if not records:
            return
        body = self._prefixed("".join(records))
        tag = self.prefix + container
        opening = re.compile(rf"<{re.escape(tag)}\b([^>]*?)(/?)>")
        match = opening.search(self.text)
        if match is None:
            # Create the container right after the first of `after` found, else first.
            where = None
            for previous in after:
                end = re.search(rf"</{re.escape(self.prefix + previous)}>", self.text)
                if end is not None:
                    where = end.end()
                    break
            if where is None:
                root = re.search(rf"<{re.escape(self.prefix)}styleSheet\b[^>]*>", self.text)
                assert root is not None
                where = root.end()
            element = f'<{tag} count="{len(records)}">{body}</{tag}>'
            self.text = self.text[:where] + element + self.text[where:]
            return
        attrs, empty = match.group(1), match.group(2)
        count = re.search(r'\bcount="(\d+)"', attrs)
        if count is not None:
            new_attrs = (
                attrs[: count.start(1)]
                + str(int(count.group(1)) + len(records))
                + attrs[count.end(1) :]
            )
        else:
            new_attrs = attrs
        if empty:
            replacement = f"<{tag}{new_attrs}>{body}</{tag}>"
            self.text = self.text[: match.start()] + replacement + self.text[match.end() :]
            return
        closing = self.text.find(f"</{tag}>", match.end())
        if closing < 0:
            raise WorkbookError(f"styles part: <{container}> is not closed")
        self.text = (
            self.text[: match.start()]
            + f"<{tag}{new_attrs}>"
            + self.text[match.end() : closing]
            + body
            + self.text[closing:]
        )


def ensure_styles(styles_xml: bytes, styles: Mapping[str, Style]) -> tuple[bytes, dict[str, int]]:
    """Find or append the ``<xf>`` of every style; return the new part and the indexes.

    Parameters
    ----------
    styles_xml : bytes
        The ``xl/styles.xml`` part (written by XlsxWriter, Excel or LibreOffice).
    styles : Mapping[str, Style]
        Style key -> style, as in ``WorkbookPlan.styles``.

    Returns
    -------
    (bytes, dict[str, int])
        The part (the input object itself when nothing had to be added) and the
        ``cellXfs`` index of each key. Calling it again on the result adds nothing.

    Raises
    ------
    WorkbookError
        When the part is not a styles sheet or a colour is not ``#RRGGBB``.
    """
    root = parse_xml(styles_xml, part="xl/styles.xml")
    sheet = _read(root)
    result: dict[str, int] = {}
    new_num: list[str] = []
    new_fonts: list[str] = []
    new_fills: list[str] = []
    new_borders: list[str] = []
    new_xfs: list[str] = []
    custom_ids = [i for i in sheet.num_formats if i >= _FIRST_CUSTOM_ID]
    next_num = max(custom_ids, default=_FIRST_CUSTOM_ID - 1) + 1
    code_ids: dict[str, int] = {}
    for num_id, code in sorted(sheet.num_formats.items(), reverse=True):
        code_ids[canonical_format(code)] = num_id  # lowest id wins
    for code, num_id in _BUILTIN_IDS.items():
        code_ids.setdefault(canonical_format(code), num_id)
    for key, style in styles.items():
        wanted = _wanted(style, sheet)
        try:
            result[key] = sheet.xfs.index(wanted)
            continue
        except ValueError:
            pass
        if wanted.num_format in code_ids:
            num_id = code_ids[wanted.num_format]
        else:
            num_id = next_num
            next_num += 1
            code_ids[wanted.num_format] = num_id
            code = style.num_format or "General"
            sheet.num_formats[num_id] = code
            new_num.append(f'<numFmt numFmtId="{num_id}" formatCode={quoteattr(code)}/>')
        if wanted.font in sheet.fonts:
            font_id = sheet.fonts.index(wanted.font)
        else:
            font_id = len(sheet.fonts)
            sheet.fonts.append(wanted.font)
            new_fonts.append(_font_xml(wanted.font, sheet.base_font))
        if wanted.fill in sheet.fills:
            fill_id = sheet.fills.index(wanted.fill)
        elif wanted.fill is None:
            fill_id = len(sheet.fills)
            sheet.fills.append(None)
            new_fills.append('<fill><patternFill patternType="none"/></fill>')
        else:
            fill_id = len(sheet.fills)
            sheet.fills.append(wanted.fill)
            new_fills.append(_fill_xml(wanted.fill))
        if wanted.border in sheet.borders:
            border_id = sheet.borders.index(wanted.border)
        else:
            border_id = len(sheet.borders)
            sheet.borders.append(wanted.border)
            new_borders.append(_THIN_BORDER if wanted.border else _NO_BORDER)
        result[key] = len(sheet.xfs)
        sheet.xfs.append(wanted)
        new_xfs.append(_xf_xml(num_id, font_id, fill_id, border_id, wanted))
    if not new_xfs:
        return styles_xml, result
    splicer = _Splicer(styles_xml.decode("utf-8"))
    splicer.append("numFmts", new_num)
    splicer.append("fonts", new_fonts, after=("numFmts",))
    splicer.append("fills", new_fills, after=("fonts",))
    splicer.append("borders", new_borders, after=("fills",))
    splicer.append("cellXfs", new_xfs, after=("cellStyleXfs", "borders"))
    return splicer.text.encode("utf-8"), result
