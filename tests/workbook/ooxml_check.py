"""Structural checks of an .xlsx package: the things that make Excel offer a repair.

Headless LibreOffice loads damaged packages silently (it asks nothing, it just drops
what it cannot read), so "loads without repair" is checked here, on the package itself:

* every XML part is well-formed (DTDs and entities refused);
* every part has a content type and every internal relationship target exists;
* styles: container counts match their records, every xf points at existing number
  formats, fonts, fills and borders;
* worksheets: rows strictly increasing, cells in each row strictly increasing and on
  their row, every style index exists, cell types are valid OOXML types and carry the
  elements their type needs, texts fit in a cell, the ``<dimension>`` covers every cell;
* defined names refer to existing sheets.

:func:`problems` returns a list of messages (empty when the package is sound).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from xml.etree.ElementTree import Element

from retention_xl.io.safety import parse_xml

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
BUILTIN_FORMATS = set(range(0, 50))
CELL_TYPES = {"b", "d", "e", "inlineStr", "n", "s", "str"}
_REF = re.compile(r"^([A-Z]{1,3})([0-9]+)$")


def _col(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _split(ref: str) -> tuple[int, int]:
    match = _REF.match(ref)
    if match is None:
        raise ValueError(ref)
    return int(match.group(2)), _col(match.group(1))


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    folder, _, name = part.rpartition("/")
    rel_part = f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"
    if rel_part not in zf.namelist():
        return {}
    out = {}
    for rel in parse_xml(zf.read(rel_part), part=rel_part).iter(PKG + "Relationship"):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External":
            continue
        if target.startswith("/"):
            resolved = target[1:]
        else:
            resolved = posixpath.normpath(posixpath.join(folder, target))
        out[rel.get("Id", "")] = (resolved, rel.get("Type", ""))
    return out


def _styles(root: Element, out: list[str]) -> int:
    counts = {}
    for tag in ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "dxfs"):
        node = root.find(MAIN + tag)
        if node is None:
            continue
        counts[tag] = len(node)
        if node.get("count") is not None and int(node.get("count", "0")) != len(node):
            out.append(f"styles: <{tag} count={node.get('count')}> holds {len(node)} records")
    custom = {int(n.get("numFmtId", "-1")) for n in root.iter(MAIN + "numFmt")}
    xfs = root.find(MAIN + "cellXfs")
    if xfs is None:
        out.append("styles: no <cellXfs>")
        return 0
    for i, xf in enumerate(xfs):
        num = int(xf.get("numFmtId", "0"))
        if num not in BUILTIN_FORMATS and num not in custom:
            out.append(f"styles: xf {i} uses undefined numFmtId {num}")
        for attr, tag in (("fontId", "fonts"), ("fillId", "fills"), ("borderId", "borders")):
            if int(xf.get(attr, "0")) >= counts.get(tag, 0):
                out.append(f"styles: xf {i} {attr}={xf.get(attr)} beyond <{tag}>")
    return len(xfs)


def _sheet(name: str, root: Element, n_xfs: int, out: list[str]) -> None:
    data = root.find(MAIN + "sheetData")
    if data is None:
        out.append(f"{name}: no <sheetData>")
        return
    last_row = 0
    max_row = max_col = 0
    min_row = min_col = 10**9
    for row in data.iter(MAIN + "row"):
        r = int(row.get("r", str(last_row + 1)))
        if r <= last_row:
            out.append(f"{name}: row {r} after row {last_row}")
        last_row = r
        last_col = 0
        for cell in row.iter(MAIN + "c"):
            ref = cell.get("r")
            if ref is None:
                out.append(f"{name}: a cell of row {r} has no reference")
                continue
            cr, cc = _split(ref)
            if cr != r:
                out.append(f"{name}: cell {ref} inside row {r}")
            if cc <= last_col:
                out.append(f"{name}: cell {ref} out of column order")
            last_col = cc
            max_row, max_col = max(max_row, cr), max(max_col, cc)
            min_row, min_col = min(min_row, cr), min(min_col, cc)
            if int(cell.get("s", "0")) >= n_xfs:
                out.append(f"{name}: cell {ref} uses style {cell.get('s')} of {n_xfs}")
            kind = cell.get("t", "n")
            if kind not in CELL_TYPES:
                out.append(f"{name}: cell {ref} has type {kind!r}")
            if kind == "inlineStr":
                holder = cell.find(MAIN + "is")
                if holder is None:
                    out.append(f"{name}: inline string {ref} without <is>")
                elif sum(len(t.text or "") for t in holder.iter(MAIN + "t")) > 32_767:
                    out.append(f"{name}: text of {ref} longer than a cell holds")
            value = cell.find(MAIN + "v")
            if kind in ("n", "b") and value is not None and value.text not in (None, ""):
                try:
                    number = float(value.text)
                except ValueError:
                    out.append(f"{name}: cell {ref} number {value.text!r}")
                else:
                    if kind == "b" and number not in (0.0, 1.0):
                        out.append(f"{name}: boolean {ref} = {value.text!r}")
    dim = root.find(MAIN + "dimension")
    if max_row and dim is not None:
        parts = dim.get("ref", "A1").split(":")
        (r0, c0), (r1, c1) = _split(parts[0]), _split(parts[-1])
        if not (r0 <= min_row and c0 <= min_col and r1 >= max_row and c1 >= max_col):
            out.append(f"{name}: dimension {dim.get('ref')} does not cover the cells")


def problems(path: str | Path) -> list[str]:
    """Everything in the package at ``path`` that would make Excel repair it."""
    out: list[str] = []
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        for name in sorted(names):
            if name.endswith((".xml", ".rels", ".vml")):
                try:
                    parse_xml(zf.read(name), part=name)
                except Exception as exc:
                    out.append(str(exc))
        if out:
            return out
        types = parse_xml(zf.read("[Content_Types].xml"))
        defaults = {d.get("Extension", "").lower() for d in types.iter(CT + "Default")}
        overrides = {o.get("PartName", "").lstrip("/") for o in types.iter(CT + "Override")}
        for name in names:
            if name.endswith("/") or name == "[Content_Types].xml":
                continue
            if name not in overrides and name.rsplit(".", 1)[-1].lower() not in defaults:
                out.append(f"part {name} has no content type")
        for name in overrides:
            if name not in names:
                out.append(f"content type for missing part {name}")
        for part in [*sorted(names), ""]:
            for rid, (target, _kind) in _rels(zf, part).items():
                if target not in names:
                    out.append(f"{part or 'package'}: relationship {rid} -> missing {target}")
        n_xfs = _styles(parse_xml(zf.read("xl/styles.xml")), out)
        book = parse_xml(zf.read("xl/workbook.xml"))
        rels = _rels(zf, "xl/workbook.xml")
        titles = []
        for sheet in book.iter(MAIN + "sheet"):
            titles.append(sheet.get("name", ""))
            target = rels.get(sheet.get(REL + "id", ""))
            if target is None or target[0] not in names:
                out.append(f"sheet {sheet.get('name')!r} has no part")
                continue
            _sheet(target[0], parse_xml(zf.read(target[0])), n_xfs, out)
        for name in book.iter(MAIN + "definedName"):
            text = name.text or ""
            for quoted, plain in re.findall(r"'((?:[^']|'')+)'!|\b([A-Za-z_][\w.]*)!", text):
                sheet_name = quoted.replace("''", "'") if quoted else plain
                if sheet_name not in titles:
                    out.append(f"defined name {name.get('name')} refers to sheet {sheet_name!r}")
    return out
