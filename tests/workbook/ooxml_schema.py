"""Validation of every XML part of an .xlsx package against the ECMA-376 schemas.

The schemas are the ones vendored in ``tests/data/ooxml_schemas`` (see its README);
the validator is lxml's :class:`lxml.etree.XMLSchema` (libxml2). Nothing is read from
outside that folder and nothing from the network:

* schema documents are parsed with ``no_network=True`` and without entities or DTDs;
  a resolver serves every ``xs:import`` and ``xs:include`` from the folder and refuses
  any other location (the Dublin Core imports name dublincore.org, which the resolver
  maps to the copies in the folder);
* an ``xs:import`` of a namespace resolves, in memory, to a small schema that includes
  *every* vendored file of that namespace. The schemas split one namespace over many
  files and import it from each of them with different locations; libxml2 honours
  only the first import of a namespace, so without this it would see only part of,
  say, DrawingML. The vendored files stay byte for byte as published.

Before validation each part goes through what ECMA-376 Part 3 (Markup Compatibility)
asks of a consumer that understands exactly the namespaces of the vendored schemas,
which is what Excel does with the extensions it does not know:

* elements and attributes of a namespace declared ``mc:Ignorable`` (in scope) and not
  understood are removed (``x14ac:dyDescent``, ``xr:uid``...); an element of a
  namespace that is *not* ignorable stays, and the schema rejects it;
* ``mc:AlternateContent`` is replaced by the content of its first ``mc:Choice`` whose
  ``Requires`` namespaces are all understood, else by its ``mc:Fallback``;
* ``mc:MustUnderstand`` naming a namespace that is not understood is a problem, and so
  is ``mc:ProcessContent`` (not handled here, and never written by the generator);
* the ``mc:*`` attributes are then dropped.

``xml:space`` is defined by XML 1.0 itself (section 2.10, values ``default`` and
``preserve``) and Excel writes it on ``<t>``, but the ECMA schemas never declare it on
the simple types they give ``<t>``: its value is checked here, then it is removed.

Each part must also have the root element its content type calls for (one compiled
schema accepts any global element, so a chart written into a worksheet part would
otherwise pass). :func:`package_problems` returns one line per problem:
``part:line: message``.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterable
from pathlib import Path

from lxml import etree

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "ooxml_schemas"

XSD = "http://www.w3.org/2001/XMLSchema"
XML_NS = "http://www.w3.org/XML/1998/namespace"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
SML = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DML = "http://schemas.openxmlformats.org/drawingml/2006/main"
CHART = "http://schemas.openxmlformats.org/drawingml/2006/chart"
XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
PR = "http://schemas.openxmlformats.org/package/2006/relationships"
CP = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
EP = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"
CUSTOM = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"

_OFFICE = "application/vnd.openxmlformats-officedocument."
_SHEET = _OFFICE + "spreadsheetml."

#: The root element each content type calls for. A part whose content type is not here
#: is reported: a new kind of part needs its schema checked, not skipped.
ROOTS: dict[str, str] = {
    _SHEET + "sheet.main+xml": f"{{{SML}}}workbook",
    _SHEET + "template.main+xml": f"{{{SML}}}workbook",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": f"{{{SML}}}workbook",
    _SHEET + "worksheet+xml": f"{{{SML}}}worksheet",
    _SHEET + "chartsheet+xml": f"{{{SML}}}chartsheet",
    _SHEET + "styles+xml": f"{{{SML}}}styleSheet",
    _SHEET + "sharedStrings+xml": f"{{{SML}}}sst",
    _SHEET + "calcChain+xml": f"{{{SML}}}calcChain",
    _SHEET + "table+xml": f"{{{SML}}}table",
    _SHEET + "comments+xml": f"{{{SML}}}comments",
    _OFFICE + "theme+xml": f"{{{DML}}}theme",
    _OFFICE + "drawing+xml": f"{{{XDR}}}wsDr",
    _OFFICE + "drawingml.chart+xml": f"{{{CHART}}}chartSpace",
    "application/vnd.openxmlformats-package.relationships+xml": f"{{{PR}}}Relationships",
    "application/vnd.openxmlformats-package.core-properties+xml": f"{{{CP}}}coreProperties",
    _OFFICE + "extended-properties+xml": f"{{{EP}}}Properties",
    _OFFICE + "custom-properties+xml": f"{{{CUSTOM}}}Properties",
}
CONTENT_TYPES_PART = "[Content_Types].xml"

#: Where the schemas name a public copy of another schema, the vendored copy.
_REMOTE = {
    "http://dublincore.org/schemas/xmls/qdc/2003/04/02/dc.xsd": "dc.xsd",
    "http://dublincore.org/schemas/xmls/qdc/2003/04/02/dcterms.xsd": "dcterms.xsd",
    "http://dublincore.org/schemas/xmls/qdc/2003/04/02/dcmitype.xsd": "dcmitype.xsd",
    "http://www.w3.org/2001/03/xml.xsd": "xml.xsd",
}


def safe_parser(**extra: bool) -> etree.XMLParser:
    """No network, no DTD loading, no entity expansion."""
    return etree.XMLParser(
        no_network=True, resolve_entities=False, load_dtd=False, dtd_validation=False, **extra
    )


class _Resolver(etree.Resolver):
    """Serves schema documents from the folder only (see module docstring)."""

    def __init__(self, folder: Path, namespaces: dict[str, list[str]]) -> None:
        super().__init__()
        self.folder = folder
        self.base = folder.as_uri() + "/"
        self.adapter = {ns: f"{self.base}namespace-{i}.xsd" for i, ns in enumerate(namespaces)}
        self.adapters = {
            self.adapter[ns]: (
                f'<xs:schema xmlns:xs="{XSD}" targetNamespace="{ns}">'
                + "".join(f'<xs:include schemaLocation="{self.base}{f}"/>' for f in files)
                + "</xs:schema>"
            )
            for ns, files in namespaces.items()
        }

    def resolve(self, url: str, pubid: str | None, context: object) -> object:
        if url in self.adapters:
            return self.resolve_string(self.adapters[url], context, base_url=url)
        name = _REMOTE.get(url)
        if name is None and url.startswith(self.base) and "/" not in url[len(self.base) :]:
            name = url[len(self.base) :]
        if name is None or not (self.folder / name).is_file():
            raise ValueError(f"schema document outside {self.folder}: {url}")
        root = etree.parse(str(self.folder / name), safe_parser()).getroot()
        for imp in root.iter(f"{{{XSD}}}import"):
            imp.set("schemaLocation", self.adapter[imp.get("namespace", "")])
        return self.resolve_string(etree.tostring(root), context, base_url=self.base + name)


class Validator:
    """The vendored schemas, compiled once; :meth:`part_problems` checks one part."""

    def __init__(self, folder: Path = SCHEMAS) -> None:
        folder = folder.resolve()
        namespaces: dict[str, list[str]] = {}
        for path in sorted(folder.glob("*.xsd")):
            root = etree.parse(str(path), safe_parser()).getroot()
            namespaces.setdefault(root.get("targetNamespace", ""), []).append(path.name)
        #: The namespaces the vendored schemas define: what this consumer "understands".
        self.understood = frozenset(namespaces)
        resolver = _Resolver(folder, namespaces)
        parser = safe_parser()
        parser.resolvers.add(resolver)
        # the XML namespace first: some schemas import it without a location
        order = [XML_NS, *sorted(ns for ns in namespaces if ns != XML_NS)]
        driver = (
            f'<xs:schema xmlns:xs="{XSD}" targetNamespace="urn:retention-xl:ooxml-driver">'
            + "".join(
                f'<xs:import namespace="{ns}" schemaLocation="{resolver.adapter[ns]}"/>'
                for ns in order
            )
            + "</xs:schema>"
        )
        doc = etree.fromstring(driver.encode(), parser, base_url=resolver.base + "driver.xsd")
        self.schema = etree.XMLSchema(doc)

    def part_problems(self, part: str, data: bytes, expected_root: str | None) -> list[str]:
        """Problems of one XML part (``part:line: message`` each; empty when valid)."""
        try:
            tree = etree.ElementTree(etree.fromstring(data, safe_parser()))
        except etree.XMLSyntaxError as exc:
            return [f"{part}:{exc.lineno}: not well-formed: {exc.msg}"]
        if tree.docinfo.doctype:
            return [f"{part}:1: a DOCTYPE, which OOXML parts may not have"]
        root = tree.getroot()
        out = [f"{part}:{line}: {msg}" for line, msg in markup_compatibility(root, self.understood)]
        out += [f"{part}:{line}: {msg}" for line, msg in _xml_space(root)]
        if expected_root is not None and root.tag != expected_root:
            out.append(f"{part}:{root.sourceline}: root is {root.tag}, expected {expected_root}")
        if not self.schema.validate(root):
            out += [f"{part}:{e.line}: {e.message}" for e in self.schema.error_log]
        return out

    def package_problems(self, path: str | Path) -> tuple[list[str], dict[str, str]]:
        """Every XML part of the package at ``path`` validated against its schema.

        Returns the problems and the parts checked (part name -> root tag).
        """
        problems: list[str] = []
        checked: dict[str, str] = {}
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            if CONTENT_TYPES_PART not in names:
                return [f"{CONTENT_TYPES_PART}: missing"], checked
            types = zf.read(CONTENT_TYPES_PART)
            problems += self.part_problems(CONTENT_TYPES_PART, types, f"{{{CT}}}Types")
            checked[CONTENT_TYPES_PART] = f"{{{CT}}}Types"
            defaults, overrides = content_types(types)
            for name in names:
                if name == CONTENT_TYPES_PART:
                    continue
                segment = posixpath.basename(name)
                ext = segment.rpartition(".")[2].lower() if "." in segment else ""
                ctype = overrides.get("/" + name.lower(), defaults.get(ext))
                if ctype is None:
                    problems.append(f"{name}: no content type")
                    continue
                if not (ctype.endswith("+xml") or ctype.endswith("/xml")):
                    continue  # binary parts: images, VBA
                expected = ROOTS.get(ctype)
                if expected is None:
                    problems.append(f"{name}: no schema known for content type {ctype}")
                    continue
                problems += self.part_problems(name, zf.read(name), expected)
                checked[name] = expected
        return problems, checked


def content_types(data: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """(extension -> type, lower-cased "/part" -> type) of a [Content_Types].xml."""
    root = etree.fromstring(data, safe_parser())
    defaults = {
        d.get("Extension", "").lower(): d.get("ContentType", "")
        for d in root.iter(f"{{{CT}}}Default")
    }
    overrides = {
        o.get("PartName", "").lower(): o.get("ContentType", "")
        for o in root.iter(f"{{{CT}}}Override")
    }
    return defaults, overrides


def _namespaces(element: etree._Element, prefixes: str) -> set[str]:
    out = set()
    for prefix in prefixes.split():
        ns = element.nsmap.get(prefix)
        out.add(ns if ns is not None else f"(undeclared prefix {prefix})")
    return out


def markup_compatibility(root: etree._Element, understood: Iterable[str]) -> list[tuple[int, str]]:
    """Apply ECMA-376 Part 3 to ``root`` in place (see module docstring); the problems."""
    understood = frozenset(understood)
    problems: list[tuple[int, str]] = []

    def walk(element: etree._Element, ignorable: frozenset[str]) -> None:
        line = element.sourceline or 0
        declared = element.get(f"{{{MC}}}Ignorable")
        if declared is not None:
            ignorable = ignorable | _namespaces(element, declared)
        must = element.get(f"{{{MC}}}MustUnderstand")
        if must is not None:
            for ns in sorted(_namespaces(element, must) - understood):
                problems.append((line, f"mc:MustUnderstand names {ns}, not understood"))
        if element.get(f"{{{MC}}}ProcessContent") is not None:
            problems.append((line, "mc:ProcessContent is not handled by this check"))
        for name in list(element.attrib):
            ns = etree.QName(name).namespace
            if ns == MC or (ns in ignorable and ns not in understood):
                del element.attrib[name]
        for child in list(element):
            if not isinstance(child.tag, str):
                continue  # comments, processing instructions
            ns = etree.QName(child).namespace
            if child.tag == f"{{{MC}}}AlternateContent":
                chosen = _choose(child, understood)
                position = element.index(child)
                element.remove(child)
                for offset, grandchild in enumerate(chosen):
                    element.insert(position + offset, grandchild)
                    walk(grandchild, ignorable)
            elif ns in ignorable and ns not in understood:
                element.remove(child)
            else:
                walk(child, ignorable)

    walk(root, frozenset())
    return problems


def _choose(alternate: etree._Element, understood: frozenset[str]) -> list[etree._Element]:
    for option in alternate:
        if option.tag == f"{{{MC}}}Choice":
            if _namespaces(option, option.get("Requires", "")) <= understood:
                return list(option)
        elif option.tag == f"{{{MC}}}Fallback":
            return list(option)
    return []


def _xml_space(root: etree._Element) -> list[tuple[int, str]]:
    problems = []
    key = f"{{{XML_NS}}}space"
    for element in root.iter():
        value = element.attrib.pop(key, None) if isinstance(element.tag, str) else None
        if value is not None and value not in ("default", "preserve"):
            problems.append((element.sourceline or 0, f"xml:space={value!r}"))
    return problems
