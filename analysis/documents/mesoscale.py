"""The mesoscale step of a run: KMC stripping of three systems and the continuum map.

:class:`MesoscaleDocument` holds, for one campaign run, the contact fraction and the
interfacial voids of each system versus stripped capacity (from the KMC model run on the
system's export, all at one current density and temperature), a mechanism statement per
system drawn from the export's numbers and the KMC outcome, and the continuum overpotential
map with the alloy onsets. Capacities in mAh/cm^2, energies in eV.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from anodefree.models.continuum.results import ContinuumMapResult
from anodefree.provenance import CalculatorProvenance

if TYPE_CHECKING:
    from anodefree.analysis.exports.kmc import KmcExport
    from anodefree.models.kmc.documents import KmcResult

#: Contact is called "kept" when at least this fraction of the L1 sites holds an atom at
#: the end of the run and no interfacial void formed.
CONTACT_KEPT = 0.95


class StrippingCurve(BaseModel):
    """One system's KMC run: contact and voids versus stripped capacity."""

    system: str = Field(description="Interface system, e.g. 'Li-Mg/Li2S'.")
    solute: str | None = Field(None, description="Solute element (None for pure Li).")
    export_file: str = Field(description="KMC export written for the run (path).")
    export_fingerprint: str = Field(description="Hash of the export content.")
    n_export_job_ids: int = Field(description="Jobs behind the export's numbers (count).")
    inputs: dict[str, float] = Field(
        description="The export numbers the mechanism rests on, in eV (names in the keys)."
    )
    capacity: list[float] = Field(description="Stripped capacity of each sample, mAh/cm^2.")
    contact_fraction: list[float] = Field(description="Fraction of L1 sites holding an atom.")
    n_voids: list[int] = Field(description="Interfacial voids (count) at each sample.")
    max_void_sites: list[int] = Field(description="Largest void (sites) at each sample.")
    stop_reason: str = Field(description="Why the KMC run ended.")
    completed: bool = Field(description="Whether the target capacity was reached.")
    strip_to_escape_ratio: float | None = Field(
        None, description="Stripping rate per L1 site / escape rate of an L1 vacancy (-)."
    )
    events: int = Field(description="KMC events (count).")
    wall_time: float = Field(description="Wall time of the KMC run, s.")
    assumptions: list[str] = Field(default_factory=list, description="Model fallbacks used.")
    mechanism: list[str] = Field(default_factory=list, description="Mechanism statements.")

    @property
    def final_contact(self) -> float:
        """Contact fraction of the last sample."""
        return self.contact_fraction[-1]


class MesoscaleDocument(BaseModel):
    """KMC stripping of the interface systems and the continuum map of one run."""

    schema_version: str = Field("1", description="Version of this document's schema.")
    run_id: str = Field(description="Campaign run whose energetics were used.")
    calculator: CalculatorProvenance = Field(description="Calculator behind the energetics.")
    temperature: float = Field(description="Temperature of every KMC run, K.")
    current_density: float = Field(description="Stripping current density, mA/cm^2.")
    kmc_settings: dict = Field(description="KMC settings shared by the systems (see KmcSettings).")
    systems: list[StrippingCurve] = Field(description="One KMC run per system.")
    continuum: ContinuumMapResult | None = Field(
        None, description="Overpotential map with the onset crossings (V, um, mA/cm^2)."
    )
    continuum_parameters_file: str | None = Field(None, description="Continuum export (path).")
    warnings: list[str] = Field(default_factory=list, description="What could not be done.")


def mechanism_inputs(export: KmcExport) -> dict[str, float]:
    """Return the export numbers a mechanism statement uses (eV)."""
    vac = export.vacancy
    out = {
        "E_f(L1)": vac.formation_by_layer[0].value,
        "E_f(interior)": vac.formation_bulk.value,
    }
    out["E_f(L1) - E_f(interior)"] = out["E_f(L1)"] - out["E_f(interior)"]
    solute = export.solute
    if solute is not None:
        seg = {e.layer: e.value for e in solute.segregation_by_layer}
        if 1 in seg:
            out["E_seg(L1)"] = seg[1]
        near = min(solute.vacancy_interaction_interface, key=lambda e: e.shell, default=None)
        if near is None:
            near = min(solute.vacancy_interaction_bulk, key=lambda e: e.shell, default=None)
        if near is not None:
            out["E_int(solute-vacancy, nearest)"] = near.value
            out["E_f(L1 next to solute)"] = out["E_f(L1)"] + near.value
    return out


def mechanism_statements(
    export: KmcExport, result: KmcResult, reference: StrippingCurve | None = None
) -> list[str]:
    """Explain a system's KMC outcome from the numbers of its export.

    Parameters
    ----------
    export
        The KMC export of the system.
    result
        The KMC result of the system.
    reference
        The pure-Li run at the same conditions, to compare with (None for itself).

    Returns
    -------
    list[str]
        Sentences, each with the numbers it follows from.
    """
    numbers = mechanism_inputs(export)
    name = export.system
    d = numbers["E_f(L1) - E_f(interior)"]
    relation = "<" if d < 0 else ">"
    verdict = "attracted to" if d < 0 else "repelled from"
    first = (
        f"{name}: vacancies are {verdict} L1 since E_f(L1) = {numbers['E_f(L1)']:.3f} eV "
        f"{relation} E_f(interior) = {numbers['E_f(interior)']:.3f} eV (by {abs(d):.3f} eV)"
    )
    out = [first]
    solute = export.solute
    if solute is not None:
        element = solute.element
        if "E_seg(L1)" in numbers:
            seg = numbers["E_seg(L1)"]
            where = "gathers in" if seg < 0 else "stays away from"
            out.append(f"{element} {where} L1 (E_seg(L1) = {seg:+.3f} eV)")
        if "E_int(solute-vacancy, nearest)" in numbers:
            e_int = numbers["E_int(solute-vacancy, nearest)"]
            effect = "raises" if e_int > 0 else "lowers"
            consequence = "repels" if e_int > 0 else "attracts"
            out.append(
                f"{element} in L1 {effect} the formation energy of a neighbouring vacancy by "
                f"{abs(e_int):.3f} eV (E_f(L1 next to {element}) = "
                f"{numbers['E_f(L1 next to solute)']:.3f} eV): it {consequence} vacancies"
            )
    final = result.samples[-1]
    kept = final.contact_fraction >= CONTACT_KEPT and final.n_voids == 0
    outcome = (
        f"KMC at {result.settings.current_density:g} mA/cm^2 and {result.settings.temperature:g}"
        f" K: after {final.capacity:.3g} mAh/cm^2 the contact fraction is "
        f"{final.contact_fraction:.3f} with {final.n_voids} interfacial voids (largest "
        f"{final.max_void_sites} sites), so contact is "
        + ("kept" if kept else "lost")
        + f" (kept: >= {CONTACT_KEPT:g} and no void)"
    )
    if reference is not None and reference.system != name:
        better = final.contact_fraction - reference.final_contact
        outcome += (
            f"; {'more' if better > 0 else 'less' if better < 0 else 'as much'} contact than "
            f"{reference.system} ({reference.final_contact:.3f}, {reference.n_voids[-1]} voids)"
        )
    if not result.completed:
        outcome += f"; the run stopped early: {result.stop_reason}"
    out.append(outcome)
    return out
