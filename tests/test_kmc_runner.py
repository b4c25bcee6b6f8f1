"""The stripping KMC from an export file: runner, documents, plots and the command."""

from __future__ import annotations

import json
import math

import pytest
import typer
from typer.testing import CliRunner

from anodefree.analysis.exports.kmc import KmcExport
from anodefree.models.kmc import KmcResult, KmcSettings, run_kmc
from anodefree.models.kmc.command import kmc_command, parse_size
from anodefree.models.kmc.timescale import capacity_per_atom

A = 3.44


def li_li2s_like(**extra):
    numbers = {
        "system": "Li/Li2S-like",
        "lattice_constant": A,
        "vacancy_formation_by_layer": [0.30, 0.45, 0.49],
        "vacancy_formation_bulk": 0.50,
        "li_hop_barrier": 0.055,
        "attempt_frequency": 5e12,
        "divacancy_binding_bulk": {2: 0.03},
        "interlayer_barriers": {(1, 2): (0.2, 0.05)},
        "electrolyte": "Li2S",
    }
    numbers.update(extra)
    return KmcExport.from_numbers(**numbers)


def small_settings(**extra):
    monolayer = capacity_per_atom(A**2)  # capacity of one bcc(100) monolayer
    values = {
        "nx": 8,
        "ny": 8,
        "n_layers": 12,
        "capacity": 1.5 * monolayer,
        "n_samples": 6,
        "n_snapshots": 3,
        "equilibration_events": 2000,
        "seed": 1,
    }
    values.update(extra)
    return KmcSettings(**values)


def test_run_writes_result_snapshots_and_plots(tmp_path):
    export = li_li2s_like()
    path = export.write(tmp_path / "export.json")
    settings = small_settings()
    result = run_kmc(path, settings, output_dir=tmp_path / "out")
    for name in ("kmc_result.json", "kmc_snapshots.npz", "kmc_contact_voids.png",
                 "kmc_depth_profile.png", "kmc_snapshots_l1.png"):  # fmt: skip
        assert (tmp_path / "out" / name).stat().st_size > 0
    again = KmcResult.read(tmp_path / "out" / "kmc_result.json")
    assert again.samples == result.samples
    assert result.export_file == str(path)
    assert result.completed, result.stop_reason
    assert len(result.samples) == settings.n_samples + 1
    assert result.bookkeeping.balanced
    capacities = [s.capacity for s in result.samples]
    assert capacities == sorted(capacities)
    assert capacities[-1] >= settings.capacity
    assert all(0.0 <= s.contact_fraction <= 1.0 for s in result.samples)
    assert any("divacancy_binding_interface" in text for text in result.assumptions)
    # Time bookkeeping: stripping is a Poisson process of total rate S j A / e while L1 holds
    # Li, so the simulated time per stripped capacity is 1/S of the real one, within the
    # Poisson scatter of ~100 events (30 % is > 3 standard deviations).
    assert result.timescale.real_time_coverage == pytest.approx(1 / settings.acceleration, rel=0.3)


def test_same_seed_reproduces_a_run():
    export = li_li2s_like()
    first = run_kmc(export, small_settings(seed=5))
    second = run_kmc(export, small_settings(seed=5))
    other = run_kmc(export, small_settings(seed=6))
    assert first.samples == second.samples
    assert first.samples != other.samples


def test_solutes_start_in_their_segregation_equilibrium():
    x, e_seg, temperature = 0.02, -0.05, 298.15
    export = li_li2s_like(
        solute="Mg",
        solute_fraction=x,
        segregation_by_layer=[e_seg],
        solute_vacancy_bulk={1: 0.03},
        solute_hop_barrier=0.1,
    )
    settings = small_settings(
        nx=16, ny=16, equilibration_events=0, capacity=0.2 * capacity_per_atom(A**2)
    )
    result = run_kmc(export, settings)
    # Independent expectation: a layer exchanging solute with the alloy of fraction x holds
    # y = 1 / (1 + (1 - x)/x exp(E_seg/kT)); the count of its 256 sites is rounded at random.
    kT = 8.617333262e-5 * temperature
    y = 1.0 / (1.0 + (1 - x) / x * math.exp(e_seg / kT))
    count_l1 = result.samples[0].solute_fraction_l1 * 256
    assert math.floor(256 * y) <= round(count_l1) <= math.floor(256 * y) + 1
    assert result.solute == "Mg"
    assert result.solute_fraction == pytest.approx(x)


def test_solute_run_without_a_solute_in_the_export_is_refused():
    from anodefree.errors import ConfigError

    with pytest.raises(ConfigError, match="has no solute"):
        run_kmc(li_li2s_like(), small_settings(solute_fraction=0.01))


def test_command_runs_from_an_export_file(tmp_path):
    path = li_li2s_like().write(tmp_path / "export.json")
    app = typer.Typer()
    app.command()(kmc_command)
    runner = CliRunner()
    out = tmp_path / "cli"
    capacity = str(capacity_per_atom(A**2))
    invocation = [str(path), "-j", "2", "--capacity", capacity, "--size", "8x8x10",
                  "--seed", "3", "-o", str(out), "--no-progress", "--no-plots"]  # fmt: skip
    done = runner.invoke(app, invocation)
    assert done.exit_code == 0, done.output
    assert "contact fraction of L1" in done.output
    payload = json.loads((out / "kmc_result.json").read_text())
    assert payload["settings"]["current_density"] == 2.0
    assert payload["lattice"]["n_layers"] == 10
    bad = runner.invoke(app, [str(path), "--size", "8by8", "--no-progress"])
    assert bad.exit_code == 2
    assert "NXxNYxLAYERS" in bad.output


def test_parse_size():
    assert parse_size("24x16X60") == (24, 16, 60)
    with pytest.raises(ValueError, match="24x24"):
        parse_size("24x24")


def test_model_never_imports_the_workflows():
    # The KMC reads export files only; importing and running it must not pull in the
    # workflow layer (nor the store). A fresh interpreter shows what the import chain loads.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import anodefree.models.kmc.command, anodefree.models.kmc.runner\n"
        "import anodefree.models.kmc.plots\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('anodefree.workflows', 'jobflow',"
        " 'atomate2', 'maggma')))\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run(  # noqa: S603 - our own code in this interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == ""
