"""The public API stays in sync: every core module's ``__all__`` is re-exported."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

import retention_xl

CORE_MODULES = [
    "kpis",
    "customers",
    "periods",
    "cohorts",
    "subscriptions",
    "survey",
    "survival",
    "benchmarks",
    "report",
    "models",
]
NOT_REEXPORTED = {"KPI_UNITS"}


def test_all_names_exist_and_are_unique():
    assert len(retention_xl.__all__) == len(set(retention_xl.__all__))
    for name in retention_xl.__all__:
        assert hasattr(retention_xl, name), name


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_modules_are_exported_at_the_top(module):
    mod = importlib.import_module(f"retention_xl.core.{module}")
    missing = set(mod.__all__) - set(retention_xl.__all__) - NOT_REEXPORTED
    assert not missing, f"retention_xl.core.{module} names not exported: {sorted(missing)}"
    for name in mod.__all__:
        if name in retention_xl.__all__:
            assert getattr(retention_xl, name) is getattr(mod, name)


def test_import_needs_only_the_core_dependencies():
    code = (
        "import sys, retention_xl\n"
        "heavy = {'xlsxwriter', 'openpyxl', 'xlwings', 'python_calamine', 'click'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_command_line_help_loads_no_heavy_library():
    """``retention-xl --help`` starts without numpy, pandas or scipy (lazy imports)."""
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from retention_xl.cli import main\n"
        "for args in (['--help'], ['build', '--help'], ['kpis', '--help']):\n"
        "    assert CliRunner().invoke(main, args).exit_code == 0, args\n"
        "print(sorted({'numpy', 'pandas', 'scipy'} & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_report_build_does_not_load_scipy_stats():
    """The normal quantile and distribution come from scipy.special (``ndtri``, ``ndtr``,
    the functions scipy.stats' ``norm`` calls): scipy.stats, a quarter second of CPU to
    import, is not loaded by building a report."""
    code = (
        "import sys, tempfile, pathlib\n"
        "from retention_xl.datasets import generate_orders\n"
        "from retention_xl.workbook.build import model_predictions, plan_report, write_workbook\n"
        "import retention_xl.core.survival\n"
        "orders = generate_orders(n_orders=2000, seed=0)\n"
        "p = model_predictions(orders, as_of=None, margin=1.0, discount_rate=0.1)\n"
        "plan = plan_report(orders, predictions=p)\n"
        "write_workbook(plan, pathlib.Path(tempfile.mkdtemp()) / 'r.xlsx')\n"
        "print('scipy.stats' in sys.modules, 'scipy.special' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_the_kpis_command_loads_no_model_and_no_scipy(run_cli, tmp_path, monkeypatch):
    """``retention-xl kpis`` needs the KPI functions only: the models (and scipy, about
    0.4 s of CPU to import with them) load for the commands that predict."""
    from retention_xl.datasets import sample_paths

    probe = tmp_path / "probe"
    probe.mkdir()
    # runs at the command's exit and says what it had loaded
    (probe / "sitecustomize.py").write_text(
        "import atexit, sys\n"
        "atexit.register(lambda: print('LOADED', 'scipy' in sys.modules,"
        " 'retention_xl.core.models' in sys.modules, 'retention_xl.core.report' in sys.modules,"
        " file=sys.stderr))\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(probe))  # run_cli puts the checkout before it
    res = run_cli("kpis", "--orders", str(sample_paths().orders), "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["kpis"]
    assert "LOADED False False True" in res.stderr


def test_special_functions_are_the_normal_distribution():
    import numpy as np
    from scipy import special, stats

    q = np.linspace(0.5, 1.0 - 1e-9, 10_001)
    assert np.array_equal(special.ndtri(q), stats.norm.ppf(q))
    x = np.linspace(-40.0, 40.0, 10_001)
    assert np.array_equal(special.ndtr(x), stats.norm.cdf(x))


def test_core_names_load_on_first_use():
    code = (
        "import sys, retention_xl\n"
        "before = 'scipy' in sys.modules\n"
        "model = retention_xl.BetaGeo\n"
        "print(before, 'scipy' in sys.modules, model.__module__,"
        " 'churn_rate' in dir(retention_xl))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "retention_xl.core.models.bgnbd", "True"]
    with pytest.raises(AttributeError, match="no_such_name"):
        retention_xl.no_such_name  # noqa: B018


@pytest.mark.parametrize(
    ("module", "missing", "words"),
    [
        ("retention_xl.io", "defusedxml", "pip install 'retention-xl[cli]'"),
        ("retention_xl.cli", "click", "needs the 'cli' extra"),
    ],
)
def test_a_missing_extra_is_named(module: str, missing: str, words: str) -> None:
    """A core-only install: importing what needs an extra says which extra to install."""
    import subprocess
    import sys

    script = (
        f"import sys; sys.modules[{missing!r}] = None\n"  # as if not installed
        f"import {module}\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert words in result.stderr
    assert "Traceback" not in result.stderr or "ModuleNotFoundError: retention_xl" in result.stderr
