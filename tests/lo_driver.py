"""Drive headless LibreOffice Calc through UNO; one JSON command per line on stdin.

Runs under the *system* Python (the one python3-uno is installed for), started by
tests/libreoffice.py. It starts its own ``soffice`` with a fresh profile, answers every
command with one JSON line on stdout (``{"ok": result}`` or ``{"error": text}``) and
stops LibreOffice and removes the profile when stdin closes or on ``quit``.

Commands (``{"op": name, ...arguments}``):

load path                  -> {"doc": id, "sheets": [...], "interactions": [...]}
calculate_all doc          -> {"seconds": wall time of calculateAll()}
formulas doc               -> [{"sheet", "cell", "formula", "value", "error"}...]
                              (formulas in the UNO API syntax: English, ';' separators)
values doc sheet range     -> rows of the range (numbers, text; errors as "#DIV/0!")
named_values doc name      -> rows of the range a defined name refers to
names doc                  -> {name: content} of the workbook's defined names
charts doc                 -> {sheet: {"charts": [{"name", "ranges", "data"}], "ole_objects"}}
set_named doc name value   -> sets the first cell of a named range (number or text)
set_cell doc sheet cell value / formula
insert_rows / delete_rows / insert_columns / delete_columns doc sheet index count
add_sheet doc name position rows chart -> a sheet with data (and a column chart)
rename_sheet doc old new; move_sheet doc name position
save_as doc path           -> writes .xlsx ("Calc MS Excel 2007 XML")
close doc; quit
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

import uno
import unohelper
from com.sun.star.task import XInteractionHandler

ERROR_TEXT = {
    501: "#NULL!",  # LibreOffice codes that map onto Excel errors
    502: "#VALUE!",
    503: "#NUM!",
    504: "#VALUE!",
    519: "#VALUE!",
    521: "#NULL!",
    522: "#REF!",
    523: "#NUM!",
    524: "#REF!",
    525: "#NAME?",
    532: "#DIV/0!",
    32767: "#N/A",
}


def col_letter(col: int) -> str:
    name = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        name = chr(65 + rem) + name
    return name


def api_formula(formula):
    """Excel-style ``,`` argument separators -> the UNO API's ``;`` (outside strings)."""
    out = []
    quoted = False
    for char in formula:
        if char == '"':
            quoted = not quoted
        out.append(";" if char == "," and not quoted else char)
    return "".join(out)


def prop(name, value):
    p = uno.createUnoStruct("com.sun.star.beans.PropertyValue")
    p.Name = name
    p.Value = value
    return p


class Recorder(unohelper.Base, XInteractionHandler):
    """Records every question LibreOffice asks while loading (repair prompts...)."""

    def __init__(self):
        self.requests = []

    def handle(self, request):
        req = request.getRequest()
        kind = getattr(req, "typeName", None) or type(req).__name__
        message = getattr(req, "Message", "") or ""
        self.requests.append(f"{kind}: {message}".strip())
        abort = uno.getTypeByName("com.sun.star.task.XInteractionAbort")
        continuations = request.getContinuations()
        for cont in continuations:
            if cont.queryInterface(abort) is not None:
                cont.select()
                return
        if continuations:
            continuations[0].select()


# Settings written into the fresh profile before soffice starts: no lock files next to
# the documents (``.~lock.NAME#``), so a worker never writes into the repository (tests
# open committed workbooks) and two workers' engines can open the same file at once.
PROFILE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Misc">
 <prop oor:name="UseLocking" oor:op="fuse"><value>false</value></prop>
