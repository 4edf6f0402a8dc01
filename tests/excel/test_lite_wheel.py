"""The xlwings Lite path: the wheel builds, needs only what Pyodide ships, and
``retention-xl lite`` writes what to paste into the add-in."""

from __future__ import annotations

import email
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from retention_xl.excel.udfs import REGISTRY  # (importing udfs fills the registry)

ROOT = Path(__file__).resolve().parents[2]
#: What Pyodide provides for the wheel's requirements (numpy, pandas, scipy and theirs)
PYODIDE_PACKAGES = ("numpy", "pandas", "scipy", "dateutil", "six", "pytz", "tzdata")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # built from a copy of the sources: pip writes build/ and *.egg-info into the tree it
    # builds, which must not change under the other workers (they import from ROOT)
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "retention_xl",
        source / "retention_xl",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(source), "-w", str(out)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (found,) = out.glob("retention_xl-*-py3-none-any.whl")
    return found


def test_the_wheel_is_pure_python_and_requires_only_numpy_pandas_scipy(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(zf.read(meta_name))
        wheel_info = zf.read(meta_name.replace("METADATA", "WHEEL")).decode()
    assert "Root-Is-Purelib: true" in wheel_info
    assert not [n for n in names if n.endswith((".so", ".pyd", ".dylib"))]
    assert "retention_xl/excel/udfs.py" in names and "retention_xl/py.typed" in names
    assert meta["Name"] == "retention-xl" and meta["Requires-Python"] == ">=3.11"
    core = sorted(
        r.split(">=")[0] for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r
    )
    assert core == ["numpy", "pandas", "scipy"]


def test_the_functions_import_with_only_what_pyodide_ships(wheel: Path, tmp_path: Path) -> None:
    """A clean interpreter with the wheel, numpy, pandas and scipy - no xlwings, click,
    openpyxl, XlsxWriter, defusedxml: the functions import and compute."""
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)  # installing a pure wheel is unpacking it
    deps = tmp_path / "deps"
    deps.mkdir()
    for name in PYODIDE_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue  # e.g. tzdata where the system has zoneinfo
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (deps / source.name).symlink_to(source, target_is_directory=source.is_dir())
    for libs in Path(importlib.util.find_spec("numpy").origin).parents[1].glob("*.libs"):  # type: ignore[arg-type]
        (deps / libs.name).symlink_to(libs, target_is_directory=True)  # numpy/scipy's libs
    script = (
        "import sys\n"
        "import retention_xl.excel.udfs as u\n"
        "assert u.CHURN(1000, 50) == 0.05, u.CHURN(1000, 50)\n"
        "assert abs(u.NPS([[10], [9], [3]], None) - 100 / 3) < 1e-9\n"
        "extra = {'xlwings', 'click', 'openpyxl', 'xlsxwriter', 'defusedxml', 'python_calamine'}\n"
        "assert not extra & set(sys.modules), extra & set(sys.modules)\n"
        "print('ok', len(u.REGISTRY))\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": f"{site}{os.pathsep}{deps}"}
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", "import sys; sys.path[:0] = "
         f"[{str(site)!r}, {str(deps)!r}]; exec({script!r})"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # every function of the package's registry is in the wheel
    assert result.stdout.split() == ["ok", str(len(REGISTRY))]


def test_lite_writes_what_to_paste(tmp_path: Path, run_cli) -> None:
    url = "https://example.org/wheels/retention_xl-0.1.0-py3-none-any.whl"
    result = run_cli("lite", "--wheel-url", url, "--out", str(tmp_path / "lite"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "lite" / "requirements.txt").read_text().splitlines() == ["xlwings", url]
    main = (tmp_path / "lite" / "main.py").read_text()
    assert "from retention_xl.excel.udfs import *" in main
    assert "CORS" in result.stdout
    bad = run_cli("lite", "--wheel-url", "http://example.org/x.whl", "--out", str(tmp_path / "b"))
    assert bad.returncode == 2 and "https://" in bad.stderr
    assert not (tmp_path / "b").exists()


def test_lite_help_links_open_each_functions_section(tmp_path: Path, run_cli) -> None:
    """The main.py written for Lite, loaded by xlwings' Office.js machinery, gives every
    function a help link into the page written beside it, and that page has the section."""
    import html.parser
    import json

    from retention_xl.excel.udfs import REGISTRY

    url = "https://example.org/wheels/retention_xl-0.1.0-py3-none-any.whl"
    result = run_cli("lite", "--wheel-url", url, "--out", str(tmp_path / "lite"))
    assert result.returncode == 0, result.stderr
    page_url = "https://example.org/wheels/retention_xl_functions.html"
    assert page_url in result.stdout
    script = (
        "import importlib.util, json, sys\n"
        "from xlwings import server\n"
        "spec = importlib.util.spec_from_file_location('main', sys.argv[1])\n"
        "main = importlib.util.module_from_spec(spec); spec.loader.exec_module(main)\n"
        "meta = server.custom_functions_meta(main)\n"
        "print(json.dumps({f['name']: f.get('helpUrl') for f in meta['functions']}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "RETENTION_XL_HELP_URL"}
    env.update(XLWINGS_ON_SERVER="true", XLWINGS_LICENSE_KEY="noncommercial")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "lite" / "main.py")],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    links = json.loads(proc.stdout)
    assert links == {name: f"{page_url}#{name}" for name in REGISTRY}

    ids: list[str] = []

    class Sections(html.parser.HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "section":
                ids.append(dict(attrs)["id"] or "")

    parser = Sections()
    parser.feed((tmp_path / "lite" / "retention_xl_functions.html").read_text(encoding="utf-8"))
    assert ids == list(REGISTRY)

    other = run_cli(
        "lite", "--wheel-url", url, "--help-url", "https://docs.example.org/rxl",
        "--out", str(tmp_path / "other"),
    )  # fmt: skip
    assert other.returncode == 0, other.stderr
    assert "'https://docs.example.org/rxl'" in (tmp_path / "other" / "main.py").read_text()
    bad = run_cli("lite", "--wheel-url", url, "--help-url", "javascript:alert(1)",
                  "--out", str(tmp_path / "bad"))  # fmt: skip
    assert bad.returncode == 2 and "--help-url" in bad.stderr
    assert not (tmp_path / "bad").exists()
