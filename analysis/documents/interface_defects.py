"""Interfacial point defects and metal-sulfur bond energies: typed documents.

Definitions (all energies in eV, every one from one calculator; see ../shared/science.md):

- vacancy formation energy in layer L: E_f(L) = E(host with one Li removed from L) -
  E(host) + mu_Li, with mu_Li the energy per atom of the relaxed bcc Li of the same engine;
  L1 touches Li2S; the *interior* layer is the film's middle layer;
- solute segregation energy: E_seg(L) = E(solute in L) - E(solute in the interior);
  negative means the solute prefers L;
- solute-vacancy interaction at the interface: E_int = E_f(vacancy at site v next to a
  solute) - E_f(vacancy at the same site v without solute), E_f(v | solute) =
  E(solute + vacancy) - E(solute) + mu_Li; positive means repulsion;
- filling: Delta E = E(after) - E(before) for a vacancy in L1 filled by a host-metal atom
  from L2 or by the solute from L2; negative means favourable;
- divacancy binding: E_b = E(two vacancies) + E(no vacancy) - E(vacancy a) - E(vacancy b)
  (= 2 E(one vacancy) convention in bulk); negative means the pair is bound. The kinetic
  Monte Carlo export uses the opposite sign (binding = -E_b, positive = bound);
- bond energy: formation energy of M_xS per formula unit from the elements (relaxed bcc Li,
  hcp Mg, fcc Ag and the sulfur reference of the same engine) divided by the number of M-S
  bonds per formula unit (from the coordination in the relaxed compound).

:class:`InterfaceDefectSpec` is the bookkeeping of a flow (which calculation is which
configuration); :meth:`InterfaceDefectDocument.from_results` turns it and the calculation
results into the document, refusing mixed calculators.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from anodefree.analysis.documents.common import common_calculator, convergence_warnings
from anodefree.analysis.energetics import vacancy_formation_energy
from anodefree.provenance import CalculatorProvenance
from anodefree.structures.interface_defects import DefectRecord, FillingSites, bcc_shell_number

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pymatgen.core import Structure

    from anodefree.analysis.documents.calculation import CalculationResult

#: A relaxed metal layer whose atoms spread over more than this height (A) is reported as
#: reconstructed (bcc(100) layers are 1.7 A apart).
RECONSTRUCTION = 0.8

#: Below this magnitude (eV) a statement says "weakly": the local relaxation (radius check)
#: and the force criterion limit the accuracy of energy differences to about 10 meV.
WEAK_EFFECT = 0.010


def _uuid(result: CalculationResult) -> str:
    return result.source_job_uuid or result.job_uuid or ""


def _cell(supercell: tuple[int, int]) -> str:
    return f"{supercell[0]}x{supercell[1]}"


# ---------------------------------------------------------------------------------------
# The plan of a flow
# ---------------------------------------------------------------------------------------


class ScreenedLayer(BaseModel):
    """Unrelaxed energies of one kind of defect on every site of one layer (site choice)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    layer: int = Field(description="Metal layer (1 = L1).")
    defect: str = Field(description="'vacancy' or the solute element.")
    sites: tuple[int, ...] = Field(description="Host (1x1) site indices screened.")
    energies: tuple[float, ...] = Field(
        description="E(unrelaxed defect cell) - E(host) per site, eV (vacancy: without mu_Li)."
    )
    chosen: int = Field(description="The site with the lowest energy, used for this layer.")

    @property
    def spread(self) -> float:
        """Max - min of the screened energies, eV (site heterogeneity of the layer)."""
        return float(max(self.energies) - min(self.energies))

    def as_map(self) -> dict[int, float]:
        """Site -> screened energy (eV)."""
        return dict(zip(self.sites, self.energies, strict=True))


class HostLayer(BaseModel):
    """One metal layer of the host: its sites and heights before and after relaxation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    layer: int = Field(description="Metal layer (1 = L1), numbered on the as-built host.")
    n_sites: int = Field(description="Sites of the layer in the 1x1 host.")
    built_height: float = Field(description="Height above the substrate as built, A.")
    relaxed_height: float = Field(description="Mean height above the substrate, relaxed, A.")
    relaxed_lowest: float = Field(description="Lowest atom of the layer, relaxed, A.")
    relaxed_highest: float = Field(description="Highest atom of the layer, relaxed, A.")


class SizeCheckSpec(BaseModel):
    """An L1 vacancy in one in-plane supercell."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    supercell: tuple[int, int]
    vacancy: str = Field(description="Label of the vacancy calculation.")
    shortest_vector: float = Field(description="Shortest in-plane lattice vector, A.")


class RadiusCheckSpec(BaseModel):
    """The same L1 vacancy relaxed within two radii."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    radius: float | None
    check_radius: float | None
    local: str
    check: str


class LayerSpec(BaseModel):
    """A single defect in one layer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    layer: int
    label: str
    interior: bool = False


class InteractionSpec(BaseModel):
    """A vacancy at one in-layer shell of a solute, and the same vacancy without solute."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shell: int = Field(description="In-layer shell of the solute (1 = nearest).")
    pair: str
    bare: str


class FillingSpec(BaseModel):
    """The three configurations of a filling move."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    case: Literal["near", "far"]
    sites: FillingSites
    initial: str
    by_host: str
    by_solute: str