</item>
</oor:items>
"""


class Office:
    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="rxl-lo-profile-")
        os.makedirs(os.path.join(self.profile, "user"))
        with open(os.path.join(self.profile, "user", "registrymodifications.xcu"), "w") as xcu:
            xcu.write(PROFILE_SETTINGS)
        self.pipe = f"rxl_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        soffice = shutil.which("soffice") or "soffice"
        self.proc = subprocess.Popen(
            [
                soffice,
                f"-env:UserInstallation=file://{self.profile}",
                "--headless",
                "--invisible",
                "--nologo",
                "--norestore",
                "--nodefault",
                "--nolockcheck",
                f"--accept=pipe,name={self.pipe};urp;StarOffice.ComponentContext",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                self.ctx = resolver.resolve(
                    f"uno:pipe,name={self.pipe};urp;StarOffice.ComponentContext"
                )
                break
            except Exception as exc:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("LibreOffice did not start (no UNO connection)") from exc
                time.sleep(0.2)
        self.smgr = self.ctx.ServiceManager
        self.desktop = self.smgr.createInstanceWithContext("com.sun.star.frame.Desktop", self.ctx)
        self.docs = {}
        self.next_id = 1

    # -------------------------------------------------------------- helpers
    def doc(self, args):
        return self.docs[args["doc"]]

    def sheet(self, doc, name):
        sheets = doc.getSheets()
        if not sheets.hasByName(name):
            raise KeyError(f"no sheet {name!r}; sheets: {list(sheets.getElementNames())}")
        return sheets.getByName(name)

    @staticmethod
    def cell_value(cell):
        from com.sun.star.table.CellContentType import EMPTY, FORMULA, TEXT

        kind = cell.getType()
        if kind == EMPTY:
            return None
        if kind == TEXT:
            return cell.getString()
        if kind == FORMULA:
            if cell.getError():
                return ERROR_TEXT.get(cell.getError(), f"Err:{cell.getError()}")
            from com.sun.star.sheet.FormulaResult import STRING

            if cell.FormulaResultType2 == STRING:
                return cell.getString()
        return cell.getValue()

    def range_values(self, rng):
        addr = rng.getRangeAddress()
        rows = []
        for r in range(addr.EndRow - addr.StartRow + 1):
            row = []
            for c in range(addr.EndColumn - addr.StartColumn + 1):
                row.append(self.cell_value(rng.getCellByPosition(c, r)))
            rows.append(row)
        return rows

    # -------------------------------------------------------------- commands
    def op_load(self, args):
        recorder = Recorder()
        url = uno.systemPathToFileUrl(os.path.abspath(args["path"]))
        doc = self.desktop.loadComponentFromURL(
            url,
            "_blank",
            0,
            (
                prop("Hidden", True),
                prop("InteractionHandler", recorder),
                prop("MacroExecutionMode", 0),
                prop("Silent", True),
            ),
        )
        if doc is None:
            raise RuntimeError(f"LibreOffice could not load {args['path']}: {recorder.requests}")
        ident = self.next_id
        self.next_id += 1
        self.docs[ident] = doc
        return {
            "doc": ident,
            "sheets": list(doc.getSheets().getElementNames()),
            "interactions": recorder.requests,
        }

    def op_sheets(self, args):
        return list(self.doc(args).getSheets().getElementNames())

    def op_calculate_all(self, args):
        doc = self.doc(args)
        t0 = time.perf_counter()
        doc.calculateAll()
        return {"seconds": time.perf_counter() - t0}

    def op_formulas(self, args):
        from com.sun.star.sheet.CellFlags import FORMULA
        from com.sun.star.sheet.FormulaResult import STRING

        doc = self.doc(args)
        out = []
        sheets = doc.getSheets()
        for index in range(sheets.getCount()):
            sheet = sheets.getByIndex(index)
            name = sheet.getName()
            ranges = sheet.queryContentCells(FORMULA)
            for addr in ranges.getRangeAddresses():
                rng = sheet.getCellRangeByPosition(
                    addr.StartColumn, addr.StartRow, addr.EndColumn, addr.EndRow
                )
                formulas = rng.getFormulaArray()
                data = rng.getDataArray()
                for r, row in enumerate(formulas):
                    for c, formula in enumerate(row):
                        if not formula.startswith("="):
                            continue
                        value = data[r][c]
                        cell = rng.getCellByPosition(c, r)
                        error = cell.getError()
                        if error:
                            value = None
                        elif cell.FormulaResultType2 == STRING:
                            value = cell.getString()
                        ref = f"{col_letter(addr.StartColumn + c)}{addr.StartRow + r + 1}"
                        out.append(
                            {
                                "sheet": name,
                                "cell": ref,
                                "formula": formula,
                                "value": value,
                                "error": ERROR_TEXT.get(error, f"Err:{error}") if error else None,
                            }
                        )
        return out

    def op_values(self, args):
        doc = self.doc(args)
        return self.range_values(self.sheet(doc, args["sheet"]).getCellRangeByName(args["range"]))

    def named_range(self, doc, name):
        names = doc.NamedRanges
        if not names.hasByName(name):
            raise KeyError(f"no defined name {name!r}")
        return names.getByName(name).getReferredCells()

    def op_named_values(self, args):
        doc = self.doc(args)
        return self.range_values(self.named_range(doc, args["name"]))

    def op_names(self, args):
        doc = self.doc(args)
        names = doc.NamedRanges
        return {n: names.getByName(n).getContent() for n in names.getElementNames()}

    def op_charts(self, args):
        doc = self.doc(args)
        out = {}
        sheets = doc.getSheets()
        for index in range(sheets.getCount()):
            sheet = sheets.getByIndex(index)
            charts = sheet.getCharts()
            found = []
            for chart_name in charts.getElementNames():
                chart = charts.getByName(chart_name)
                ranges = []
                for addr in chart.getRanges():
                    owner = sheets.getByIndex(addr.Sheet).getName()
                    ranges.append(
                        f"{owner}!{col_letter(addr.StartColumn)}{addr.StartRow + 1}:"
                        f"{col_letter(addr.EndColumn)}{addr.EndRow + 1}"
                    )
                try:  # the numbers the chart draws (XChartDataArray of its data)
                    data = [list(row) for row in chart.getEmbeddedObject().getData().getData()]
                except Exception:  # charts without a data array
                    data = None
                found.append({"name": chart_name, "ranges": ranges, "data": data})
            # charts drawn from other sheets' data are still on this sheet's draw page
            page = sheet.getDrawPage()
            objects = sum(
                1
                for i in range(page.getCount())
                if page.getByIndex(i).supportsService("com.sun.star.drawing.OLE2Shape")
            )
            out[sheet.getName()] = {"charts": found, "ole_objects": objects}
        return out

    def op_set_named(self, args):
        doc = self.doc(args)
        cell = self.named_range(doc, args["name"]).getCellByPosition(0, 0)
        self.set(cell, args)
        return None

    def op_set_cell(self, args):
        doc = self.doc(args)
        cell = self.sheet(doc, args["sheet"]).getCellRangeByName(args["cell"])
        self.set(cell, args)
        return None

    @staticmethod
    def set(cell, args):
        if args.get("formula") is not None:
            cell.setFormula(api_formula(args["formula"]))
        elif isinstance(args.get("value"), str):
            cell.setString(args["value"])
        else:
            cell.setValue(float(args["value"]))

    def op_add_sheet(self, args):
        doc = self.doc(args)
        sheets = doc.getSheets()
        position = args.get("position")
        sheets.insertNewByName(args["name"], sheets.getCount() if position is None else position)
        sheet = sheets.getByName(args["name"])
        rows = args["rows"]
        width = max(len(r) for r in rows)
        data = tuple(tuple(r) + ("",) * (width - len(r)) for r in rows)
        rng = sheet.getCellRangeByPosition(0, 0, width - 1, len(rows) - 1)
        rng.setDataArray(data)
        if args.get("chart"):
            rect = uno.createUnoStruct("com.sun.star.awt.Rectangle")
            rect.X, rect.Y, rect.Width, rect.Height = 1000, 1000 + 500 * len(rows), 12000, 7000
            sheet.getCharts().addNewByName(
                args["chart"], rect, (rng.getRangeAddress(),), True, True
            )
        return None

    def op_insert_rows(self, args):
        """Insert ``count`` rows before zero-based row ``index`` (Sheet > Insert Rows)."""
        sheet = self.sheet(self.doc(args), args["sheet"])
        sheet.getRows().insertByIndex(args["index"], args.get("count", 1))
        return None

    def op_delete_rows(self, args):
        sheet = self.sheet(self.doc(args), args["sheet"])
        sheet.getRows().removeByIndex(args["index"], args.get("count", 1))
        return None

    def op_insert_columns(self, args):
        sheet = self.sheet(self.doc(args), args["sheet"])
        sheet.getColumns().insertByIndex(args["index"], args.get("count", 1))
        return None

    def op_delete_columns(self, args):
        sheet = self.sheet(self.doc(args), args["sheet"])
        sheet.getColumns().removeByIndex(args["index"], args.get("count", 1))
        return None

    def op_rename_sheet(self, args):
        self.sheet(self.doc(args), args["old"]).setName(args["new"])
        return None

    def op_move_sheet(self, args):
        """Move a sheet so that it ends up at index ``position``."""
        sheets = self.doc(args).getSheets()
        names = list(sheets.getElementNames())
        position = args["position"]
        target = position + 1 if names.index(args["name"]) < position else position
        sheets.moveByName(args["name"], target)
        return None

    def op_save_as(self, args):
        doc = self.doc(args)
        url = uno.systemPathToFileUrl(os.path.abspath(args["path"]))
        doc.storeToURL(url, (prop("FilterName", "Calc MS Excel 2007 XML"), prop("Overwrite", True)))
        return None

    def op_pdf_pages(self, args):
        """Pages of one sheet as LibreOffice prints it: the other sheets are removed
        from the (unsaved) document, the rest exported to PDF and its pages counted."""
        doc = self.doc(args)
        sheets = doc.getSheets()
        for name in list(sheets.getElementNames()):
            if name != args["sheet"]:
                sheets.removeByName(name)
        url = uno.systemPathToFileUrl(os.path.abspath(args["path"]))
        doc.storeToURL(url, (prop("FilterName", "calc_pdf_Export"),))
        with open(args["path"], "rb") as pdf:
            return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read()))

    def op_close(self, args):
        doc = self.docs.pop(args["doc"])
        doc.close(True)
        return None

    def quit(self):
        for doc in list(self.docs.values()):
            with contextlib.suppress(Exception):
                doc.close(True)
        self.docs.clear()
        with contextlib.suppress(Exception):
            self.desktop.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=20)
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but answers on the protocol stream
    try:
        office = Office()
    except Exception as exc:
        out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
        out.flush()
        return
    out.write(json.dumps({"ok": {"version": "started"}}) + "\n")
    out.flush()
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            args = json.loads(line)
            if args.get("op") == "quit":
                out.write(json.dumps({"ok": None}) + "\n")
                out.flush()
                break
            try:
                result = getattr(office, "op_" + args["op"])(args)
                answer = {"ok": result}
            except Exception as exc:
                answer = {"error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"}
            out.write(json.dumps(answer) + "\n")
            out.flush()
    finally:
        office.quit()


if __name__ == "__main__":
    main()
