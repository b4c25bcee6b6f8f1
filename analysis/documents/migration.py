"""Migration: NEB results, attempt frequencies, hop barriers and vacancy diffusivities.

Four document types, from the single calculation to the derived property:

- :class:`NebCalculation`: one climbing-image NEB between two relaxed endpoints with one
  calculator and one set of :class:`NebSettings`, stored and reused like a
  :class:`~anodefree.analysis.documents.calculation.CalculationResult`;
- :class:`AttemptFrequencyResult`: normal modes at a minimum and at the saddle and the
  harmonic transition-state (Vineyard) attempt frequency, stored and reused;
- :class:`MigrationBarrierDocument`: one hop: forward and reverse barriers, energy profile,
  attempt frequencies, convergence flags, job ids and the published PBE reference;
- :class:`VacancyDiffusionDocument`: diffusivities D(T) of host self-diffusion and of
  substitutional solutes by the vacancy mechanism, built from the hop documents and the
  vacancy formation (and solute-vacancy binding) energies of the vacancy documents.

The formulas are in :mod:`anodefree.analysis.diffusion`.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pymatgen.core import Structure

from anodefree.analysis import diffusion
from anodefree.analysis.references import PBE_REFERENCE
from anodefree.provenance import CalculatorProvenance, require_same_calculator
from anodefree.serialization import MSONModel

if TYPE_CHECKING:
    from collections.abc import Sequence

    from anodefree.analysis.documents.calculation import CalculationResult
    from anodefree.analysis.documents.vacancy import BulkVacancyDocument, SoluteVacancyDocument

#: NEB methods of ASE that anodefree accepts; ASE's legacy "aseneb" is refused.
NEB_METHODS = ("improvedtangent", "eb", "spline", "string")
#: Optimizers for the NEB: ASE's FIRE, BFGS, MDMin, or the adaptive ODE solver of ASE's
#: NEBOptimizer (Makri, Ortner and Kermode, J. Chem. Phys. 150, 094109 (2019)).
NEB_OPTIMIZERS = ("FIRE", "BFGS", "MDMin", "ODE")
#: Largest |forward - reverse| (eV) accepted for a hop whose endpoints are equivalent.
SYMMETRY_TOLERANCE = 0.005
#: A Vineyard prefactor more than this factor away from the 1D Einstein frequency of the
#: hopping atom is rejected as unreliable (then the Einstein value is used, flagged). The
#: two differ by the collective modes; in the cases checked they agree within a factor 3,
#: while noisy Hessians (CHGNet with bcc Li bonds at its 3 A bond-graph cutoff) gave
#: factors of 100.
PLAUSIBLE_RATIO = 10.0

HopKind = Literal["self", "exchange", "dissociation", "interface", "other"]


class NebSettings(MSONModel):
    """Settings of a nudged-elastic-band calculation that change its result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_images: int = Field(
        3, ge=1, le=15, description="Number of intermediate images (endpoints excluded)."
    )
    interpolation: Literal["idpp", "linear"] = Field(
        "idpp",
        description="Initial path: image-dependent pair potential (Smidstrup et al., J. Chem. "
        "Phys. 140, 214106 (2014)) or linear interpolation, both with the minimum-image "
        "convention.",
    )
    method: str = Field(
        "improvedtangent",
        description=f"ASE NEB method, one of {', '.join(NEB_METHODS)} (never 'aseneb').",
    )
    climb: bool = Field(default=True, description="Use a climbing image.")
    spring_constant: float = Field(1.0, gt=0, description="Spring constant k in eV/A^2.")
    fmax: float = Field(
        0.01,
        gt=0,
        description="Convergence: largest NEB force on any image, in eV/A (0.03 eV/A left "
        "the Li hop barrier 8-10 meV too high with CHGNet and the toy potential; 0.01 is "
        "within 0.3 meV of a band converged to 0.002 eV/A).",
    )
    max_steps: int = Field(500, ge=1, description="Maximum optimizer steps.")
    optimizer: str = Field(
        "BFGS",
        description=f"One of {', '.join(NEB_OPTIMIZERS)} (BFGS needed the fewest force calls "
        "at equal barrier on the bcc Li hop).",
    )

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        if value == "aseneb":
            msg = (
                "NEB method 'aseneb' (ASE's legacy default) is refused: its tangent and "
                f"spring forces are inaccurate; use one of {', '.join(NEB_METHODS)}"
            )
            raise ValueError(msg)
        if value not in NEB_METHODS:
            msg = f"unknown NEB method {value!r}; choose one of {', '.join(NEB_METHODS)}"
            raise ValueError(msg)
        return value

    @field_validator("optimizer")
    @classmethod
    def _known_optimizer(cls, value: str) -> str:
        if value not in NEB_OPTIMIZERS:
            msg = f"unknown NEB optimizer {value!r}; choose one of {', '.join(NEB_OPTIMIZERS)}"
            raise ValueError(msg)
        return value


