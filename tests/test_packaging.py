"""The built wheel carries every file the code reads at run time (presets)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_contains_the_presets(tmp_path):
    # Build from a clean copy: a build/ folder left in the checkout would leak stale files.
    source = tmp_path / "source"
    keep = {"setup.py", "pyproject.toml", "README.md", "anodefree", "structures", "workflows",
            "analysis", "models"}  # fmt: skip
    source.mkdir()
    for name in keep:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    subprocess.run(  # noqa: S603 - pip in this interpreter, fixed arguments
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("anodefree-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    presets = sorted(p.name for p in (ROOT / "anodefree" / "presets").glob("*.yaml"))
    assert presets
    for name in presets:
        assert f"anodefree/presets/{name}" in names
    assert "anodefree/workflows/migration.py" in names
