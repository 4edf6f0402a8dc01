"""Workbook-level XML edits, made as text so everything else in the part stays as the
user's program wrote it (namespaces, prefixes, extension lists):

* :func:`set_full_calc_on_load` asks Excel to recalculate on opening;
* :func:`set_defined_names` rewrites the generator's defined names to the plan;
* :func:`without_calc_chain` drops the calculation chain (Excel rebuilds it), with its
  relationship and content-type entries.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

from retention_xl.errors import WorkbookError
from retention_xl.workbook.package import (
    CONTENT_TYPES,
    REL_CALC_CHAIN,
    Package,
    WorkbookInfo,
    rels_part_of,
)

__all__ = ["set_defined_names", "set_full_calc_on_load", "without_calc_chain"]


def _attr_pattern(tag: str) -> re.Pattern[bytes]:
    return re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?" + tag.encode() + rb"\b[^>]*>", re.DOTALL)


def set_full_calc_on_load(workbook_xml: bytes) -> bytes:
    """``workbook.xml`` with ``<calcPr fullCalcOnLoad="1">`` (added when missing).

    Only that element changes, as text: namespaces, prefixes and extension lists stay.

    Examples
    --------
    >>> set_full_calc_on_load(b'<workbook><sheets/><calcPr calcId="191029"/></workbook>')
    b'<workbook><sheets/><calcPr calcId="191029" fullCalcOnLoad="1"/></workbook>'
    >>> set_full_calc_on_load(b'<x:workbook><x:sheets/></x:workbook>')
    b'<x:workbook><x:sheets/><x:calcPr fullCalcOnLoad="1"/></x:workbook>'
    """
    m = _attr_pattern("calcPr").search(workbook_xml)
    if m is not None:
        tag = m.group(0)
        if re.search(rb"\sfullCalcOnLoad\s*=", tag):
            new = re.sub(rb"(\sfullCalcOnLoad\s*=\s*)([\"'])[^\"']*\2", rb'\1"1"', tag)
        else:
            close = b"/>" if tag.endswith(b"/>") else b">"
            new = tag[: -len(close)].rstrip() + b' fullCalcOnLoad="1"' + close
        return workbook_xml[: m.start()] + new + workbook_xml[m.end() :]
    root = re.search(rb"<([A-Za-z_][\w.-]*:)?workbook\b", workbook_xml)
    prefix = root.group(1) or b"" if root is not None else b""
    element = b"<" + prefix + b'calcPr fullCalcOnLoad="1"/>'
    # calcPr follows definedNames (or sheets, ...) and precedes these, per the schema
    followers = (
        "oleSize",
        "customWorkbookViews",
        "pivotCaches",
        "smartTagPr",
        "smartTagTypes",
        "webPublishing",
        "fileRecoveryPr",
        "webPublishObjects",
        "extLst",
    )
    positions = [
        f.start()
        for f in (
            re.search(rb"<" + re.escape(prefix) + name.encode() + rb"\b", workbook_xml)
            for name in followers
        )
        if f is not None
    ]
    end = workbook_xml.rfind(b"</" + prefix + b"workbook")
    if positions:
        at = min(positions)
    elif end >= 0:
        at = end
    else:
        raise WorkbookError("workbook.xml has no closing </workbook> tag: it is damaged")
    return workbook_xml[:at] + element + workbook_xml[at:]


_DEFINED_NAME = re.compile(
    rb"<(?P<p>(?:[A-Za-z_][\w.-]*:)?)definedName\b(?P<attrs>[^>]*?)(?:/>|>(?P<text>[^<]*)</(?P=p)definedName>)"
)
_NAME_ATTR = re.compile(rb'\sname\s*=\s*"([^"]*)"')


def _xml_text(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode("utf-8")


def _unescape(raw: bytes) -> str:
    text = raw.decode("utf-8")
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'")):
        text = text.replace(entity, char)
    return text.replace("&amp;", "&")


def set_defined_names(
    workbook_xml: bytes, names: Mapping[str, str], *, drop_prefix: str | None = None
) -> bytes:
    """``workbook.xml`` with the workbook-level defined ``names`` set to their formulas.

    A name that exists (compared case-insensitively, as Excel does) gets the new text
    when it differs; a missing one is added. With ``drop_prefix``, workbook-level names
    with that prefix that are not in ``names`` are removed (stale chunks of a longer
    manifest). Sheet-level names and every other element stay as they are.

    Examples
    --------
    >>> xml = b'<workbook><sheets/><definedNames><definedName name="A">S!$B$2</definedName>'
    >>> xml += b'<definedName name="X_2">"old"</definedName></definedNames></workbook>'
    >>> out = set_defined_names(xml, {"A": "=S!$B$3", "B": '="t"'}, drop_prefix="X_")
    >>> out.decode().split("<definedNames>")[1].split("</definedName>")
    ['<definedName name="A">S!$B$3', '<definedName name="B">"t"', '</definedNames></workbook>']
    """
    wanted = {k.casefold(): (k, v.removeprefix("=")) for k, v in names.items()}
    seen: set[str] = set()
    drop = drop_prefix.casefold() if drop_prefix else None

    def edit(m: re.Match[bytes]) -> bytes:
        attrs = m.group("attrs")
        if b"localSheetId" in attrs:
            return m.group(0)
        found = _NAME_ATTR.search(attrs)
        if found is None:
            return m.group(0)
        key = found.group(1).decode("utf-8").casefold()
        if key in wanted:
            seen.add(key)
            text = wanted[key][1]
            if _unescape(m.group("text") or b"") == text:
                return m.group(0)
            p = m.group("p")
            return (
                b"<"
                + p
                + b"definedName"
                + attrs
                + b">"
                + _xml_text(text)
                + b"</"
                + p
                + b"definedName>"
            )
        if drop is not None and key.startswith(drop):
            return b""
        return m.group(0)

    out = _DEFINED_NAME.sub(edit, workbook_xml)
    missing = [wanted[k] for k in wanted if k not in seen]
    if not missing:
        return out
    root = re.search(rb"<([A-Za-z_][\w.-]*:)?workbook\b", out)
    prefix = (root.group(1) or b"") if root is not None else b""
    added = b"".join(
        b"<"
        + prefix
        + b'definedName name="'
        + _xml_text(name)
        + b'">'
        + _xml_text(text)
        + b"</"
        + prefix
        + b"definedName>"
        for name, text in missing
    )
    close = out.find(b"</" + prefix + b"definedNames>")
    if close >= 0:
        return out[:close] + added + out[close:]
    sheets_end = out.find(b"</" + prefix + b"sheets>")
    if sheets_end < 0:
        raise WorkbookError("workbook.xml has no <sheets> element: it is damaged")
    at = sheets_end + len(b"</" + prefix + b"sheets>")
    # definedNames follows sheets (and externalReferences) per the schema
    ext = re.search(rb"</" + re.escape(prefix) + rb"externalReferences>", out)
    if ext is not None:
        at = ext.end()
    element = b"<" + prefix + b"definedNames>" + added + b"</" + prefix + b"definedNames>"
    return out[:at] + element + out[at:]


_RELATIONSHIP = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Relationship\b[^>]*?(?:/>|>\s*</[^>]*>)")
_OVERRIDE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Override\b[^>]*?(?:/>|>\s*</[^>]*>)")


def without_calc_chain(pkg: Package, info: WorkbookInfo) -> dict[str, bytes | None]:
    """The changes that drop ``calcChain.xml``, its relationship and its content type.

    Excel rebuilds the calculation chain; a stale one (cells that moved) makes it report
    the file as damaged. Returns ``{}`` when the package has none.
    """
    changes: dict[str, bytes | None] = {}
    chain = info.rel_target(REL_CALC_CHAIN)
    candidates = {chain} if chain else set()
    candidates |= {n for n in pkg.names if posixpath.basename(n).lower() == "calcchain.xml"}
    present = {c for c in candidates if c in pkg}
    if not present and chain is None:
        return changes
    for name in present:
        changes[name] = None
    rels_name = rels_part_of(info.part)
    if rels_name in pkg:
        rels = pkg.read(rels_name)
        chain_rel = re.compile(rb'Type\s*=\s*"[^"]*/calcChain"')
        new = _RELATIONSHIP.sub(lambda m: b"" if chain_rel.search(m.group(0)) else m.group(0), rels)
        if new != rels:
            changes[rels_name] = new
    ct = pkg.read(CONTENT_TYPES)
    wanted = {("/" + n).encode() for n in present}

    def drop(m: re.Match[bytes]) -> bytes:
        found = re.search(rb'PartName\s*=\s*"([^"]*)"', m.group(0))
        return b"" if found is not None and found.group(1) in wanted else m.group(0)

    new_ct = _OVERRIDE.sub(drop, ct)
    if new_ct != ct:
        changes[CONTENT_TYPES] = new_ct
    return changes
