"""The mesoscale step: exports from a stored run, the KMC and continuum models, one document.

For a run in the results store, :func:`run_mesoscale`

1. writes the KMC export of each system
   (:func:`~anodefree.analysis.exports.kmc_builder.build_kmc_export`),
2. runs the stripping KMC of every system at the same current density and temperature,
3. builds the continuum export (computed Li-Ag onset from the stored hull, user onsets such
   as Li-Au 0.07 V, solute diffusivities) and computes the overpotential map,
4. returns a :class:`~anodefree.analysis.documents.mesoscale.MesoscaleDocument`, which
   :func:`store_mesoscale_document` saves in the store, tagged with the run id, so that the
   run's report (``anodefree report``) shows it.

The defaults are sized for about a minute on one core: a 24 x 24 x 40 slab stripped by
2e-4 mAh/cm^2 (about 5 monolayers) per system, and an 8 x 8 map with linear elements.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from jobflow import Flow, job, run_locally
from pydantic import BaseModel, ConfigDict, Field, field_validator

from anodefree.analysis.documents.mesoscale import (
    MesoscaleDocument,
    StrippingCurve,
    mechanism_inputs,
    mechanism_statements,
)
from anodefree.analysis.exports.continuum import ContinuumExportError, write_continuum_parameters
from anodefree.analysis.exports.continuum_builder import build_continuum_parameters
from anodefree.analysis.exports.kmc import MissingKmcInputError
from anodefree.analysis.exports.kmc_builder import build_kmc_export
from anodefree.analysis.exports.stored import stored_documents
from anodefree.errors import ConfigError, MixedCalculatorError
from anodefree.provenance import require_same_calculator
from anodefree.structures.interface_systems import get_system

if TYPE_CHECKING:
    from collections.abc import Callable

    from jobflow import JobStore

logger = logging.getLogger(__name__)


class MesoscaleSettings(BaseModel):
    """What the mesoscale step runs (defaults: about a minute on one core)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    systems: tuple[str, ...] = Field(
        ("Li/Li2S", "Li-Mg/Li2S", "Li-Ag/Li2S"), description="Interface systems (presets)."
    )
    temperature: float = Field(298.15, gt=0, description="Temperature of every run, K.")
    current_density: float = Field(1.0, gt=0, description="Stripping current density, mA/cm^2.")
    capacity: float = Field(2e-4, gt=0, description="Stripped capacity per KMC run, mAh/cm^2.")
    size: tuple[int, int, int] = Field(
        (24, 24, 40), description="KMC slab: in-plane cells x, y and metal layers."
    )
    acceleration: float = Field(1e6, ge=1, description="KMC stripping-rate factor S (-).")
    equilibration_events: int = Field(100_000, ge=0, description="KMC events before stripping.")
    n_samples: int = Field(20, ge=2, description="KMC samples over the capacity (count).")
    max_wall_seconds: float = Field(20.0, gt=0, description="Wall-time cap per KMC run, s.")
    seed: int = Field(0, ge=0, description="KMC random seed (same for every system).")
    onsets: dict[str, float] = Field(
        default_factory=lambda: {"Li-Au": 0.07},
        description="User-supplied delithiation onsets, alloy -> V vs Li+/Li.",
    )
    widths: tuple[float, float, int] = Field(
        (1.0, 50.0, 8), description="Island widths of the map: min um, max um, count."
    )
    currents: tuple[float, float, int] = Field(
        (0.1, 10.0, 8), description="Current densities of the map: min, max mA/cm^2, count."
    )
    mesh_order: int = Field(1, ge=1, le=2, description="Finite-element order of the map.")
    h_edge: float = Field(0.2, gt=0, description="Mesh cell size at the island edge, um.")

    @field_validator("systems")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            get_system(name)
        if not value:
            msg = "give at least one system"
            raise ValueError(msg)
        return value


def _slug(system: str) -> str:
    return system.replace("/", "_")


def resolve_run(store: JobStore, run_id: str | None) -> str:
    """Return ``run_id``, or the latest run holding an interface-defect document."""
    if run_id is not None:
        return run_id
    found = stored_documents(store, "InterfaceDefectDocument")
    if not found or found[0].run_id is None:
        msg = (
            "no run with interface-defect documents in the store: run a campaign with the "
            "`interface_defects` stage first (e.g. `anodefree run interfaces`)"
        )
        raise ConfigError(msg)
    return found[0].run_id


def _continuum(  # noqa: ANN202 - returns (result or None, parameters path or None)
    store: JobStore,
    run: str,
    settings: MesoscaleSettings,
    output_dir: Path,
    warnings: list[str],
):
    import numpy as np

    from anodefree.models.continuum.mesh import MeshSettings
    from anodefree.models.continuum.sweep import run_map

    attempts = ({"hull": True, "diffusion": True}, {"hull": False, "diffusion": True})
    attempts += ({"hull": True, "diffusion": False}, {"hull": False, "diffusion": False})
    parameters = None
    for kwargs in attempts:
        try:
            parameters = build_continuum_parameters(
                store, run_id=run, onsets=settings.onsets, **kwargs
            )
        except (ContinuumExportError, MixedCalculatorError) as error:
            what = ", ".join(k for k, v in kwargs.items() if v) or "onsets only"
            warnings.append(f"continuum export ({what}): {error}")
            continue
        break
    if parameters is None or not parameters.onsets:
        warnings.append("continuum map skipped: no onset to compare with")
        return None, None
    path = write_continuum_parameters(parameters, output_dir / "continuum_parameters.json")
    low, high, n = settings.widths
    widths = np.geomspace(low, min(high, parameters.domain_width), n).tolist()
    clow, chigh, m = settings.currents
    currents = np.geomspace(clow, chigh, m).tolist()
    mesh = MeshSettings(
        h_edge=settings.h_edge, h_max=max(2.0, settings.h_edge), order=settings.mesh_order
    )
    result, _ = run_map(parameters, widths, currents, mesh=mesh)
    result.write(output_dir / "continuum_map.json")
    return result, str(path)


