"""Typed result documents of the continuum model.

Definitions used throughout (see :mod:`anodefree.models.continuum.solver` for the problem):

* eta = phi_metal - phi_electrolyte at the bottom surface, with phi_metal = 0 and
  U_eq = 0 (V vs Li+/Li); positive while stripping.
* ``eta_island_max``: the largest interfacial overpotential over the island; it sits at the
  island edge, where the current crowds. This is "the interfacial overpotential" compared
  with the delithiation onsets.
* ``eta_island_mean``: the overpotential averaged over the island width.
* ``eta_bottom_max``: the largest phi_metal - phi_electrolyte over the whole bottom,
  including the uncovered part. An alloy interlayer exposed there, at the potential of the
  island and current collector, delithiates where this exceeds its onset; the insulated
  electrolyte beside the island sits at a lower potential than at the island edge, so this
  is never below ``eta_island_max``.
* ``cell_polarisation``: phi_metal minus the mean electrolyte potential on the top surface:
  kinetic plus ohmic (including constriction) loss of the domain.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from anodefree import __version__
from anodefree.analysis.exports.continuum import ContinuumParameters

if TYPE_CHECKING:
    from anodefree.models.continuum.solver import CaseMetrics

RESULT_SCHEMA_VERSION = "1.0"
"""Version of the continuum result schema."""

Metric = Literal["eta_island_max", "eta_bottom_max"]


class ContinuumCase(BaseModel):
    """One solved case: an island width and an applied current density."""

    model_config = ConfigDict(extra="forbid")

    island_width: float = Field(description="Width a of the Li island (um).")
    current_density: float = Field(
        description="Applied current density on the top surface (mA/cm^2), > 0 stripping."
    )
    eta_island_max: float = Field(description="Largest overpotential over the island (V).")
    eta_island_mean: float = Field(description="Overpotential averaged over the island (V).")
    eta_island_min: float = Field(description="Smallest overpotential over the island (V).")
    eta_bottom_max: float = Field(
        description="Largest phi_metal - phi_electrolyte over the whole bottom, uncovered "
        "part included (V)."
    )
    cell_polarisation: float = Field(
        description="phi_metal minus the mean electrolyte potential on the top surface (V)."
    )
    island_current_density_mean: float = Field(
        description="Butler-Volmer current density averaged over the island (mA/cm^2)."
    )
    island_current_density_max: float = Field(
        description="Largest Butler-Volmer current density on the island, at its edge (mA/cm^2)."
    )
    current_balance_error: float = Field(
        description="|island current - applied current| / applied current (dimensionless)."
    )
    newton_iterations: int = Field(description="Newton steps taken (count).")

    @classmethod
    def from_metrics(cls, metrics: CaseMetrics) -> ContinuumCase:
        """Wrap the solver's plain metrics."""
        return cls(**metrics.__dict__)


class BottomProfile(BaseModel):
    """Profiles along the bottom of the full domain, x from 0 to the domain width."""

    model_config = ConfigDict(extra="forbid")

    x: list[float] = Field(description="Position along the bottom (um).")
    eta: list[float] = Field(description="phi_metal - phi_electrolyte at x (V).")
    current_density: list[float] = Field(
        description="Butler-Volmer current density into the electrolyte at x; 0 off the "
        "island (mA/cm^2)."
    )


class FieldCase(BaseModel):
    """A case whose potential field was plotted."""

    model_config = ConfigDict(extra="forbid")

    case: ContinuumCase = Field(description="The case and its overpotentials (see fields).")
    profile: BottomProfile = Field(description="Profiles along the bottom (see fields).")
    plot: str | None = Field(None, description="File name of the field plot (no units).")


