"""The SLURM start/stop scripts refuse clearly where they cannot work (fast, no cluster).

The successful path (start, idle node, idempotence) is exercised by the session fixture
of ``test_queue_slurm.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).parents[1] / "scripts" / "slurm"


def run_without_slurm_on_path(script: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``script`` as an unprivileged user whose PATH has no SLURM commands."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("id", "dirname", "grep"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    bin_dir.chmod(0o755)
    tmp_path.chmod(0o755)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    if os.geteuid() == 0:
        # root: drop to `nobody` for the run
        command = [shutil.which("runuser"), "-u", "nobody", "--", "/usr/bin/env", f"PATH={bin_dir}",
                   "/bin/sh", str(script)]  # fmt: skip
    else:
        command = ["/bin/sh", str(script)]
    return subprocess.run(  # noqa: S603 (scripts of this repository)
        command, capture_output=True, text=True, env=env, timeout=60, check=False
    )


@pytest.mark.skipif(
    os.geteuid() == 0 and shutil.which("runuser") is None, reason="root without runuser"
)
def test_start_refuses_without_root_with_exit_code_2(tmp_path):
    proc = run_without_slurm_on_path(SCRIPTS / "start.sh", tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "not root" in proc.stdout


@pytest.mark.skipif(
    os.geteuid() == 0 and shutil.which("runuser") is None, reason="root without runuser"
)
def test_stop_refuses_without_root(tmp_path):
    proc = run_without_slurm_on_path(SCRIPTS / "stop.sh", tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "not root" in proc.stdout


def test_config_template_has_every_placeholder_start_fills():
    template = (SCRIPTS / "slurm.conf.in").read_text()
    start = (SCRIPTS / "start.sh").read_text()
    placeholders = ("@CTLD_HOST@", "@HOST@", "@NODEADDR@", "@CPUS@", "@MEMORY@")
    for placeholder in placeholders:
        assert placeholder in template
        assert f"s|{placeholder}|" in start
    # The marker that lets start.sh/stop.sh recognise their own configuration.
    assert "anodefree-test-cluster" in template
