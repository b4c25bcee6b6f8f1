"""Typed settings and result documents of the stripping KMC."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from anodefree import __version__ as anodefree_version
from anodefree.models.kmc.timescale import TimescaleReport
from anodefree.provenance import CalculatorProvenance

KMC_RESULT_SCHEMA_VERSION = "1.0"


class KmcSettings(BaseModel):
    """Settings of one stripping run (the energetics come from the export file)."""

    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(298.15, gt=0, description="Temperature in K.")
    current_density: float = Field(1.0, gt=0, description="Stripping current density j in mA/cm^2.")
    capacity: float = Field(
        2e-4,
        gt=0,
        description="Stripped capacity to simulate, in mAh/cm^2 (one bcc(100) monolayer of "
        "Li is about 3.7e-5 mAh/cm^2; 1 mAh/cm^2 is about 4.9 um of Li).",
    )
    acceleration: float = Field(
        1e6,
        ge=1,
        description="Factor S applied to the stripping rate (dimensionless); see "
        "anodefree.models.kmc.timescale for its meaning and validity criterion.",
    )
    nx: int = Field(
        24, ge=2, description="In-plane cells along x (a for (100), a sqrt2 for (110))."
    )
    ny: int = Field(24, ge=2, description="In-plane cells along y (a).")
    n_layers: int = Field(
        60, ge=4, description="Metal layers simulated between the electrolyte and the sink."
    )
    facet: Literal["100", "110"] | None = Field(
        None, description="bcc facet against the electrolyte; None: the export's facet."
    )
    sink: bool = Field(
        default=True,
        description="A Li reservoir layer below the slab absorbs and emits vacancies.",
    )
    solute_fraction: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="Solute atomic fraction (dimensionless); None: the export's value.",
    )
    solute_init: Literal["equilibrium", "random"] = Field(
        "equilibrium",
        description="Initial solute placement: 'equilibrium' gives each layer the Fermi-Dirac "
        "fraction of its segregation energy at the solute chemical potential of the alloy far "
        "from the interface (nominal fraction), at the run temperature; 'random' the nominal "
        "fraction everywhere.",
    )
    vacancy_init: Literal["equilibrium", "none"] = Field(
        "equilibrium",
        description="Initial vacancies: Fermi-Dirac occupancy of the layer formation energies "
        "(the reservoir's equilibrium), or none.",
    )
    equilibration_events: int = Field(
        100_000, ge=0, description="Events without stripping before the run (count)."
    )
    n_samples: int = Field(40, ge=1, description="Samples recorded over the capacity (count).")
    n_snapshots: int = Field(6, ge=0, description="Occupancy snapshots kept (count).")
    min_void_sites: int = Field(
        2, ge=1, description="Smallest cluster of vacant L1 sites counted as a void (sites)."
    )
    max_events: int = Field(
        4_000_000_000, ge=1, description="Event budget of the run (count); stops the run."
    )
    max_wall_seconds: float | None = Field(
        None, gt=0, description="Wall-time budget in s; stops the run. None: unlimited."
    )
    seed: int = Field(0, ge=0, description="Seed of the random streams.")
    strict: bool = Field(
        default=False,
        description="Refuse fallbacks for optional inputs missing from the export.",
    )


class LatticeSummary(BaseModel):
    """Geometry of the simulated slab."""

    facet: str = Field(description="bcc facet against the electrolyte.")
    lattice_constant: float = Field(description="bcc lattice constant, in angstrom.")
    nx: int = Field(description="In-plane cells along x.")
    ny: int = Field(description="In-plane cells along y.")
    n_layers: int = Field(description="Simulated metal layers (without the reservoir layer).")
    reservoir_layer: bool = Field(description="Whether a reservoir layer sits below them.")
    sites_per_layer: int = Field(description="Sites per layer (count).")
    n_sites: int = Field(description="All sites including the reservoir layer (count).")
    area: float = Field(description="In-plane area, in nm^2.")
    area_per_site: float = Field(description="In-plane area per L1 site, in angstrom^2.")
    layer_spacing: float = Field(description="Distance between layers, in angstrom.")
    monolayer_capacity: float = Field(
        description="Capacity of one stripped monolayer, in mAh/cm^2."
    )


class KmcSample(BaseModel):
    """The state of the run at one stripped capacity."""

    capacity: float = Field(description="Stripped capacity, in mAh/cm^2.")
    monolayers: float = Field(description="Stripped atoms / sites per layer (monolayers).")
    time: float = Field(description="Simulated time, in s.")
    events: int = Field(description="Events carried out so far (count).")
    contact_fraction: float = Field(description="Fraction of L1 sites holding an atom.")
    n_voids: int = Field(description="Interfacial voids (clusters >= min_void_sites) (count).")
    mean_void_sites: float = Field(description="Mean void size, in sites (0 without voids).")
    max_void_sites: int = Field(description="Largest void, in sites.")
    void_fraction: float = Field(description="Fraction of L1 sites inside voids.")
    void_size_histogram: list[tuple[int, int]] = Field(
        description="(size in sites, count) of every cluster of vacant L1 sites, single "
        "vacancies included."
    )
    n_vacancies: int = Field(description="Vacancies in the simulated layers (count).")
    vacancy_fraction_by_layer: list[float] = Field(
        description="Vacant-site fraction of each layer, L1 first (instantaneous)."
    )
    vacancy_fraction_by_layer_average: list[float] = Field(
        description="Time average of the vacant-site fraction of each layer since the "
        "previous sample (L1 first)."
    )
    solute_fraction_l1: float | None = Field(
        None, description="Fraction of L1 sites holding a solute atom; None without solute."
    )


class AtomBookkeeping(BaseModel):
    """Conservation of atoms: initial + from reservoir - to reservoir - stripped = final."""

    initial_atoms: int = Field(description="Atoms in the simulated layers at the start (count).")
    stripped: int = Field(description="Atoms stripped into the electrolyte (count).")
    from_reservoir: int = Field(description="Vacancies filled from the reservoir (count).")
    to_reservoir: int = Field(description="Atoms that left into the reservoir (count).")
    final_atoms: int = Field(description="Atoms in the simulated layers at the end (count).")
    balanced: bool = Field(description="Whether the balance above holds exactly.")


class KmcPerformance(BaseModel):
    """Cost of the run."""

    events: int = Field(description="Events carried out, equilibration included (count).")
    wall_time: float = Field(description="Wall time of the event loop, in s.")
    events_per_second: float = Field(description="Events per wall-clock second (1/s).")


class KmcResult(BaseModel):
    """Result of one stripping KMC run."""

    schema_version: str = Field(
        KMC_RESULT_SCHEMA_VERSION, description="Version of this result format."
    )
    kind: Literal["anodefree.kmc-result"] = Field(
        "anodefree.kmc-result", description="Document kind."
    )
    system: str = Field(description="System name from the export.")
    export_file: str | None = Field(None, description="Path of the export file read.")
    export_fingerprint: str = Field(description="Hash of the export content (16 hex digits).")
    export_job_ids: list[str] = Field(description="Source job ids of every export number.")
    calculator: CalculatorProvenance = Field(description="Calculator behind the energetics.")
    solute: str | None = Field(None, description="Solute element, None for pure Li.")
    solute_fraction: float = Field(description="Solute atomic fraction simulated.")
    settings: KmcSettings = Field(description="Run settings.")
    lattice: LatticeSummary = Field(description="Slab geometry.")
    physics: list[str] = Field(description="The model choices, stated in words.")
    assumptions: list[str] = Field(description="Fallbacks used for missing optional inputs.")
    timescale: TimescaleReport = Field(description="Acceleration and real-time mapping.")
    samples: list[KmcSample] = Field(description="The run sampled over stripped capacity.")
    bookkeeping: AtomBookkeeping = Field(description="Atom conservation check.")
    stop_reason: str = Field(description="Why the run ended.")
    completed: bool = Field(description="Whether the target capacity was reached.")
    performance: KmcPerformance = Field(description="Cost of the run.")
    snapshots_file: str | None = Field(
        None, description="npz file with L1/L2 occupancy snapshots (relative to this file)."
    )
    created_at: datetime = Field(
        default_factory=lambda: datetime.now(UTC), description="Creation time (UTC)."
    )
    anodefree_version: str = Field(anodefree_version, description="anodefree version.")

    def write(self, path: str | Path) -> Path:
        """Write the result as indented JSON and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2) + "\n")
        return path

    @classmethod
    def read(cls, path: str | Path) -> KmcResult:
        """Read a result written by :meth:`write`."""
        return cls.model_validate_json(Path(path).read_text())