class DivacancySpec(BaseModel):
    """A vacancy pair and its two single vacancies in one cell."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    pair: str
    first: str
    second: str
    pristine: str


class BulkDivacancySpec(BaseModel):
    """Vacancy pairs in a bcc Li supercell."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    repetitions: int
    perfect: str
    single: str
    pairs: tuple[tuple[int, float, str], ...] = Field(description="(shell, distance A, label).")


class InterfaceDefectSpec(BaseModel):
    """Which calculation is which configuration: everything a document needs besides energies.

    Result labels name entries of the ``results`` mapping given to
    :meth:`InterfaceDefectDocument.from_results`; ``"host"`` is the relaxed 1x1 interface and
    ``"li_bulk"`` the relaxed bcc Li.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: str
    solute: str | None = None
    host_element: str = "Li"
    lattice_constant: float = Field(description="Relaxed bcc Li lattice constant, A.")
    n_layers: int
    interior_layer: int
    area: float = Field(description="Interface area of the 1x1 host, A^2.")
    radius: float | None
    size_tolerance: float
    single_supercell: tuple[int, int]
    pair_supercell: tuple[int, int] | None
    pristine: dict[str, str] = Field(description="Supercell 'NxM' -> label of the pristine cell.")
    records: dict[str, DefectRecord] = Field(description="Label -> defect configuration.")
    size_check: tuple[SizeCheckSpec, ...] = ()
    radius_check: RadiusCheckSpec | None = None
    profile: tuple[LayerSpec, ...] = ()
    segregation: tuple[LayerSpec, ...] = ()
    interaction_solute: str | None = None
    interaction: tuple[InteractionSpec, ...] = ()
    filling: tuple[FillingSpec, ...] = ()
    divacancy_interface: tuple[DivacancySpec, ...] = ()
    bulk_divacancy: BulkDivacancySpec | None = None
    screens: tuple[ScreenedLayer, ...] = ()
    host_layers: tuple[HostLayer, ...] = ()
    notes: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------
# Document entries
# ---------------------------------------------------------------------------------------


class HostCell(BaseModel):
    """The relaxed interface that receives the defects."""

    n_atoms: int = Field(description="Atoms in the 1x1 host cell.")
    n_layers: int = Field(description="Metal layers in the film.")
    interior_layer: int = Field(description="The film's middle layer, the bulk-like reference.")
    area: float = Field(description="Interface area of the 1x1 cell, A^2.")
    energy: float = Field(description="Total energy of the relaxed 1x1 host, eV.")
    converged: bool = Field(description="Whether the host relaxation converged.")
    job_uuid: str = Field(description="Job that computed the host energy.")
    layers: list[HostLayer] = Field(
        default_factory=list, description="Metal layers: sites, heights as built and relaxed."
    )


class SizeCheckEntry(BaseModel):
    """E_f of the L1 vacancy in one in-plane supercell."""

    supercell: tuple[int, int] = Field(description="In-plane repetitions of the host cell.")
    n_atoms: int = Field(description="Atoms in the pristine supercell.")
    shortest_vector: float = Field(
        description="Shortest in-plane lattice vector (vacancy-image distance), A."
    )
    formation_energy: float = Field(description="E_f of the L1 vacancy, eV.")
    change: float = Field(description="E_f - E_f(largest supercell), eV.")
    converged: bool = Field(description="Whether both calculations converged.")
    job_uuids: list[str] = Field(description="Jobs of the pristine and vacancy cells.")


class SizeCheck(BaseModel):
    """In-plane size check of the L1 vacancy formation energy."""

    entries: list[SizeCheckEntry] = Field(description="One entry per supercell, smallest first.")
    tolerance: float = Field(description="Largest accepted |E_f - E_f(largest)|, eV.")
    chosen: tuple[int, int] = Field(
        description="Supercell of the single-defect layer profiles: the smallest within the "
        "tolerance of the largest."
    )
    passed: bool = Field(
        description="A smaller supercell than the largest passed, or only one was checked."
    )


class RadiusCheck(BaseModel):
    """The L1 vacancy relaxed within the working radius and within a larger one."""

    radius: float | None = Field(description="Working relaxation radius, A (None: all free).")
    check_radius: float | None = Field(description="Larger radius, A (None: all free).")
    n_free: int = Field(description="Free atoms with the working radius.")
    n_free_check: int = Field(description="Free atoms with the larger radius.")
    formation_energy: float = Field(description="E_f with the working radius, eV.")
    formation_energy_check: float = Field(description="E_f with the larger radius, eV.")
    difference: float = Field(
        description="E_f(working) - E_f(larger), eV (>= 0 up to the force criterion: a "
        "larger relaxed region can only lower the energy)."
    )
    job_uuids: list[str] = Field(description="Jobs of the two vacancy cells.")


class LayerVacancy(BaseModel):
    """The vacancy formation energy in one metal layer."""

    layer: int = Field(description="Metal layer (1 = L1, touching Li2S).")
    interior: bool = Field(description="This is the interior (bulk-like) layer.")
    distance_to_contact: float = Field(description="Height of the layer above the substrate, A.")
    site: int = Field(description="Host (1x1) site of the vacancy.")
    formation_energy: float = Field(description="E_f(L) = E(vacancy) - E(host) + mu_Li, eV.")
    relative_to_interior: float | None = Field(
        None, description="E_f(L) - E_f(interior), eV; negative: vacancies prefer L."
    )
    screen_spread: float | None = Field(
        None,
        description="Spread (max - min) of the unrelaxed vacancy energies over the layer's "
        "sites, eV: the site heterogeneity; the lowest site is the one computed.",
    )
    supercell: tuple[int, int] = Field(description="In-plane supercell.")
    n_free: int = Field(description="Atoms relaxed.")
    converged: bool = Field(description="Whether the calculation converged.")
    job_uuids: list[str] = Field(description="Jobs of the pristine and vacancy cells.")


class LayerSegregation(BaseModel):
    """The solute segregation energy of one metal layer."""

    layer: int = Field(description="Metal layer (1 = L1).")
    interior: bool = Field(description="This is the interior (reference) layer.")
    distance_to_contact: float = Field(description="Height of the layer above the substrate, A.")
    site: int = Field(description="Host (1x1) site of the solute.")
    segregation_energy: float = Field(
        description="E(solute in L) - E(solute in the interior), eV; negative: the solute "
        "prefers L."
    )
    screen_spread: float | None = Field(
        None, description="Spread of the unrelaxed substitution energies over the layer, eV."
    )
    converged: bool = Field(description="Whether both calculations converged.")
    job_uuids: list[str] = Field(description="Jobs of this cell and of the interior cell.")


class InterfaceInteraction(BaseModel):
    """A vacancy in L1 at one distance from a solute in L1."""

    shell: int = Field(description="In-layer neighbour shell of the solute (1 = nearest).")
    distance: float = Field(description="Solute-vacancy distance in the unrelaxed host, A.")
    bcc_shell: int | None = Field(
        None, description="The bcc neighbour shell of that distance (relaxed bcc Li a)."
    )
    vacancy_site: int = Field(description="Vacancy site (host 1x1 index).")
    formation_energy: float = Field(
        description="E_f(v | solute) = E(solute + vacancy) - E(solute) + mu_Li, eV."
    )
    formation_energy_without_solute: float = Field(
        description="E_f of a vacancy at the same site without solute, eV."
    )
    interaction_energy: float = Field(
        description="E_f(v | solute) - E_f(v), eV; positive: the solute repels the vacancy."
    )
    converged: bool = Field(description="Whether every calculation converged.")
    job_uuids: list[str] = Field(description="Jobs of the four cells.")


class FillingMove(BaseModel):
    """An L1 vacancy filled by a host-metal atom or by the solute from L2."""

    case: Literal["near", "far"] = Field(description="Vacancy next to or far from the solute.")
    vacancy_layer: int = Field(description="Layer of the vacancy before filling.")
    solute_layer: int = Field(description="Layer of the solute before filling.")
    initial_distance: float = Field(description="Solute-vacancy distance before filling, A.")
    by_host_distance: float = Field(
        description="Solute-vacancy distance after the host-metal atom filled the vacancy, A."
    )
    by_solute_distance: float = Field(
        description="Solute-vacancy distance after the solute filled the vacancy, A."
    )
    energy_by_host: float = Field(
        description="E(filled by the host metal) - E(initial), eV; negative: favourable."
    )
    energy_by_solute: float = Field(
        description="E(filled by the solute) - E(initial), eV; negative: favourable."
    )
    preferred: Literal["solute", "host"] = Field(description="Which filling has the lower energy.")
    converged: bool = Field(description="Whether the three calculations converged.")
    job_uuids: list[str] = Field(description="Jobs of initial, host-filled, solute-filled.")


class DivacancyPair(BaseModel):
    """The binding energy of a vacancy pair."""

    where: Literal["bulk", "interface"] = Field(description="bcc Li bulk or the interface.")
    name: str = Field(description="Pair, e.g. 'bulk shell 1' or 'L1-L1'.")
    layers: tuple[int, int] | None = Field(None, description="Layers of the two vacancies.")
    distance: float = Field(description="Vacancy-vacancy distance in the unrelaxed cell, A.")
    bcc_shell: int | None = Field(None, description="bcc neighbour shell of the distance.")
    binding_energy: float = Field(
        description="E_b = E(2 vac) + E(0 vac) - E(vac a) - E(vac b), eV; negative: bound "
        "(the KMC export's binding is -E_b)."
    )
    converged: bool = Field(description="Whether every calculation converged.")
    job_uuids: list[str] = Field(description="Jobs of the pair, single and pristine cells.")


class Statement(BaseModel):
    """A conclusion of the document and the numbers behind it."""

    topic: Literal[
        "vacancy and L1",
        "vacancy next to solute and L1",
        "solute and L1",
        "solute and vacancy at the interface",
        "filling",
    ] = Field(description="What the statement is about.")
    value: float = Field(description="The deciding energy difference, eV.")
    verdict: str = Field(description="Short conclusion, e.g. 'attracted' or 'repelled'.")
    text: str = Field(description="The sentence, with the numbers behind it.")


class InterfaceDefectDocument(BaseModel):
    """Layer-resolved point defects at one metal | Li2S interface."""

    schema_version: str = Field("1", description="Version of this document's schema.")
    system: str = Field(description="System, e.g. 'Li-Mg/Li2S'.")
    solute: str | None = Field(None, description="Solute element (None for the pure metal).")
    host_element: str = Field("Li", description="Metal of the film.")
    calculator: CalculatorProvenance = Field(description="Calculator of every energy.")
    chemical_potential: float = Field(
        description="mu_Li: energy per atom of the relaxed bcc Li, eV/atom."
    )
    chemical_potential_job_uuid: str = Field(description="Job of the relaxed bcc Li.")
    lattice_constant: float = Field(description="Relaxed bcc Li lattice constant, A.")
    relaxation_radius: float | None = Field(
        description="Atoms within this distance (A) of a defect relax; None: all free."
    )
    host: HostCell = Field(description="The relaxed interface.")
    single_supercell: tuple[int, int] = Field(description="Supercell of the layer profiles.")
    pair_supercell: tuple[int, int] | None = Field(
        None, description="Supercell of the defect pairs."
    )
    size_check: SizeCheck | None = Field(None, description="In-plane size check (L1 vacancy).")
    radius_check: RadiusCheck | None = Field(None, description="Relaxation-radius check.")
    vacancy_profile: list[LayerVacancy] = Field(
        default_factory=list, description="E_f by layer, L1 first, the interior last."
    )
    interior_formation_energy: float | None = Field(
        None, description="E_f of the interior layer, eV."
    )
    l1_minus_interior: float | None = Field(
        None, description="E_f(L1) - E_f(interior), eV; negative: vacancies prefer L1."
    )
    bulk_formation_energy: float | None = Field(
        None, description="E_f in bcc Li (bulk divacancy supercell), eV."
    )
    interior_minus_bulk: float | None = Field(
        None, description="E_f(interior) - E_f(bulk), eV (strain and film-thickness effect)."
    )
    segregation: list[LayerSegregation] = Field(
        default_factory=list, description="Solute segregation by layer."
    )
    interaction: list[InterfaceInteraction] = Field(
        default_factory=list, description="Solute-vacancy interaction in L1 by distance."
    )
    filling: list[FillingMove] = Field(default_factory=list, description="Filling moves.")
    divacancies: list[DivacancyPair] = Field(
        default_factory=list, description="Divacancy binding, bulk and interface."
    )
    screens: list[ScreenedLayer] = Field(
        default_factory=list, description="Unrelaxed site screens that chose the sites."
    )
    statements: list[Statement] = Field(
        default_factory=list, description="Conclusions with their numbers."
    )
    notes: list[str] = Field(default_factory=list, description="Method remarks.")
    warnings: list[str] = Field(
        default_factory=list, description="Failed or unconverged inputs, failed checks."
    )
    job_uuids: list[str] = Field(default_factory=list, description="Every job used.")

    @property
    def profile_by_layer(self) -> dict[int, LayerVacancy]:
        """Vacancy entries by layer number."""
        return {entry.layer: entry for entry in self.vacancy_profile}

    @classmethod
    def from_results(  # noqa: C901, PLR0912, PLR0915 - one flat assembly of independent parts
        cls, spec: InterfaceDefectSpec, results: Mapping[str, CalculationResult | None]
    ) -> InterfaceDefectDocument:
        """Assemble the document from the plan and the results (None = failed).

        Raises
        ------
        MixedCalculatorError
            If the results come from different calculators or settings.
        RuntimeError
            If the host or the bcc Li reference is missing.
        """
        host, li = results.get("host"), results.get("li_bulk")
        if host is None or li is None:
            msg = f"{spec.system}: the relaxed interface or the relaxed bcc Li is missing"
            raise RuntimeError(msg)
        done = {k: r for k, r in results.items() if r is not None}
        calculator = common_calculator(
            list(done.values()), f"the interfacial defect energies of {spec.system}"
        )
        warnings = convergence_warnings(list(done.values()))
        warnings += [f"{label}: calculation failed" for label, r in results.items() if r is None]
        mu = li.energy_per_atom
        used: set[str] = {"host", "li_bulk"}

        def get(*labels: str) -> list[CalculationResult] | None:
            found = [results.get(label) for label in labels]
            if any(r is None for r in found):
                return None
            used.update(labels)
            return found  # type: ignore[return-value]

        def uuids(rs: Sequence[CalculationResult]) -> list[str]:
            return [_uuid(r) for r in rs]

        def pristine(label: str) -> str:
            return spec.pristine[_cell(spec.records[label].supercell)]

        def e_f(label: str) -> tuple[float, list[CalculationResult]] | None:
            rs = get(pristine(label), label)
            if rs is None:
                return None
            return vacancy_formation_energy(rs[1].energy, rs[0].energy, mu), rs

        document = cls(
            system=spec.system,
            solute=spec.solute,
            host_element=spec.host_element,
            calculator=calculator,
            chemical_potential=mu,
            chemical_potential_job_uuid=_uuid(li),
            lattice_constant=spec.lattice_constant,
            relaxation_radius=spec.radius,
            host=HostCell(
                n_atoms=host.n_atoms,
                n_layers=spec.n_layers,
                interior_layer=spec.interior_layer,
                area=spec.area,
                energy=host.energy,
                converged=host.converged,
                job_uuid=_uuid(host),
                layers=list(spec.host_layers),
            ),
            single_supercell=spec.single_supercell,
            pair_supercell=spec.pair_supercell,
            screens=list(spec.screens),
            notes=list(spec.notes),
        )
        screens = {(s.defect, s.layer): s for s in spec.screens}
        for layer in spec.host_layers:
            if layer.relaxed_highest - layer.relaxed_lowest > RECONSTRUCTION:
                document.notes.append(
                    f"L{layer.layer} reconstructs on relaxation: its atoms lie between "
                    f"{layer.relaxed_lowest:.2f} and {layer.relaxed_highest:.2f} A above the "
                    f"substrate (built at {layer.built_height:.2f} A)"
                )

        # size check
        entries = []
        for check in spec.size_check:
            value = e_f(check.vacancy)
            if value is None:
                continue
            energy, rs = value
            entries.append((check, energy, rs))
        if entries:
            largest = max(entries, key=lambda e: e[0].supercell[0] * e[0].supercell[1])[1]
            document.size_check = SizeCheck(
                entries=[
                    SizeCheckEntry(
                        supercell=c.supercell,
                        n_atoms=rs[0].n_atoms,
                        shortest_vector=c.shortest_vector,
                        formation_energy=energy,
                        change=energy - largest,
                        converged=all(r.converged for r in rs),
                        job_uuids=uuids(rs),
                    )
                    for c, energy, rs in sorted(
                        entries, key=lambda e: e[0].supercell[0] * e[0].supercell[1]
                    )
                ],
                tolerance=spec.size_tolerance,
                chosen=spec.single_supercell,
                passed=len(entries) == 1
                or any(
                    abs(energy - largest) <= spec.size_tolerance
                    and c.supercell[0] * c.supercell[1]
                    < max(e[0].supercell[0] * e[0].supercell[1] for e in entries)
                    for c, energy, _ in entries
                ),
            )
            chosen_entry = next(
                (e for e in document.size_check.entries if e.supercell == spec.single_supercell),
                None,
            )
            if chosen_entry is not None and abs(chosen_entry.change) > spec.size_tolerance:
                warnings.append(
                    f"size check: E_f(L1) in the {_cell(spec.single_supercell)} cell differs by "
                    f"{1000 * chosen_entry.change:+.1f} meV from the largest cell (tolerance "
                    f"{1000 * spec.size_tolerance:.0f} meV)"
                )

        # radius check
        if spec.radius_check is not None:
            local, check = e_f(spec.radius_check.local), e_f(spec.radius_check.check)
            if local is not None and check is not None:
                document.radius_check = RadiusCheck(
                    radius=spec.radius_check.radius,
                    check_radius=spec.radius_check.check_radius,
                    n_free=spec.records[spec.radius_check.local].n_free,
                    n_free_check=spec.records[spec.radius_check.check].n_free,
                    formation_energy=local[0],
                    formation_energy_check=check[0],
                    difference=local[0] - check[0],
                    job_uuids=[_uuid(local[1][1]), _uuid(check[1][1])],
                )

        # vacancy profile
        profile = []
        for item in spec.profile:
            value = e_f(item.label)
            if value is None:
                continue
            energy, rs = value
            record = spec.records[item.label]
            site = record.vacancies[0]
            screen = screens.get(("vacancy", item.layer))
            profile.append(
                LayerVacancy(
                    layer=item.layer,
                    interior=item.interior,
                    distance_to_contact=site.distance_to_contact,
                    site=site.primitive_index,
                    formation_energy=energy,
                    screen_spread=screen.spread if screen else None,
                    supercell=record.supercell,
                    n_free=record.n_free,
                    converged=all(r.converged for r in rs),
                    job_uuids=uuids(rs),
                )
            )
        interior = next((p for p in profile if p.interior), None)
        if interior is not None:
            document.interior_formation_energy = interior.formation_energy
            for p in profile:
                p.relative_to_interior = p.formation_energy - interior.formation_energy
        elif spec.profile:
            warnings.append("the interior vacancy failed: no layer profile relative to it")
        document.vacancy_profile = sorted(profile, key=lambda p: (p.interior, p.layer))
        first = document.profile_by_layer.get(1)
        if first is not None and interior is not None:
            document.l1_minus_interior = first.formation_energy - interior.formation_energy

        # segregation
        seg_interior = next((s for s in spec.segregation if s.interior), None)
        reference = get(seg_interior.label) if seg_interior else None
        if spec.segregation and reference is None:
            warnings.append("the interior solute cell failed: no segregation energies")
        if reference is not None:
            for item in spec.segregation:
                rs = get(item.label)
                if rs is None:
                    continue
                site = spec.records[item.label].solutes[0]
                screen = screens.get((spec.solute or "", item.layer))
                document.segregation.append(
                    LayerSegregation(
                        layer=item.layer,
                        interior=item.interior,
                        distance_to_contact=site.distance_to_contact,
                        site=site.primitive_index,
                        segregation_energy=rs[0].energy - reference[0].energy,
                        screen_spread=screen.spread if screen else None,
                        converged=rs[0].converged and reference[0].converged,
                        job_uuids=uuids([rs[0], reference[0]]),
                    )
                )
            document.segregation.sort(key=lambda s: (s.interior, s.layer))

        # solute-vacancy interaction in L1
        if spec.interaction_solute is not None:
            for item in spec.interaction:
                pair_record = spec.records[item.pair]
                rs = get(spec.interaction_solute, item.pair)
                bare = e_f(item.bare)
                if rs is None or bare is None:
                    continue
                with_solute = vacancy_formation_energy(rs[1].energy, rs[0].energy, mu)
                distance = pair_record.pair_distance or 0.0
                document.interaction.append(
                    InterfaceInteraction(
                        shell=item.shell,
                        distance=distance,
                        bcc_shell=bcc_shell_number(distance, spec.lattice_constant),
                        vacancy_site=pair_record.vacancies[0].primitive_index,
                        formation_energy=with_solute,
                        formation_energy_without_solute=bare[0],
                        interaction_energy=with_solute - bare[0],
                        converged=all(r.converged for r in [*rs, *bare[1]]),
                        job_uuids=uuids([*rs, *bare[1]]),
                    )
                )

        # filling
        for item in spec.filling:
            rs = get(item.initial, item.by_host, item.by_solute)
            if rs is None:
                continue
            initial, by_host, by_solute = rs
            record = spec.records[item.initial]
            e_host = by_host.energy - initial.energy
            e_solute = by_solute.energy - initial.energy
            document.filling.append(
                FillingMove(
                    case=item.case,
                    vacancy_layer=record.vacancies[0].layer,
                    solute_layer=record.solutes[0].layer,
                    initial_distance=item.sites.initial_distance,
                    by_host_distance=item.sites.by_host_distance,
                    by_solute_distance=item.sites.by_solute_distance,
                    energy_by_host=e_host,
                    energy_by_solute=e_solute,
                    preferred="solute" if e_solute < e_host else "host",
                    converged=all(r.converged for r in rs),
                    job_uuids=uuids(rs),
                )
            )

        # divacancies
        bulk = spec.bulk_divacancy
        if bulk is not None:
            singles = get(bulk.perfect, bulk.single)
            if singles is not None:
                perfect, single = singles
                n = perfect.n_atoms
                document.bulk_formation_energy = single.energy - (n - 1) / n * perfect.energy
                if document.interior_formation_energy is not None:
                    document.interior_minus_bulk = (
                        document.interior_formation_energy - document.bulk_formation_energy
                    )
                for shell, distance, label in bulk.pairs:
                    rs = get(label)
                    if rs is None:
                        continue
                    document.divacancies.append(
                        DivacancyPair(
                            where="bulk",
                            name=f"bulk shell {shell}",
                            distance=distance,
                            bcc_shell=shell,
                            binding_energy=rs[0].energy + perfect.energy - 2 * single.energy,
                            converged=rs[0].converged and single.converged,
                            job_uuids=uuids([rs[0], single, perfect]),
                        )
                    )
        for item in spec.divacancy_interface:
            rs = get(item.pair, item.first, item.second, item.pristine)
            if rs is None:
                continue
            pair, first_vac, second_vac, base = rs
            record = spec.records[item.pair]
            distance = record.pair_distance or 0.0
            document.divacancies.append(
                DivacancyPair(
                    where="interface",
                    name=item.name,
                    layers=(record.vacancies[0].layer, record.vacancies[1].layer),
                    distance=distance,
                    bcc_shell=bcc_shell_number(distance, spec.lattice_constant),
                    binding_energy=pair.energy + base.energy - first_vac.energy - second_vac.energy,
                    converged=all(r.converged for r in rs),
                    job_uuids=uuids(rs),
                )
            )

        document.warnings = warnings
        document.job_uuids = sorted({_uuid(results[label]) for label in used if results[label]})
        document.statements = interface_statements(document)
        return document


# ---------------------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------------------


def _strength(value: float) -> str:
    return " (weakly: |dE| < 10 meV)" if abs(value) < WEAK_EFFECT else ""


def _sign_verdict(value: float, negative: str, positive: str) -> str:
    if value < 0:
        return negative
    if value > 0:
        return positive
    return "neutral"


def interface_statements(document: InterfaceDefectDocument) -> list[Statement]:
    """Draw the per-system conclusions, each following the sign of its number.

    - vacancies and L1: dE = E_f(L1) - E_f(interior); negative: attracted to L1;
    - vacancies next to the solute in L1: dE = E_f(L1 | nearest solute) - E_f(interior);
    - solute and L1: E_seg(L1); negative: the solute prefers L1;
    - solute-vacancy in L1: E_int at the nearest shell; positive: the solute repels vacancies;
    - filling (vacancy next to the solute): the lower of the two filling energies.
    """
    out: list[Statement] = []
    metal = document.host_element
    solute = document.solute
    interior_layer = document.host.interior_layer
    first = document.profile_by_layer.get(1)
    if document.l1_minus_interior is not None and first is not None:
        d = document.l1_minus_interior
        verdict = _sign_verdict(d, "attracted to L1", "repelled from L1")
        out.append(
            Statement(
                topic="vacancy and L1",
                value=d,
                verdict=verdict,
                text=f"{document.system}: {metal} vacancies are {verdict}{_strength(d)}: "
                f"E_f(L1) = {first.formation_energy:.3f} eV vs E_f(L{interior_layer}, interior) "
                f"= {document.interior_formation_energy:.3f} eV (dE = {d:+.3f} eV)",
            )
        )
    nearest = min(document.interaction, key=lambda i: i.distance, default=None)
    if nearest is not None and document.interior_formation_energy is not None:
        d = nearest.formation_energy - document.interior_formation_energy
        verdict = _sign_verdict(d, "attracted to L1", "repelled from L1")
        out.append(
            Statement(
                topic="vacancy next to solute and L1",
                value=d,
                verdict=verdict,
                text=f"{document.system}: next to {solute} in L1, {metal} vacancies are "
                f"{verdict}{_strength(d)}: E_f(L1, {nearest.distance:.2f} A from {solute}) = "
                f"{nearest.formation_energy:.3f} eV vs E_f(interior) = "
                f"{document.interior_formation_energy:.3f} eV (dE = {d:+.3f} eV)",
            )
        )
    seg = {s.layer: s for s in document.segregation if not s.interior}
    if 1 in seg:
        d = seg[1].segregation_energy
        verdict = _sign_verdict(d, "prefers L1", "avoids L1")
        lowest = min(document.segregation, key=lambda s: s.segregation_energy)
        where = "interior" if lowest.interior else f"L{lowest.layer}"
        out.append(
            Statement(
                topic="solute and L1",
                value=d,
                verdict=verdict,
                text=f"{document.system}: {solute} {verdict} over the interior{_strength(d)}: "
                f"E_seg(L1) = {d:+.3f} eV; the lowest-energy layer computed is {where} "
                f"({lowest.segregation_energy:+.3f} eV)",
            )
        )
    if nearest is not None:
        d = nearest.interaction_energy
        verdict = _sign_verdict(d, "attracts", "repels")
        out.append(
            Statement(
                topic="solute and vacancy at the interface",
                value=d,
                verdict=verdict,
                text=f"{document.system}: {solute} in L1 {verdict} {metal} vacancies in L1"
                f"{_strength(d)}: E_int = {d:+.3f} eV at {nearest.distance:.2f} A ("
                + ", ".join(
                    f"{i.interaction_energy:+.3f} eV at {i.distance:.2f} A"
                    for i in sorted(document.interaction, key=lambda i: i.distance)[1:]
                )
                + ")",
            )
        )
    near = next((f for f in document.filling if f.case == "near"), None)
    if near is not None:
        d = near.energy_by_solute - near.energy_by_host
        verdict = _sign_verdict(d, f"filled by {solute}", f"filled by {metal}")
        far = next((f for f in document.filling if f.case == "far"), None)
        far_text = (
            f"; {far.initial_distance:.2f} A away: {metal} {far.energy_by_host:+.3f} eV, "
            f"{solute} {far.energy_by_solute:+.3f} eV"
            if far
            else ""
        )
        out.append(
            Statement(
                topic="filling",
                value=d,
                verdict=verdict,
                text=f"{document.system}: an L1 vacancy next to {solute} (in L2, "
                f"{near.initial_distance:.2f} A) is preferentially {verdict}{_strength(d)}: "
                f"dE = {near.energy_by_host:+.3f} eV by {metal} from L2, "
                f"{near.energy_by_solute:+.3f} eV by {solute} from L2{far_text}",
            )
        )
    return out


# ---------------------------------------------------------------------------------------
# Bond energies
# ---------------------------------------------------------------------------------------

#: Standard enthalpies of formation at 298 K (kJ/mol of formula unit) for orientation only:
#: NBS tables (Wagman et al., J. Phys. Chem. Ref. Data 11, suppl. 2, 1982); Ag2S is acanthite.
EXPERIMENTAL_FORMATION_KJ_PER_MOL = {"Li2S": -441.4, "MgS": -346.0, "Ag2S": -32.6}
KJ_PER_MOL_TO_EV = 1 / 96.485332


def count_bonds(structure: Structure, metal: str, anion: str = "S", tol: float = 0.15) -> float:
    """Metal-anion bonds per formula unit: pairs within (1 + tol) of the shortest M-S distance.

    Parameters
    ----------
    structure
        The relaxed compound.
    metal, anion
        Elements of the bond.
    tol
        Relative tolerance above the shortest metal-anion distance.

    Returns
    -------
    float
        Bonds per reduced formula unit (an integer for the ordered prototypes).
    """
    metal_sites = [i for i, s in enumerate(structure) if s.specie.symbol == metal]
    anion_sites = [i for i, s in enumerate(structure) if s.specie.symbol == anion]
    if not metal_sites or not anion_sites:
        msg = f"{structure.composition.reduced_formula} has no {metal}-{anion} pairs"
        raise ValueError(msg)
    d = structure.lattice.get_all_distances(
        structure.frac_coords[metal_sites], structure.frac_coords[anion_sites]
    )
    shortest = float(d.min())
    cutoff = (1 + tol) * shortest
    bonds = 0
    for i in metal_sites:
        bonds += len(
            [n for n in structure.get_neighbors(structure[i], cutoff) if n.specie.symbol == anion]
        )
    units = structure.composition.get_reduced_composition_and_factor()[1]
    return bonds / units


class CompoundBondEnergy(BaseModel):
    """Formation energy per metal-sulfur bond of one sulfide."""

    compound: str = Field(description="Reduced formula, e.g. 'Li2S'.")
    structure_type: str = Field(description="Structure used, e.g. 'antifluorite'.")
    metal: str = Field(description="The metal element.")
    energy_per_formula_unit: float = Field(description="Energy of the compound per f.u., eV.")
    formation_energy: float = Field(
        description="E(M_xS) - x mu_M - mu_S per formula unit, eV (negative: stable)."
    )
    formation_energy_per_atom: float = Field(description="Formation energy per atom, eV/atom.")
    formation_energy_per_metal: float = Field(
        description="Formation energy per metal atom, eV (how strongly one metal atom binds S)."
    )
    bonds_per_formula_unit: float = Field(
        description="M-S bonds per formula unit from the coordination of the relaxed structure."
    )
    bond_length: float = Field(description="Shortest M-S distance, A.")
    bond_energy: float = Field(
        description="Formation energy per M-S bond, eV (negative; more negative = stronger)."
    )
    experimental_formation_energy: float | None = Field(
        None, description="Experimental standard enthalpy of formation per f.u., eV."
    )
    converged: bool = Field(description="Whether the compound relaxation converged.")
    job_uuid: str = Field(description="Job of the compound relaxation.")


class ElementalReference(BaseModel):
    """An elemental reference phase (chemical potential)."""

    element: str = Field(description="Element.")
    phase: str = Field(description="Phase used, e.g. 'bcc', 'alpha-S8'.")
    energy_per_atom: float = Field(description="Energy per atom, eV/atom.")
    converged: bool = Field(description="Whether the relaxation converged.")
    job_uuid: str = Field(description="Job of the relaxation.")


class BondEnergyDocument(BaseModel):
    """Metal-sulfur bond-energy references from Li2S, MgS and Ag2S."""

    schema_version: str = Field("1", description="Version of this document's schema.")
    calculator: CalculatorProvenance = Field(description="Calculator of every energy.")
    references: list[ElementalReference] = Field(description="Elemental references.")
    compounds: list[CompoundBondEnergy] = Field(description="One entry per sulfide.")
    notes: list[str] = Field(default_factory=list, description="Method remarks.")
    warnings: list[str] = Field(default_factory=list, description="Unconverged inputs.")

    @classmethod
    def from_results(
        cls,
        elements: Mapping[str, tuple[str, CalculationResult]],
        compounds: Mapping[str, tuple[str, CalculationResult]],
        tol: float = 0.15,
        notes: Sequence[str] = (),
    ) -> BondEnergyDocument:
        """Build the document.

        Parameters
        ----------
        elements
            Element -> (phase name, relaxed result) for S and every metal.
        compounds
            Formula -> (structure type, relaxed result).
        tol
            Bond-counting tolerance (see :func:`count_bonds`).
        notes
            Method remarks to keep.
        """
        everything = [r for _, r in elements.values()] + [r for _, r in compounds.values()]
        calculator = common_calculator(everything, "the metal-sulfur bond energies")
        if "S" not in elements:
            msg = "no sulfur reference"
            raise ValueError(msg)
        mu = {element: r.energy_per_atom for element, (_, r) in elements.items()}
        entries = []
        for formula, (structure_type, result) in compounds.items():
            composition = result.structure.composition
            reduced, units = composition.get_reduced_composition_and_factor()
            metals = [e.symbol for e in reduced if e.symbol != "S"]
            if len(metals) != 1:
                msg = f"{formula}: expected one metal and sulfur, got {reduced.formula}"
                raise ValueError(msg)
            metal = metals[0]
            if metal not in mu:
                msg = f"{formula}: no reference for {metal}"
                raise ValueError(msg)
            per_fu = result.energy / units
            formation = per_fu - sum(reduced[e] * mu[e.symbol] for e in reduced)
            bonds = count_bonds(result.structure, metal, tol=tol)
            ms = result.structure.lattice.get_all_distances(
                result.structure.frac_coords[
                    [i for i, s in enumerate(result.structure) if s.specie.symbol == metal]
                ],
                result.structure.frac_coords[
                    [i for i, s in enumerate(result.structure) if s.specie.symbol == "S"]
                ],
            )
            experiment = EXPERIMENTAL_FORMATION_KJ_PER_MOL.get(reduced.reduced_formula)
            entries.append(
                CompoundBondEnergy(
                    compound=reduced.reduced_formula,
                    structure_type=structure_type,
                    metal=metal,
                    energy_per_formula_unit=per_fu,
                    formation_energy=formation,
                    formation_energy_per_atom=formation / reduced.num_atoms,
                    formation_energy_per_metal=formation / reduced[metal],
                    bonds_per_formula_unit=bonds,
                    bond_length=float(np.min(ms)),
                    bond_energy=formation / bonds,
                    experimental_formation_energy=None
                    if experiment is None
                    else experiment * KJ_PER_MOL_TO_EV,
                    converged=result.converged,
                    job_uuid=_uuid(result),
                )
            )
        return cls(
            calculator=calculator,
            references=[
                ElementalReference(
                    element=element,
                    phase=phase,
                    energy_per_atom=r.energy_per_atom,
                    converged=r.converged,
                    job_uuid=_uuid(r),
                )
                for element, (phase, r) in elements.items()
            ],
            compounds=entries,
            notes=list(notes),
            warnings=convergence_warnings(everything),
        )
