"""The example notebooks execute without error and draw their figures.

Every ``examples/*.ipynb`` runs in a fresh kernel of this test's Python (a kernelspec
written to a temporary ``JUPYTER_PATH``, nothing registered globally), with the
``examples`` folder as working directory, as a user would open them. Each cell tagged
``figure`` must output an image.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

EXAMPLES = Path(__file__).parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
KERNEL = "anodefree-test-venv"


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    """A kernelspec that runs this Python, found through a temporary JUPYTER_PATH."""
    folder = tmp_path / "jupyter" / "kernels" / KERNEL
    folder.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "anodefree tests",
        "language": "python",
    }
    (folder / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return KERNEL


def test_every_notebook_has_figure_cells():
    assert len(NOTEBOOKS) >= 3
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        tagged = [c for c in notebook.cells if "figure" in c.metadata.get("tags", [])]
        assert tagged, f"{path.name} has no cell tagged 'figure'"
        outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
        assert not outputs, f"{path.name} is committed with outputs; clear them"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_and_draws_its_figures(path, kernel):
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name=kernel,
        timeout=300,
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    client.execute()  # raises CellExecutionError with the traceback of a failing cell
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{path.name} cell {index}: {errors}"
        if "figure" in cell.metadata.get("tags", []):
            images = [
                o
                for o in cell.outputs
                if o.output_type in {"display_data", "execute_result"} and "image/png" in o.data
            ]
            assert images, f"{path.name} cell {index} drew no figure:\n{cell.source}"
            assert all(len(o.data["image/png"]) > 2000 for o in images)