class AttemptFrequencySettings(MSONModel):
    """How attempt frequencies are computed (finite displacements through the engine)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["vineyard", "vineyard_local", "einstein"] = Field(
        "vineyard",
        description="'vineyard': all 3N modes of the periodic cell at the minimum and the "
        "saddle (phonopy finite displacements, symmetry-reduced; the three translations "
        "are left out of both products); 'vineyard_local': only the hopping atom and the "
        "atoms within `cutoff` of it move, the rest is frozen (3M over 3M-1 modes); "
        "'einstein': the 1D harmonic frequency of the hopping atom along the jump "
        "direction at the minimum (the documented fallback, 2 force calls).",
    )
    displacement: float = Field(
        0.01,
        gt=0,
        le=0.1,
        description="Finite displacement amplitude in A. Keep it at or below 0.01-0.02 A with "
        "CHGNet: bcc Li nearest neighbours (2.98 A) sit just inside its 3 A bond-graph cutoff, "
        "and 0.03 A displacements pushed bonds across it (the Li-hop prefactor changed from "
        "10.6 to 18.2 THz between 0.01 and 0.03 A; 9.5 THz at 0.02 A).",
    )
    cutoff: float = Field(
        3.2,
        ge=0,
        description="For 'vineyard_local': atoms within this distance in A of the hopping "
        "atom (at the minimum or at the saddle) move; 0 = the hopping atom only.",
    )
    symprec: float = Field(
        1e-3, gt=0, description="Symmetry tolerance of phonopy in A ('vineyard')."
    )
    central_differences: bool = Field(
        default=True,
        description="'vineyard': displace every symmetry-distinct atom by +d and -d "
        "(phonopy is_plusminus=True; errors O(d^2)) rather than only where symmetry does not "
        "supply the opposite displacement (one-sided differences, errors O(d)).",
    )


class NebCalculation(BaseModel):
    """One climbing-image NEB with one calculator, as stored and reused."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    schema_version: str = Field("1", description="Version of this document's schema.")
    label: str = Field(description="Human-readable name of the hop.")
    system: str | None = Field(None, description="System the hop belongs to.")
    calculator: CalculatorProvenance = Field(description="Calculator, version, settings.")
    settings: NebSettings = Field(description="NEB settings.")
    moving_index: int | None = Field(None, description="Index of the hopping atom.")
    images: list[Structure] = Field(description="Relaxed band including both endpoints (A).")
    energies: list[float] = Field(description="Total energy of every image in eV.")
    reaction_coordinate: list[float] = Field(
        description="Cumulative distance along the band in A (all atoms, minimum image)."
    )
    climbing_index: int = Field(description="Index of the highest image (the climbing image).")
    forward_barrier: float = Field(description="E(climbing image) - E(initial endpoint) in eV.")
    reverse_barrier: float = Field(description="E(climbing image) - E(final endpoint) in eV.")
    spline_forward_barrier: float | None = Field(
        None, description="Forward barrier from atomate2's clamped cubic spline, in eV."
    )
    converged: bool = Field(
        description="Whether the largest NEB force (climbing image included) fell below "
        "settings.fmax; unconverged barriers are flagged wherever used."
    )
    convergence_messages: list[str] = Field(
        default_factory=list, description="Why the NEB is not converged."
    )
    max_force: float | None = Field(
        None, description="Largest NEB force on the intermediate images at the end, eV/A."
    )
    n_steps: int | None = Field(None, description="Optimizer steps taken.")
    n_force_calls: int | None = Field(
        None, description="Energy/force evaluations of the NEB (endpoints included)."
    )
    wall_time: float | None = Field(None, description="Wall time of the NEB in s.")
    cache_key: str = Field(description="Identity of (endpoints, calculator, settings).")
    reused: bool = Field(default=False, description="True when taken from the store.")
    job_uuid: str | None = Field(None, description="Job that returned this document.")
    source_job_uuid: str | None = Field(
        None, description="atomate2 NEB job that actually ran the band."
    )
    completed_at: datetime = Field(
        default_factory=lambda: datetime.now(UTC), description="When it was computed (UTC)."
    )
    metadata: dict[str, Any] = Field(default_factory=dict, description="Free-form tags.")
    refinement: str | None = Field(
        None,
        description="Why this band replaced a coarser NEB of the same hop (that band's images, "
        "barrier and problem); None when it is the first band.",
    )

    @property
    def saddle(self) -> Structure:
        """The climbing image: the saddle-point estimate."""
        return self.images[self.climbing_index]


class NormalModes(BaseModel):
    """Harmonic normal modes of one structure by finite displacements, stored and reused."""

    schema_version: str = Field("1", description="Version of this document's schema.")
    label: str = Field(description="Structure and role, e.g. 'Li hop: saddle'.")
    calculator: CalculatorProvenance = Field(description="Calculator, version, settings.")
    method: Literal["phonopy", "local"] = Field(
        description="'phonopy': every atom of the periodic cell, symmetry-reduced "
        "displacements, translations projected out; 'local': central differences of the "
        "listed atoms only, every other atom frozen."
    )
    displacement: float = Field(description="Finite displacement amplitude in A.")
    moving_atoms: list[int] = Field(description="Indices of the atoms whose modes these are.")
    frequencies: list[float] = Field(
        description="3M normal-mode frequencies in THz, ascending (imaginary as negative)."
    )
    zero_modes: int = Field(description="Exact zero modes (3 translations for 'phonopy').")
    hopper: int | None = Field(None, description="Index of the hopping atom.")
    hopper_force_constants: list[list[float]] | None = Field(
        None,
        description="3x3 second derivatives of the energy with respect to the hopping "
        "atom's position, every other atom fixed, in eV/A^2.",
    )
    hopper_mass: float | None = Field(None, description="Mass of the hopping atom in amu.")
    reaction_mode: int | None = Field(
        None,
        description="Index in `frequencies` of the mode most parallel to the path tangent "
        "(saddle analyses given a tangent).",
    )
    reaction_overlap: float | None = Field(
        None, description="|cosine| between that mode and the mass-weighted tangent."
    )
    space_group: str | None = Field(None, description="Space group phonopy found.")
    n_displacements: int = Field(description="Displaced structures computed.")
    n_force_calls: int = Field(description="Force evaluations (reference included).")
    residual_force: float = Field(
        description="Largest force on a moving atom of the undisplaced structure, eV/A "
        "(subtracted from every displaced force set)."
    )
    wall_time: float | None = Field(None, description="Wall time in s.")
    cache_key: str = Field(description="Identity of (structure, atoms, calculator, settings).")
    reused: bool = Field(default=False, description="True when taken from the store.")
    job_uuid: str | None = Field(None, description="Job that returned this document.")
    completed_at: datetime = Field(
        default_factory=lambda: datetime.now(UTC), description="When it was computed (UTC)."
    )

    def einstein_frequency(self, direction: Sequence[float]) -> float | None:
        """1D harmonic frequency of the hopping atom along ``direction`` in THz."""
        if self.hopper_force_constants is None or self.hopper_mass is None:
            return None
        unit = np.asarray(direction, dtype=float)
        unit = unit / np.linalg.norm(unit)
        k = float(unit @ np.asarray(self.hopper_force_constants) @ unit)
        try:
            return diffusion.einstein_frequency(k, self.hopper_mass)
        except diffusion.HarmonicError:
            return None