class OnsetCrossing(BaseModel):
    """Where an overpotential reaches an alloy's delithiation onset, for every island width."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(description="Label of the onset (no units).")
    alloy: str = Field(description="Alloy system (no units).")
    onset: float = Field(description="Delithiation onset (V vs Li+/Li).")
    source: str = Field(description="Where the onset comes from, one line (no units).")
    metric: Metric = Field(description="The overpotential compared with the onset (no units).")
    critical_current_density: list[float] = Field(
        description="For each island width (same order as island_widths), the applied current "
        "density at which the metric equals the onset (mA/cm^2); solved to 1e-6 relative, "
        "also outside the mapped current range."
    )


class InterdiffusionLength(BaseModel):
    """Solute interdiffusion length sqrt(4 D t) over the time of one stripping step."""

    model_config = ConfigDict(extra="forbid")

    solute: str = Field(description="Solute element (no units).")
    host: str = Field(description="Host metal (no units).")
    diffusivity: float = Field(description="D at the model temperature (cm^2/s).")
    temperature: float = Field(description="Temperature (K).")
    current_density: float = Field(description="Applied current density (mA/cm^2).")
    stripping_time: float = Field(
        description="Time to strip the stripping capacity at this current density (s)."
    )
    length: float = Field(description="Interdiffusion length sqrt(4 D t) (um).")
    source: str = Field(description="Where D comes from, one line (no units).")


class MeshSummary(BaseModel):
    """The finite-element discretisation used."""

    model_config = ConfigDict(extra="forbid")

    element: str = Field(description="scikit-fem element class (no units).")
    order: int = Field(description="Polynomial order of the elements (no units).")
    h_edge: float = Field(description="Cell size at the island edge (um).")
    h_max: float = Field(description="Largest cell size (um).")
    growth: float = Field(description="Cell size ratio away from the edge (dimensionless).")
    refine: int = Field(description="Uniform refinements applied (count).")
    dofs: list[int] = Field(description="Unknowns of each island width's mesh (count).")
    island_dofs: list[int] = Field(
        description="Island unknowns (size of the Newton system) per width (count)."
    )


class ContinuumMapResult(BaseModel):
    """The overpotential map over island width and applied current density."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = Field(RESULT_SCHEMA_VERSION, description="Schema version (no units).")
    created_by: str = Field(
        default_factory=lambda: f"anodefree {__version__}",
        description="Program and version (no units).",
    )
    parameters: ContinuumParameters = Field(
        description="The parameter document the map was computed from (units per field)."
    )
    parameters_fingerprint: str = Field(
        description="Hash of the parameter values and sources (no units)."
    )
    placement: Literal["centre", "side"] = Field(
        description="Island centred in the domain or against one side wall (no units)."
    )
    island_widths: list[float] = Field(description="Island widths, the map's rows (um).")
    current_densities: list[float] = Field(
        description="Applied current densities, the map's columns (mA/cm^2)."
    )
    eta_island_max: list[list[float]] = Field(
        description="Largest island overpotential, [width][current] (V)."
    )
    eta_island_mean: list[list[float]] = Field(
        description="Mean island overpotential, [width][current] (V)."
    )
    eta_bottom_max: list[list[float]] = Field(
        description="Largest phi_metal - phi_electrolyte over the whole bottom, "
        "[width][current] (V)."
    )
    cell_polarisation: list[list[float]] = Field(
        description="phi_metal minus the mean top-surface potential, [width][current] (V)."
    )
    island_current_density_max: list[list[float]] = Field(
        description="Peak island current density, [width][current] (mA/cm^2)."
    )
    max_current_balance_error: float = Field(
        description="Largest relative mismatch of island and applied current over the map "
        "(dimensionless)."
    )
    max_newton_iterations: int = Field(description="Most Newton steps of any case (count).")
    crossings: list[OnsetCrossing] = Field(
        default_factory=list,
        description="Critical current densities of every onset and metric (mA/cm^2).",
    )
    stripping_capacity: float = Field(
        description="Areal capacity of one stripping step, for the interdiffusion time (mAh/cm^2)."
    )
    interdiffusion: list[InterdiffusionLength] = Field(
        default_factory=list, description="Interdiffusion lengths per solute and current (um)."
    )
    field_cases: list[FieldCase] = Field(
        default_factory=list, description="Cases with potential-field plots (see fields)."
    )
    mesh: MeshSummary = Field(description="Discretisation (see fields).")
    wall_time: float = Field(description="Wall time of the map and crossings (s).")

    def write(self, path: str | Path) -> Path:
        """Write the document as JSON; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=1) + "\n")
        return path

    @classmethod
    def read(cls, path: str | Path) -> ContinuumMapResult:
        """Read a document written by :meth:`write`."""
        return cls.model_validate_json(Path(path).read_text())
