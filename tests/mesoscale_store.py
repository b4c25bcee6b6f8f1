"""A small toy-engine campaign store shared by the export and mesoscale tests (built once).

The `morse` engine runs the real interface-defect, solute-vacancy and migration flows on
Li/Li2S and Li-Mg/Li2S (about a minute on a shared machine), so every number the builders
map comes from a stored document the campaign produced, not from a hand-made one.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from threadpoolctl import threadpool_limits

CONFIG = {
    "name": "meso-test",
    "engine": {"name": "morse"},
    "relax": {"fmax": 0.005, "max_steps": 300},
    "bulk": {"phases": ["Li", "Li2S", "Mg"]},
    "bulk_vacancy": None,
    "solute_vacancy": {"solutes": ["Mg"], "repetitions": 3, "shells": [1, 2]},
    "surfaces": None,
    "adhesion": None,
    "hull": None,
    "interface_defects": {
        "systems": ["Li/Li2S", "Li-Mg/Li2S"],
        "profile_layers": [1],
        "segregation_layers": [1],
        "radius": 5.0,
        "size_check": [[1, 1]],
        "pair_supercell": [2, 1],
        "interaction_shells": 1,
        "divacancy_interface": ["L1-L1"],
        "divacancy_bulk_shells": [1],
        "bulk_repetitions": 3,
        "build": {"film_units": 3, "substrate_units": 1, "n_fixed_substrate_planes": 1},
        "bond_energies": False,
    },
    "migration": {"repetitions": 3, "solutes": ["Mg"], "attempt_frequency": {"method": "einstein"}},
}


@functools.cache
def campaign_store() -> tuple[Path, str]:
    """Run the toy campaign once per test session; return (store folder, run id)."""
    from anodefree.config import config_from_dict
    from anodefree.workflows.campaign import run_campaign

    root = Path(tempfile.mkdtemp(prefix="anodefree-meso-"))
    data = {
        **CONFIG,
        "store": {"backend": "embedded", "path": str(root / "store")},
        "work_dir": str(root / "runs"),
    }
    with threadpool_limits(1, "blas"):
        run = run_campaign(config_from_dict(data))
    assert run.completed, run.failed
    return root / "store", run.run_id


def connect(path: Path):
    """Connect to the embedded store at ``path``."""
    from anodefree.workflows.stores import StoreSettings, make_job_store

    store = make_job_store(StoreSettings(backend="embedded", path=path))
    store.connect()
    return store
