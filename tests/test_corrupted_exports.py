"""Real exports corrupted byte by byte go through ``kpis``, ``build`` and ``refresh``:
every run either succeeds with finite numbers or exits 2 with a message naming the
file; never a traceback, and a refused refresh leaves the workbook byte-identical.

The commands run through click's own entry point in this process (a subprocess per
generated example would take minutes); exit codes and messages are the CLI's.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shopify_headers import SHOPIFY_HEADERS
from test_io_platforms import shopify_order, to_csv

from retention_xl.cli import main
from retention_xl.workbook.build import plan_template, write_workbook


def _shopify() -> bytes:
    rows = []
    for i in range(12):
        rows += shopify_order(
            f"#{1000 + i}", f"c{i % 5}@example.com", f"2024-0{1 + i % 9}-1{i % 9} 10:00:00 +0100",
            f"{20 + i}.50", "5.00", "0.00", f"{25 + i}.50",
            refunded="3.00" if i % 4 == 0 else "0.00",
            status="partially_refunded" if i % 4 == 0 else "paid",
        )  # fmt: skip
    return to_csv(SHOPIFY_HEADERS, rows)


def _italian() -> bytes:
    lines = ["Cliente;Numero ordine;Data ordine;Importo;Stato;Valuta"]
    for i in range(15):
        lines.append(f"cliente{i % 6}@esempio.it;A-{i};{1 + i % 27:02d}/0{1 + i % 8}/2024;"
                     f"{10 + i},{i % 10}0;{'Rimborsato' if i == 3 else 'Pagato'};EUR")  # fmt: skip
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


EXPORTS = {"orders_export_1.csv": _shopify(), "ordini.csv": _italian()}


@st.composite
def corrupted(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(EXPORTS)))
    data = bytearray(EXPORTS[name])
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "duplicate"]))
        if action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=12))
        elif action == "truncate":
            del data[at:]
        else:
            end = min(len(data), at + draw(st.integers(1, 200)))
            data[at:at] = data[at:end]
    return name, bytes(data)


def _run(args: list[str]) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(main, args, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args}: uncaught {result.exception!r}") from result.exception
    return result.exit_code, result.stdout, result.stderr


def _finite(payload: object) -> bool:
    if isinstance(payload, dict):
        return all(_finite(v) for v in payload.values())
    if isinstance(payload, list):
        return all(_finite(v) for v in payload)
    return not (isinstance(payload, float) and not math.isfinite(payload))


SETTINGS = settings(
    max_examples=int(os.environ.get("RXL_CORRUPTION_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(case=corrupted())
def test_kpis_on_a_corrupted_export(tmp_path: Path, case: tuple[str, bytes]) -> None:
    name, data = case
    path = tmp_path / name
    path.write_bytes(data)
    code, out, err = _run(["kpis", "--orders", str(path), "--json"])
    assert code in (0, 2), (code, err)
    if code == 0:
        payload = json.loads(out, parse_constant=lambda c: pytest.fail(f"invalid JSON {c}"))
        assert _finite(payload)
    else:
        assert name in err and "Traceback" not in err


@SETTINGS
@given(case=corrupted())
def test_build_on_a_corrupted_export(tmp_path: Path, case: tuple[str, bytes]) -> None:
    name, data = case
    path = tmp_path / name
    path.write_bytes(data)
    out = tmp_path / "report.xlsx"
    out.unlink(missing_ok=True)
    code, _, err = _run(["build", "--orders", str(path), "--out", str(out)])
    assert code in (0, 2), (code, err)
    if code == 0:
        assert out.stat().st_size > 10_000
    else:
        assert name in err or "--out" in err, err
        assert not out.exists()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_workbook(plan_template(lang="it"), tmp_path_factory.mktemp("t") / "T.xlsx")


@SETTINGS
@given(case=corrupted())
def test_refresh_with_a_corrupted_export(
    tmp_path: Path, template: Path, case: tuple[str, bytes]
) -> None:
    name, data = case
    path = tmp_path / name
    path.write_bytes(data)
    book = tmp_path / "Modello.xlsx"
    shutil.copyfile(template, book)
    before = book.read_bytes()
    code, _, err = _run(["refresh", str(book), "--orders", str(path), "--quiet"])
    assert code in (0, 2), (code, err)
    if code == 2:
        assert name in err, err
        assert book.read_bytes() == before
    else:
        assert book.read_bytes() != before
