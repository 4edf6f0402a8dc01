"""The function table in the README, the ``retention-xl functions`` listing and the
decorated module agree; and the decorated module is what xlwings expects."""

from __future__ import annotations

import inspect
import re
import subprocess
import typing
from collections.abc import Callable
from pathlib import Path

import pytest

from retention_xl.excel import registry, udfs

README = Path(__file__).resolve().parents[2] / "README.md"

# The Excel function names of the design's contract.
CONTRACT = {
    "CHURN", "RETENTION", "REPEAT_RATE", "CLV", "CLV_CAC", "NPS", "CSAT", "MRR", "AOV",
    "PURCHASE_FREQ", "LIFESPAN", "NRR", "GRR", "QUICK_RATIO", "AT_RISK", "BENCHMARK",
    "BENCHMARK_TARGET", "RFM", "COHORT", "MRR_MOVEMENTS", "SURVIVAL",
    "BGNBD_FIT", "PALIVE", "PREDICT_PURCHASES", "GG_FIT", "PREDICT_CLV", "SBG_FIT",
    "SBG_RETENTION",
    "MBGNBD_FIT", "MBGNBD_PALIVE", "MBGNBD_PREDICT_PURCHASES",
    "BGBB_FIT", "BGBB_PALIVE", "BGBB_PREDICT_PURCHASES",
    "BGNBD_PALIVE_INTERVAL", "BGNBD_PURCHASES_INTERVAL", "BGNBD_PURCHASES_PI",
    "BGNBD_CLV_INTERVAL", "BGNBD_TOTALS",
    "MBGNBD_PALIVE_INTERVAL", "MBGNBD_PURCHASES_INTERVAL", "MBGNBD_PURCHASES_PI",
    "BGBB_PALIVE_INTERVAL", "BGBB_PURCHASES_INTERVAL", "BGBB_PURCHASES_PI",
}  # fmt: skip

# Words VBA reserves: classic xlwings writes each argument name into a VBA signature.
VBA_RESERVED = {
    "and", "as", "boolean", "byref", "byte", "byval", "call", "case", "const", "currency",
    "date", "decimal", "declare", "dim", "do", "double", "each", "else", "elseif", "empty",
    "end", "enum", "eqv", "erase", "error", "event", "exit", "false", "for", "friend",
    "function", "get", "global", "gosub", "goto", "if", "imp", "implements", "in",
    "integer", "is", "let", "like", "long", "loop", "lset", "me", "mod", "new", "next",
    "not", "nothing", "null", "on", "option", "optional", "or", "paramarray", "preserve",
    "private", "property", "public", "raiseevent", "redim", "rem", "resume", "return",
    "rset", "select", "set", "single", "static", "step", "stop", "string", "sub", "then",
    "to", "true", "type", "typeof", "until", "variant", "wend", "while", "with", "xor",
    "argsarray", "k",  # names the generated VBA wrapper uses itself
}  # fmt: skip

FUNCTIONS = list(registry.REGISTRY.values())


def test_registry_covers_the_contract_exactly() -> None:
    assert set(registry.REGISTRY) == CONTRACT


@pytest.mark.parametrize("function", FUNCTIONS, ids=[f.name for f in FUNCTIONS])
def test_decorated_function_matches_its_registry_entry(function: registry.ExcelFunction) -> None:
    udf = getattr(udfs, function.name)
    assert udf is function.udf
    assert udf.__name__ == function.name
    assert udf.__doc__ == function.help
    params = list(inspect.signature(udf).parameters.values())
    assert [p.name for p in params] == [a.name for a in function.args]
    for param, arg in zip(params, function.args, strict=True):
        assert param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        assert (param.default is None) == arg.optional
        if not arg.optional:
            assert param.default is inspect.Parameter.empty
    # xlwings reads annotations as converters: there must be none.
    assert typing.get_type_hints(udf) == {}
    # Optional arguments come last (Excel and VBA require it).
    flags = [a.optional for a in function.args]
    assert flags == sorted(flags)


@pytest.mark.parametrize("function", FUNCTIONS, ids=[f.name for f in FUNCTIONS])
def test_help_fits_the_function_wizard(function: registry.ExcelFunction) -> None:
    assert function.help and len(function.help) <= registry.help_line_limit
    assert "\n" not in function.help and "|" not in function.help
    for arg in function.args:
        assert arg.doc and len(arg.doc) <= 255 and "|" not in arg.doc
        assert re.fullmatch(r"[a-z][a-z0-9_]*", arg.name)
        assert arg.name.lower() not in VBA_RESERVED
    assert function.twin.startswith("retention_xl.")
    assert re.fullmatch(r"[A-Z][A-Z_]*", function.name)


def test_twins_exist_for_the_scalar_functions() -> None:
    import retention_xl

    for function in FUNCTIONS:
        if function.twin.count(".") == 1:
            assert callable(getattr(retention_xl, function.twin.split(".")[1]))


def test_module_exposes_exactly_the_registered_functions() -> None:
    public = {
        name
        for name, value in vars(udfs).items()
        if callable(value) and not name.startswith("_") and name.isupper()
    }
    assert public == set(registry.REGISTRY)
    assert set(udfs.__all__) == set(registry.REGISTRY) | {"REGISTRY"}
    # Each function object appears once in the module: hosts list every member.
    for function in FUNCTIONS:
        assert sum(value is function.udf for value in vars(udfs).values()) == 1


def test_registry_refuses_mismatched_arguments() -> None:
    with pytest.raises(TypeError, match="do not match"):

        @registry.excel_function(
            "TEST_MISMATCH",
            twin="retention_xl.x",
            category="c",
            help="h",
            args=(registry.Arg("a", "a"),),
            example="=TEST_MISMATCH(1)",
            example_result="1",
        )
        def _f(b: object) -> object:
            return b

    with pytest.raises(ValueError, match="one line"):
        registry.excel_function(
            "TEST_LONG",
            twin="t",
            category="c",
            help="x" * 300,
            args=(),
            example="",
            example_result="",
        )
    assert "TEST_MISMATCH" not in registry.REGISTRY


def test_readme_table_is_the_registry_table() -> None:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- functions:start[^>]*-->\n(.*?)\n<!-- functions:end -->", text, re.S)
    assert match, "README lacks the generated function table"
    assert match.group(1) == registry.markdown_table()
    assert "## Using the functions in Excel" in text


def test_cli_listing_agrees_with_the_registry(
    run_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    result = run_cli("functions")
    assert result.returncode == 0, result.stderr
    listed = re.findall(r"^([A-Z_]+)\((.*)\)$", result.stdout, re.M)
    assert [name for name, _ in listed] == list(registry.REGISTRY)
    for (_name, args), function in zip(listed, FUNCTIONS, strict=True):
        assert [a.strip(" []") for a in args.split(",")] == [a.name for a in function.args]
        assert f"    {function.help}\n" in result.stdout
        for arg in function.args:
            assert f"    {arg.name}: {arg.doc}" in result.stdout
    markdown = run_cli("functions", "--format", "markdown")
    assert markdown.returncode == 0
    assert markdown.stdout.strip() == registry.markdown_table()