class AttemptFrequencyResult(BaseModel):
    """The attempt frequency of one jump from the modes at its minimum and saddle."""

    label: str = Field(description="Hop and direction, e.g. 'Li-vacancy hop (forward)'.")
    calculator: CalculatorProvenance = Field(description="Calculator, version, settings.")
    method: str = Field(description="'vineyard', 'vineyard_local' or 'einstein'.")
    nu: float | None = Field(
        None, description="Attempt frequency in THz (None if the modes are invalid)."
    )
    einstein_frequency: float | None = Field(
        None,
        description="1D harmonic frequency of the hopping atom along the jump direction at "
        "the minimum, every other atom fixed, in THz (the fallback).",
    )
    minimum_frequencies: list[float] = Field(
        default_factory=list, description="Normal-mode frequencies at the minimum in THz."
    )
    saddle_frequencies: list[float] = Field(
        default_factory=list,
        description="Normal-mode frequencies at the saddle in THz (imaginary as negative).",
    )
    imaginary_frequency: float | None = Field(
        None, description="|nu| of the unstable mode at the saddle in THz."
    )
    n_moving_atoms: int = Field(0, description="Atoms whose modes enter (all for 'vineyard').")
    zero_modes: int = Field(0, description="Zero modes left out of both products.")
    n_force_calls: int = Field(0, description="Force evaluations of both mode analyses.")
    valid: bool = Field(description="Whether nu is a valid harmonic prefactor.")
    messages: list[str] = Field(default_factory=list, description="Problems found.")
    notes: list[str] = Field(
        default_factory=list, description="Remarks that do not invalidate nu (flat saddle)."
    )
    job_uuids: list[str | None] = Field(
        default_factory=list, description="Jobs of the minimum and saddle mode analyses."
    )

    @classmethod
    def from_modes(
        cls,
        label: str,
        method: str,
        minimum: NormalModes,
        saddle: NormalModes | None,
        jump_direction: Sequence[float],
    ) -> AttemptFrequencyResult:
        """Vineyard's nu* (or the Einstein fallback) from the modes of the two points."""
        messages: list[str] = []
        notes: list[str] = []
        calculators = [minimum.calculator] + ([saddle.calculator] if saddle else [])
        calculator = require_same_calculator(calculators, f"the attempt frequency of {label}")
        einstein = minimum.einstein_frequency(jump_direction)
        nu: float | None = None
        imaginary = None
        if method == "einstein":
            nu = einstein
            if nu is None:
                messages.append("no positive curvature along the jump direction at the minimum")
        elif saddle is None:
            messages.append("no saddle-point modes")
        else:
            if saddle.moving_atoms != minimum.moving_atoms:
                messages.append("minimum and saddle modes cover different atoms")
            imaginary, reaction = _reaction_mode(saddle, notes)
            try:
                nu = diffusion.vineyard_prefactor(
                    minimum.frequencies,
                    saddle.frequencies,
                    zero_modes=minimum.zero_modes,
                    reaction_mode=reaction,
                    zero_tolerance=1e-3,
                )
            except diffusion.HarmonicError as exc:
                messages.append(str(exc))
            if nu is not None and einstein is not None:
                ratio = nu / einstein
                if not 1 / PLAUSIBLE_RATIO <= ratio <= PLAUSIBLE_RATIO:
                    messages.append(
                        f"Vineyard prefactor {nu:.3g} THz is {ratio:.3g} times the 1D Einstein "
                        f"frequency {einstein:.3g} THz (accepted: within a factor "
                        f"{PLAUSIBLE_RATIO:g}); rejected as unreliable"
                    )
        return cls(
            label=label,
            calculator=calculator,
            method=method,
            nu=nu,
            einstein_frequency=einstein,
            minimum_frequencies=minimum.frequencies,
            saddle_frequencies=saddle.frequencies if saddle else [],
            imaginary_frequency=imaginary,
            n_moving_atoms=len(minimum.moving_atoms),
            zero_modes=minimum.zero_modes,
            n_force_calls=minimum.n_force_calls + (saddle.n_force_calls if saddle else 0),
            valid=nu is not None and not messages,
            messages=messages,
            notes=notes,
            job_uuids=[minimum.job_uuid] + ([saddle.job_uuid] if saddle else []),
        )


def _reaction_mode(saddle: NormalModes, notes: list[str]) -> tuple[float | None, int | None]:
    """|nu| of the unstable mode (None if real) and the reaction mode's index, with notes."""
    reaction = saddle.reaction_mode
    if reaction is None:
        negative = [f for f in saddle.frequencies if f < 0]
        return (abs(min(saddle.frequencies)) if negative else None), None
    frequency = saddle.frequencies[reaction]
    if frequency >= 0:
        notes.append(
            f"flat saddle: the reaction mode (overlap {saddle.reaction_overlap:.2f} with the "
            f"path tangent) came out real, {frequency:.3f} THz; it is left out as the "
            "reaction coordinate"
        )
    if saddle.reaction_overlap is not None and saddle.reaction_overlap < 0.5:
        notes.append(
            f"the reaction mode overlaps the path tangent only by {saddle.reaction_overlap:.2f}"
        )
    return (-frequency if frequency < 0 else None), reaction