def run_mesoscale(
    store: JobStore,
    *,
    run_id: str | None = None,
    settings: MesoscaleSettings | None = None,
    output_dir: str | Path = "mesoscale",
    progress: Callable[[str], None] | None = None,
) -> MesoscaleDocument:
    """Run the KMC of every system and the continuum map from a stored run.

    Parameters
    ----------
    store
        A connected JobStore.
    run_id
        The run (default: the latest holding interface-defect documents).
    settings
        What to run.
    output_dir
        Folder for the exports and the model results.
    progress
        Called with a line of text before each model run.

    Returns
    -------
    MesoscaleDocument
        The document (not yet stored: see :func:`store_mesoscale_document`).

    Raises
    ------
    MissingKmcInputError
        If no system's export can be built (a system that lacks required inputs is left
        out with a warning naming them).
    MixedCalculatorError
        If the systems' energetics come from different calculators.
    """
    from anodefree.models.kmc.documents import KmcSettings
    from anodefree.models.kmc.runner import run_kmc

    settings = settings or MesoscaleSettings()
    say = progress or (lambda _line: None)
    folder = Path(output_dir)
    run = resolve_run(store, run_id)
    exports = {}
    warnings: list[str] = []
    missing: list[MissingKmcInputError] = []
    for system in settings.systems:
        try:
            export = build_kmc_export(store, system, run_id=run)
        except MissingKmcInputError as error:  # run the others; name what this one lacks
            missing.append(error)
            warnings.append(f"{system} not run: {error}")
            continue
        exports[system] = (export, export.write(folder / "exports" / f"kmc_{_slug(system)}.json"))
    if not exports:
        raise missing[0]
    calculator = require_same_calculator(
        [e.calculator for e, _ in exports.values()], "the KMC runs of one mesoscale step"
    )
    nx, ny, layers = settings.size
    kmc = KmcSettings(
        temperature=settings.temperature,
        current_density=settings.current_density,
        capacity=settings.capacity,
        acceleration=settings.acceleration,
        nx=nx,
        ny=ny,
        n_layers=layers,
        equilibration_events=settings.equilibration_events,
        n_samples=settings.n_samples,
        max_wall_seconds=settings.max_wall_seconds,
        seed=settings.seed,
    )
    curves: list[StrippingCurve] = []
    reference = None
    for system, (export, path) in exports.items():
        say(f"KMC {system}")
        result = run_kmc(export, kmc, output_dir=folder / "kmc" / _slug(system), plots=False)
        curve = StrippingCurve(
            system=system,
            solute=result.solute,
            export_file=str(path),
            export_fingerprint=result.export_fingerprint,
            n_export_job_ids=len(result.export_job_ids),
            inputs=mechanism_inputs(export),
            capacity=[s.capacity for s in result.samples],
            contact_fraction=[s.contact_fraction for s in result.samples],
            n_voids=[s.n_voids for s in result.samples],
            max_void_sites=[s.max_void_sites for s in result.samples],
            stop_reason=result.stop_reason,
            completed=result.completed,
            strip_to_escape_ratio=_finite(result.timescale.strip_to_escape_ratio),
            events=result.performance.events,
            wall_time=result.performance.wall_time,
            assumptions=result.assumptions,
        )
        curve.mechanism = mechanism_statements(export, result, reference)
        if reference is None and export.solute is None:
            reference = curve
        curves.append(curve)
    say("continuum map")
    try:
        continuum, parameters_file = _continuum(store, run, settings, folder, warnings)
    except MixedCalculatorError as error:
        warnings.append(f"continuum map skipped: {error}")
        continuum, parameters_file = None, None
    return MesoscaleDocument(
        run_id=run,
        calculator=calculator,
        temperature=settings.temperature,
        current_density=settings.current_density,
        kmc_settings=kmc.model_dump(mode="json"),
        systems=curves,
        continuum=continuum,
        continuum_parameters_file=parameters_file,
        warnings=warnings,
    )


def _finite(value: float) -> float | None:
    import math

    return value if math.isfinite(value) else None


@job
def mesoscale_document(document: MesoscaleDocument) -> MesoscaleDocument:
    """Return the document (a job, so that it is stored like every property document)."""
    return document


def store_mesoscale_document(store: JobStore, document: MesoscaleDocument) -> str:
    """Save the document in the store, tagged with its run (and the run's campaign).

    Returns
    -------
    str
        The id of the job that holds it.
    """
    campaign = None
    for item in stored_documents(store, "InterfaceDefectDocument", run_id=document.run_id):
        campaign = item.campaign
        break
    saved = mesoscale_document(document)
    saved.name = "mesoscale document"
    saved.update_metadata({"run_id": document.run_id, "campaign": campaign, "stage": "mesoscale"})
    run_locally(Flow([saved]), store=store, log=False, ensure_success=True)
    return saved.uuid