def _uuid(result: CalculationResult | NebCalculation) -> str | None:
    return result.source_job_uuid or result.job_uuid


class MigrationBarrierDocument(BaseModel):
    """One vacancy hop: barriers, energy profile, attempt frequencies and references."""

    schema_version: str = Field("1", description="Version of this document's schema.")
    hop: str = Field(description="Name of the hop.")
    system: str = Field(description="System, e.g. 'Li' or 'Li-Mg'.")
    kind: HopKind = Field(
        description="'self' (host atom, pure host), 'exchange' (solute-vacancy exchange, "
        "w2), 'dissociation' (host atom next to a solute; forward = vacancy leaves the "
        "solute's first shell, w3; reverse = w4), 'interface' (a vacancy between metal "
        "layers of an interface cell) or 'other'."
    )
    moving_species: str = Field(description="Element of the hopping atom.")
    solute: str | None = Field(None, description="Solute element of the cell, if any.")
    calculator: CalculatorProvenance = Field(description="Calculator of every energy.")
    n_atoms: int = Field(description="Atoms in the NEB cell.")
    jump_length: float = Field(description="Unrelaxed jump length in A.")
    symmetric: bool = Field(description="Whether the endpoints are symmetry-equivalent.")
    forward_barrier: float = Field(description="E_saddle - E_initial in eV.")
    reverse_barrier: float = Field(description="E_saddle - E_final in eV.")
    reaction_energy: float = Field(description="E_final - E_initial (relaxed endpoints) in eV.")
    energies: list[float] = Field(description="Image energies relative to the initial one, eV.")
    reaction_coordinate: list[float] = Field(description="Distance along the band in A.")
    climbing_index: int = Field(description="Index of the climbing image.")
    neb_converged: bool = Field(description="Whether the NEB reached its force criterion.")
    neb_max_force: float | None = Field(None, description="Largest final NEB force in eV/A.")
    neb_settings: NebSettings = Field(description="NEB settings.")
    neb_force_calls: int | None = Field(None, description="Force evaluations of the NEB.")
    endpoints_converged: bool = Field(description="Whether both endpoint relaxations converged.")
    endpoint_mismatch: float | None = Field(
        None,
        description="Largest displacement (A, minimum image) of any atom other than the "
        "hopping one between the two relaxed endpoints; above RECONSTRUCTION_TOLERANCE the "
        "band joins two different reconstructions and its barrier is not a hop barrier.",
    )
    hop_distance: float | None = Field(
        None,
        description="Distance (A, minimum image) between the hopping atom's positions in "
        "the two relaxed endpoints; below COLLAPSE_FRACTION of the jump length the two "
        "endpoints relaxed into one state (one of them is not a minimum) and the band has "
        "no hop to measure.",
    )
    attempt_frequency_forward: float | None = Field(
        None, description="Attempt frequency of the forward jump in THz."
    )
    attempt_frequency_reverse: float | None = Field(
        None, description="Attempt frequency of the reverse jump in THz."
    )
    attempt_frequency_method: str | None = Field(
        None, description="How the attempt frequencies were obtained."
    )
    einstein_frequency: float | None = Field(
        None, description="1D harmonic (fallback) frequency of the hopping atom in THz."
    )
    imaginary_frequency: float | None = Field(
        None, description="|nu| of the unstable mode at the saddle in THz."
    )
    attempt_frequencies: list[AttemptFrequencyResult] = Field(
        default_factory=list, description="Mode analyses behind the attempt frequencies."
    )
    reference: float | None = Field(None, description="Published PBE forward barrier in eV.")
    reference_source: str | None = Field(None, description="Where the reference comes from.")
    job_uuids: dict[str, str | None] = Field(
        default_factory=dict,
        description="Jobs behind every number: endpoints, NEB, attempt frequencies.",
    )
    metadata: dict[str, Any] = Field(default_factory=dict, description="Hop tags.")
    warnings: list[str] = Field(default_factory=list, description="Problems found.")
    notes: list[str] = Field(
        default_factory=list,
        description="Facts about the path that are not problems (a refined band, a "
        "metastable intermediate state).",
    )

    @property
    def flagged(self) -> bool:
        """Whether any input did not converge or a check failed."""
        return bool(self.warnings)

    @property
    def usable_barrier(self) -> bool:
        """Whether the band converged between converged, distinct, unreconstructed endpoints."""
        return (
            self.neb_converged
            and self.endpoints_converged
            and (
                self.endpoint_mismatch is None or self.endpoint_mismatch <= RECONSTRUCTION_TOLERANCE
            )
            and not endpoints_collapsed(self.hop_distance, self.jump_length)
        )

    @classmethod
    def from_results(
        cls,
        *,
        hop: str,
        system: str,
        kind: HopKind,
        moving_species: str,
        jump_length: float,
        symmetric: bool,
        initial: CalculationResult,
        final: CalculationResult,
        neb: NebCalculation,
        forward: AttemptFrequencyResult | None = None,
        reverse: AttemptFrequencyResult | None = None,
        solute: str | None = None,
        reference_key: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> MigrationBarrierDocument:
        """Assemble the hop from its relaxed endpoints, its NEB and its mode analyses.

        The barriers are those of the NEB band (its endpoints are the relaxed
        ``initial`` and ``final``); every energy must come from one calculator.
        """
        calculators = [initial.calculator, final.calculator, neb.calculator]
        calculators += [r.calculator for r in (forward, reverse) if r is not None]
        calculator = require_same_calculator(calculators, f"the barrier of {hop}")
        warnings = _hop_warnings(symmetric, initial, final, neb, forward, reverse)
        mismatch = endpoint_mismatch(initial.structure, final.structure, neb.moving_index)
        if mismatch is not None and mismatch > RECONSTRUCTION_TOLERANCE:
            warnings.append(
                f"the relaxed endpoints differ by {mismatch:.2f} A at an atom that does not "
                f"hop (tolerance {RECONSTRUCTION_TOLERANCE} A): the band joins two different "
                "reconstructions, so its barrier is not the hop's"
            )
        moved = hop_distance(initial.structure, final.structure, neb.moving_index)
        if endpoints_collapsed(moved, jump_length):
            warnings.append(
                f"the hopping atom is {moved:.2f} A apart in the two relaxed endpoints, less "
                f"than {COLLAPSE_FRACTION:.0%} of the {jump_length:.2f} A jump: one endpoint "
                "relaxed into the other (it is not a minimum), so the band measures no hop"
            )
        named = [(d, r) for d, r in (("forward", forward), ("reverse", reverse)) if r is not None]
        if symmetric and reverse is None:
            reverse = forward
        reference = PBE_REFERENCE.get(reference_key) if reference_key else None
        e0 = neb.energies[0]
        job_uuids = {
            "initial endpoint": _uuid(initial),
            "final endpoint": _uuid(final),
            "neb": _uuid(neb),
        }
        for direction, result in named:
            for role, uuid in zip(("minimum", "saddle"), result.job_uuids, strict=False):
                job_uuids[f"modes at the {role} ({direction})"] = uuid
        method = forward.method if forward is not None else None
        return cls(
            hop=hop,
            system=system,
            kind=kind,
            moving_species=moving_species,
            solute=solute,
            calculator=calculator,
            n_atoms=len(neb.images[0]),
            jump_length=jump_length,
            symmetric=symmetric,
            forward_barrier=neb.forward_barrier,
            reverse_barrier=neb.reverse_barrier,
            reaction_energy=neb.energies[-1] - e0,
            energies=[e - e0 for e in neb.energies],
            reaction_coordinate=neb.reaction_coordinate,
            climbing_index=neb.climbing_index,
            neb_converged=neb.converged,
            neb_max_force=neb.max_force,
            neb_settings=neb.settings,
            neb_force_calls=neb.n_force_calls,
            endpoints_converged=initial.converged and final.converged,
            endpoint_mismatch=mismatch,
            hop_distance=moved,
            attempt_frequency_forward=forward.nu if forward and forward.valid else None,
            attempt_frequency_reverse=reverse.nu if reverse and reverse.valid else None,
            attempt_frequency_method=method,
            einstein_frequency=forward.einstein_frequency if forward else None,
            imaginary_frequency=forward.imaginary_frequency if forward else None,
            reference=reference.value if reference else None,
            reference_source=reference.source if reference else None,
            job_uuids=job_uuids,
            attempt_frequencies=[r for _, r in named],
            metadata=dict(metadata or {}),
            warnings=warnings,
            notes=candidate_notes(metadata or {}) + band_notes(neb),
        )


RECONSTRUCTION_TOLERANCE = 1.0
"""Largest displacement (A) of a non-hopping atom between two endpoints of one hop."""


def endpoint_mismatch(
    initial: Structure, final: Structure, moving_index: int | None
) -> float | None:
    """Largest minimum-image displacement (A) between endpoints, the hopping atom excluded.

    Parameters
    ----------
    initial, final
        Relaxed endpoints with the same sites in the same order.
    moving_index
        The hopping atom; None returns None (the mover is unknown).
    """
    if moving_index is None or len(initial) != len(final) or len(initial) < 2:
        return None
    delta = final.frac_coords - initial.frac_coords
    delta -= np.round(delta)
    lengths = np.linalg.norm(initial.lattice.get_cartesian_coords(delta), axis=1)
    lengths[moving_index] = 0.0
    return float(lengths.max())


COLLAPSE_FRACTION = 0.5
"""Smallest hopping-atom distance between the relaxed endpoints, as a fraction of the jump."""


def hop_distance(initial: Structure, final: Structure, moving_index: int | None) -> float | None:
    """Minimum-image distance (A) of the hopping atom between two endpoints (None: unknown)."""
    if moving_index is None or len(initial) != len(final) or not 0 <= moving_index < len(initial):
        return None
    delta = final.frac_coords[moving_index] - initial.frac_coords[moving_index]
    delta -= np.round(delta)
    return float(np.linalg.norm(initial.lattice.get_cartesian_coords(delta)))


def endpoints_collapsed(distance: float | None, jump_length: float) -> bool:
    """Whether the hopping atom moved less than ``COLLAPSE_FRACTION`` of the jump."""
    return distance is not None and distance < COLLAPSE_FRACTION * jump_length


BAND_MINIMUM_TOLERANCE = 0.002
"""Depth (eV) below both neighbours from which an interior NEB image counts as a minimum."""


def band_minima(
    energies: Sequence[float], tolerance: float = BAND_MINIMUM_TOLERANCE
) -> list[tuple[int, float]]:
    """Interior images lower than both neighbours by more than ``tolerance`` eV.

    Parameters
    ----------
    energies
        Image energies along the band, endpoints included, in eV.
    tolerance
        Smallest depth that counts, in eV.

    Returns
    -------
    list[tuple[int, float]]
        (image index, depth below the lower neighbour in eV) of each such image.
    """
    found = []
    for k in range(1, len(energies) - 1):
        depth = min(energies[k - 1], energies[k + 1]) - energies[k]
        if depth > tolerance:
            found.append((k, depth))
    return found


def candidate_notes(metadata: dict[str, Any]) -> list[str]:
    """Which site pair of an interface hop was used, and why earlier pairs were not."""
    rejected = metadata.get("rejected_candidates") or []
    if not rejected:
        return []
    notes = [
        f"site pair {r['candidate'] + 1} (vacancy on host site {r['vacancy_site']}, atom from "
        f"site {r['hop_site']}) rejected: {r['reason']}"
        for r in rejected
        if r.get("candidate") is not None
    ]
    candidate, n = metadata.get("candidate"), metadata.get("n_candidates")
    if candidate is not None:
        notes.append(
            f"built from site pair {candidate + 1} of {n} (vacancy on host site "
            f"{metadata.get('vacancy_site')}, atom from site {metadata.get('hop_site')})"
        )
    return notes


def band_notes(neb: NebCalculation) -> list[str]:
    """Facts about a refined, converged band that are not problems."""
    if neb.refinement is None:
        return []
    notes = [f"band refined: {neb.refinement}"]
    if neb.converged:
        notes += [
            f"image {k} of the refined band is a metastable intermediate state "
            f"({1000 * depth:.1f} meV below its neighbours): the hop has two humps and the "
            "barrier is the higher one (the climbing image)"
            for k, depth in band_minima(neb.energies)
        ]
    return notes


def _hop_warnings(
    symmetric: bool,
    initial: CalculationResult,
    final: CalculationResult,
    neb: NebCalculation,
    forward: AttemptFrequencyResult | None,
    reverse: AttemptFrequencyResult | None,
) -> list[str]:
    """Unconverged inputs and failed checks of one hop."""
    warnings: list[str] = []
    for name, result in (("initial endpoint", initial), ("final endpoint", final)):
        if not result.converged:
            reason = "; ".join(result.convergence_messages) or "unknown reason"
            warnings.append(f"{name} relaxation not converged ({reason})")
    if not neb.converged:
        warnings.append(
            f"NEB not converged ({'; '.join(neb.convergence_messages) or 'unknown reason'})"
        )
    if symmetric and abs(neb.forward_barrier - neb.reverse_barrier) > SYMMETRY_TOLERANCE:
        warnings.append(
            f"symmetric hop but forward {neb.forward_barrier:.4f} eV and reverse "
            f"{neb.reverse_barrier:.4f} eV differ by more than "
            f"{1000 * SYMMETRY_TOLERANCE:.0f} meV"
        )
    if neb.climbing_index in (0, len(neb.energies) - 1):
        warnings.append("the highest image is an endpoint: no barrier along this band")
    if neb.refinement is None or not neb.converged:
        warnings += [
            f"image {k} is a local minimum of the band ({1000 * depth:.1f} meV below its "
            "neighbours): an intermediate metastable state, the hop has two humps; the "
            "barrier is the climbing image's hump (refine with more images)"
            for k, depth in band_minima(neb.energies)
        ]
    for direction, result in (("forward", forward), ("reverse", reverse)):
        if result is not None and not result.valid:
            warnings.append(f"{direction} attempt frequency invalid: {'; '.join(result.messages)}")
    return warnings


class DiffusivityPoint(BaseModel):
    """The diffusivity of one species at one temperature."""

    temperature: float = Field(description="Temperature in K.")
    temperature_celsius: float = Field(description="Temperature in degrees Celsius.")
    diffusivity: float = Field(description="D in m^2/s.")
    correlation_factor: float = Field(description="Correlation factor f at this temperature.")
    diffusion_length: float = Field(description="sqrt(4 D t) in m for the document's time t.")


class SpeciesDiffusivity(BaseModel):
    """Vacancy-mediated diffusion of one species in the host."""

    species: str = Field(description="Diffusing element.")
    kind: Literal["self", "solute"] = Field(description="Host self-diffusion or a solute.")
    migration_energy: float = Field(description="Barrier E_m of the species' own jump, eV.")
    attempt_frequency: float = Field(description="Attempt frequency nu of that jump in THz.")
    attempt_frequency_method: str = Field(description="How nu was obtained.")
    formation_energy: float = Field(
        description="Vacancy formation energy at the jump's start, E_f (+ E_b for a solute), eV."
    )
    binding_energy: float | None = Field(
        None, description="Solute-vacancy binding E_b (first shell; negative = attraction), eV."
    )
    activation_energy: float = Field(
        description="E_f (+ E_b) + E_m in eV: the Arrhenius slope when f is constant."
    )
    fitted_activation_energy: float = Field(
        description="Q from a least-squares Arrhenius fit over the temperature grid, eV "
        "(differs from activation_energy only through f(T))."
    )
    fitted_prefactor: float = Field(description="D0 of that fit in m^2/s.")
    correlation_model: str = Field(description="Correlation factor model and its inputs.")
    jump_rates: dict[str, float] = Field(
        default_factory=dict,
        description="Barriers (eV) and attempt frequencies (THz) of the model's jumps.",
    )
    points: list[DiffusivityPoint] = Field(description="D over the temperature grid.")
    reported: list[DiffusivityPoint] = Field(description="D at the reported temperatures.")
    approximations: list[str] = Field(default_factory=list, description="Approximations made.")
    flagged: bool = Field(default=False, description="An input is unconverged or approximate.")

    def at(self, celsius: float) -> DiffusivityPoint:
        """Return the reported point at ``celsius`` (degrees C)."""
        for point in self.reported:
            if math.isclose(point.temperature_celsius, celsius, abs_tol=1e-6):
                return point
        temps = [p.temperature_celsius for p in self.reported]
        msg = f"no reported diffusivity at {celsius} C; reported: {temps}"
        raise KeyError(msg)


class VacancyDiffusionDocument(BaseModel):
    """Self- and solute diffusivities in a bcc host by the vacancy mechanism."""

    schema_version: str = Field("1", description="Version of this document's schema.")
    host: str = Field("Li", description="Host metal (bcc).")
    calculator: CalculatorProvenance = Field(description="Calculator of every energy.")
    coordination: int = Field(diffusion.BCC_COORDINATION, description="z (8 for bcc).")
    jump_length: float = Field(description="Jump length lambda in A (nearest-neighbour).")
    formation_energy: float = Field(description="Host vacancy formation energy E_f in eV.")
    formation_energy_source: str = Field(description="Where E_f comes from.")
    diffusion_time: float = Field(description="Time t of the diffusion lengths in s.")
    species: list[SpeciesDiffusivity] = Field(description="One entry per diffusing species.")
    job_uuids: dict[str, str | None] = Field(
        default_factory=dict, description="Jobs behind the inputs."
    )
    warnings: list[str] = Field(default_factory=list, description="Problems found.")

    def get(self, species: str) -> SpeciesDiffusivity:
        """Return the entry of ``species``."""
        for entry in self.species:
            if entry.species == species:
                return entry
        names = ", ".join(e.species for e in self.species)
        msg = f"no diffusivity of {species!r}; species: {names}"
        raise KeyError(msg)

    @classmethod
    def from_documents(
        cls,
        hops: Sequence[MigrationBarrierDocument],
        *,
        formation_energy: float,
        formation_energy_source: str,
        formation_calculator: CalculatorProvenance,
        binding_energies: dict[str, float],
        binding_calculators: Sequence[CalculatorProvenance] = (),
        temperatures: Sequence[float],
        report_celsius: Sequence[float] = (25.0, 60.0),
        diffusion_time: float = 3600.0,
        job_uuids: dict[str, str | None] | None = None,
        extra_warnings: Sequence[str] = (),
    ) -> VacancyDiffusionDocument:
        """Build D(T) of the host and of every solute that has an exchange hop.

        Parameters
        ----------
        hops
            Hop documents: one 'self' hop of the host (required), and per solute an
            'exchange' hop (required for that solute) and optionally a 'dissociation' hop.
        formation_energy
            Host vacancy formation energy in eV.
        formation_energy_source
            Where it comes from (document, cell size).
        formation_calculator
            Its calculator (must match the hops').
        binding_energies
            First-shell solute-vacancy binding energy (eV) per solute.
        binding_calculators
            Their calculators (must match).
        temperatures
            Grid of the Arrhenius plot and fit, in K.
        report_celsius
            Temperatures (degrees C) reported in the tables.
        diffusion_time
            Time of the diffusion lengths in s.
        job_uuids
            Jobs behind E_f and E_b, kept with the document.
        extra_warnings
            Warnings from the inputs (e.g. a vacancy series that is not size-converged).
        """
        if diffusion_time <= 0:
            msg = f"diffusion time must be positive, got {diffusion_time!r} s"
            raise ValueError(msg)
        grid = sorted(float(t) for t in temperatures)
        if len(grid) < 2 or grid[0] <= 0:
            msg = f"need at least two positive temperatures (K), got {list(temperatures)}"
            raise ValueError(msg)
        selves = [h for h in hops if h.kind == "self"]
        if not selves:
            msg = "the host self-diffusion hop (kind 'self') is required for any diffusivity"
            raise ValueError(msg)
        self_hop = selves[0]
        calculator = require_same_calculator(
            [h.calculator for h in hops] + [formation_calculator, *binding_calculators],
            "the vacancy diffusivities",
        )
        warnings = list(extra_warnings)
        nu0, nu0_method, approx0 = _attempt_frequency(self_hop, None)
        entries = [
            _species_entry(
                species=self_hop.moving_species,
                kind="self",
                migration=self_hop.forward_barrier,
                nu=nu0,
                nu_method=nu0_method,
                formation=formation_energy,
                binding=None,
                correlation=lambda _t: diffusion.BCC_SELF_CORRELATION,
                correlation_model=f"bcc self-diffusion, f0 = {diffusion.BCC_SELF_CORRELATION}",
                jump_rates={"E_m0 (eV)": self_hop.forward_barrier, "nu0 (THz)": nu0},
                jump_length=self_hop.jump_length,
                grid=grid,
                report_celsius=report_celsius,
                time=diffusion_time,
                approximations=approx0,
                flagged=self_hop.flagged,
            )
        ]
        for solute in sorted({h.solute for h in hops if h.kind == "exchange" and h.solute}):
            exchange = next(h for h in hops if h.kind == "exchange" and h.solute == solute)
            dissociation = next(
                (h for h in hops if h.kind == "dissociation" and h.solute == solute), None
            )
            if solute not in binding_energies:
                warnings.append(
                    f"{solute}: no solute-vacancy binding energy; E_b = 0 assumed (flagged)"
                )
            binding = binding_energies.get(solute, 0.0)
            nu2, nu2_method, approx = _attempt_frequency(exchange, nu0)
            flagged = exchange.flagged or solute not in binding_energies
            if dissociation is not None:
                e3, e4 = dissociation.forward_barrier, dissociation.reverse_barrier
                nu3 = dissociation.attempt_frequency_forward
                nu4 = dissociation.attempt_frequency_reverse
                if nu3 is None or nu4 is None:
                    approx.append(
                        f"w3/w4 use the attempt frequency of the pure-host jump ({nu0:.3f} THz)"
                    )
                    nu3 = nu3 or nu0
                    nu4 = nu4 or nu0
                flagged = flagged or dissociation.flagged
            else:
                e3 = e4 = self_hop.forward_barrier
                nu3 = nu4 = nu0
                approx.append("no dissociation hop computed: w3 = w4 = w0 (flagged)")
                flagged = True
            approx.append(
                "Le Claire bcc nine-frequency model with w3' = w3'' = w3, w4' = w4'' = w4 "
                "(all dissociative jumps from the first shell alike) and w5 = w0"
            )

            correlation = partial(
                _solute_correlation,
                rates=(
                    (nu0, self_hop.forward_barrier),
                    (nu2, exchange.forward_barrier),
                    (nu3, e3),
                    (nu4, e4),
                ),
            )

            entries.append(
                _species_entry(
                    species=solute,
                    kind="solute",
                    migration=exchange.forward_barrier,
                    nu=nu2,
                    nu_method=nu2_method,
                    formation=formation_energy + binding,
                    binding=binding,
                    correlation=correlation,
                    correlation_model="Le Claire (1970) bcc nine-frequency model, F = 0.512",
                    jump_rates={
                        "E_m0 (eV)": self_hop.forward_barrier,
                        "nu0 (THz)": nu0,
                        "E_m2 (eV)": exchange.forward_barrier,
                        "nu2 (THz)": nu2,
                        "E_m3 (eV)": e3,
                        "nu3 (THz)": nu3,
                        "E_m4 (eV)": e4,
                        "nu4 (THz)": nu4,
                    },
                    jump_length=exchange.jump_length,
                    grid=grid,
                    report_celsius=report_celsius,
                    time=diffusion_time,
                    approximations=approx,
                    flagged=flagged,
                )
            )
        return cls(
            host=self_hop.system,
            calculator=calculator,
            jump_length=self_hop.jump_length,
            formation_energy=formation_energy,
            formation_energy_source=formation_energy_source,
            diffusion_time=diffusion_time,
            species=entries,
            job_uuids=dict(job_uuids or {}),
            warnings=warnings,
        )


def _solute_correlation(temperature: float, rates: tuple[tuple[float, float], ...]) -> float:
    """f2 of the bcc nine-frequency model from (nu in THz, barrier in eV) of w0, w2, w3, w4."""
    w0, w2, w3, w4 = (diffusion.jump_rate(nu, e, temperature) for nu, e in rates)
    return diffusion.bcc_solute_correlation_factor(w0, w2, w3, w4)


def _attempt_frequency(
    hop: MigrationBarrierDocument, default: float | None
) -> tuple[float, str, list[str]]:
    """Return the forward attempt frequency of a hop, its method and notes (fallbacks)."""
    if hop.attempt_frequency_forward is not None:
        return hop.attempt_frequency_forward, hop.attempt_frequency_method or "", []
    if hop.einstein_frequency is not None:
        note = f"{hop.hop}: Vineyard prefactor unavailable; Einstein frequency used"
        return hop.einstein_frequency, "einstein (fallback)", [note]
    if default is not None:
        note = f"{hop.hop}: no attempt frequency computed; the pure-host value is used"
        return default, "pure-host value", [note]
    msg = f"{hop.hop}: no attempt frequency was computed (set attempt frequencies on)"
    raise ValueError(msg)


def _species_entry(
    *,
    species: str,
    kind: Literal["self", "solute"],
    migration: float,
    nu: float,
    nu_method: str,
    formation: float,
    binding: float | None,
    correlation: Any,
    correlation_model: str,
    jump_rates: dict[str, float],
    jump_length: float,
    grid: list[float],
    report_celsius: Sequence[float],
    time: float,
    approximations: list[str],
    flagged: bool,
) -> SpeciesDiffusivity:
    def point(temperature: float) -> DiffusivityPoint:
        f = correlation(temperature)
        d = diffusion.vacancy_diffusivity(
            temperature,
            nu_thz=nu,
            jump_length=jump_length,
            formation_energy=formation,
            migration_energy=migration,
            correlation_factor=f,
        )
        return DiffusivityPoint(
            temperature=temperature,
            temperature_celsius=temperature - diffusion.ZERO_CELSIUS,
            diffusivity=d,
            correlation_factor=f,
            diffusion_length=diffusion.diffusion_length(d, time),
        )

    points = [point(t) for t in grid]
    q, d0 = diffusion.arrhenius_fit(grid, [p.diffusivity for p in points])
    return SpeciesDiffusivity(
        species=species,
        kind=kind,
        migration_energy=migration,
        attempt_frequency=nu,
        attempt_frequency_method=nu_method,
        formation_energy=formation,
        binding_energy=binding,
        activation_energy=formation + migration,
        fitted_activation_energy=q,
        fitted_prefactor=d0,
        correlation_model=correlation_model,
        jump_rates=jump_rates,
        points=points,
        reported=[point(diffusion.celsius_to_kelvin(c)) for c in report_celsius],
        approximations=approximations,
        flagged=flagged,
    )


def formation_energy_from_documents(
    bulk_vacancy: BulkVacancyDocument | None,
) -> tuple[float, str, CalculatorProvenance, list[str]] | None:
    """E_f, its description, calculator and warnings from a bulk vacancy document."""
    if bulk_vacancy is None:
        return None
    size = next(
        (
            s
            for s in reversed(bulk_vacancy.sizes)
            if s.formation_energy == bulk_vacancy.formation_energy
        ),
        bulk_vacancy.sizes[-1],
    )
    source = f"BulkVacancyDocument, {size.n_atoms}-atom cell"
    warnings = []
    if not bulk_vacancy.size_converged:
        warnings.append(f"E_f from a vacancy series that is not size-converged ({source})")
    warnings += [f"E_f input: {w}" for w in bulk_vacancy.warnings]
    return bulk_vacancy.formation_energy, source, bulk_vacancy.calculator, warnings


def binding_energy_from_document(document: SoluteVacancyDocument) -> tuple[float, list[str]]:
    """First-shell solute-vacancy binding energy (eV) and warnings."""
    first = min(document.shells, key=lambda s: s.shell)
    warnings = []
    if first.shell != 1:
        warnings.append(f"{document.solute}: no first-shell vacancy; shell {first.shell} used")
    if not first.converged:
        warnings.append(f"{document.solute}: first-shell vacancy relaxation not converged")
    return first.binding_energy, warnings
