"""Convergence of a computed quantity with one engine setting (cutoff, k-point density).

A *quantity* is a linear combination of total energies of fixed structures,
``Q = sum_i c_i E_i``: the energy per atom of a bulk cell, a vacancy formation energy,
a formation energy per atom, a surface energy. :func:`convergence_scan` computes it
for a series of values of one setting (ordered from cheapest to most accurate; the last
is the reference), with static calculations at fixed geometry (relax the structures
first, with converged settings or a cheaper engine), and returns a typed
:class:`ConvergenceTable`: each value, the quantity, its difference to the reference
and whether it lies within the tolerance.

Calculations whose inputs coincide (two k-point densities that give the same mesh on
every structure) are computed once. GPAW calculations write their text logs to the scan
directory.

>>> from anodefree.workflows.engines.registry import get_engine
>>> from anodefree.structures.bulk import bulk_structure
>>> q = ConvergenceQuantity.energy_per_atom(bulk_structure("Li"))
>>> table = convergence_scan(q, get_engine("morse"), "cutoff", [5.0, 6.0, 7.0, 8.0],
...                          tolerance=1e-3, progress=False)  # doctest: +SKIP
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pymatgen.core import Element

from anodefree.errors import ConfigError, EngineError
from anodefree.provenance import CalculatorProvenance, stable_hash
from anodefree.workflows.engines.gpaw import GPAWEngine, scf_errors, unique_log_path

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

    from anodefree.workflows.engines.base import AseEngine

#: eV/A^2 -> J/m^2
EV_PER_A2_TO_J_PER_M2 = 16.021766339


class EnergyTerm(BaseModel):
    """One structure's total energy and its coefficient in a quantity."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    label: str = Field(description="Name of the structure, e.g. 'Li54 host'.")
    coefficient: float = Field(description="Multiplies the total energy (unit of Q per eV).")
    structure: Any = Field(description="pymatgen Structure, computed at fixed geometry.")


class ConvergenceQuantity(BaseModel):
    """A linear combination of total energies, ``sum_i c_i E_i``."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    name: str = Field(description="What the quantity is, e.g. 'Li vacancy formation energy'.")
    unit: str = Field("eV", description="Unit of the quantity, e.g. 'eV', 'eV/atom', 'J/m^2'.")
    terms: tuple[EnergyTerm, ...] = Field(description="The energies that enter it.")

    @field_validator("terms")
    @classmethod
    def _not_empty(cls, value: tuple[EnergyTerm, ...]) -> tuple[EnergyTerm, ...]:
        if not value:
            raise ValueError("a quantity needs at least one energy term")
        return value

    def evaluate(self, energies: Sequence[float]) -> float:
        """Combine the total energies (eV, in the order of ``terms``)."""
        return float(sum(t.coefficient * e for t, e in zip(self.terms, energies, strict=True)))

    @classmethod
    def energy_per_atom(cls, structure: Structure, label: str | None = None) -> Self:
        """Build the total energy per atom of one structure (eV/atom)."""
        label = label or structure.composition.reduced_formula
        return cls(
            name=f"energy per atom of {label}",
            unit="eV/atom",
            terms=(EnergyTerm(label=label, coefficient=1 / len(structure), structure=structure),),
        )

    @classmethod
    def vacancy_formation(cls, host: Structure, defect: Structure) -> Self:
        """Build the vacancy formation energy ``E_def - (N_def / N_host) E_host`` (eV).

        The removed atom goes to the host's bulk reservoir (elemental hosts such as bcc
        Li); ``defect`` is the host with one atom removed, at the same cell.
        """
        n_host, n_defect = len(host), len(defect)
        if n_defect != n_host - 1:
            raise ConfigError(
                f"vacancy formation needs the host with one atom removed: host has "
                f"{n_host} atoms, defect cell {n_defect}"
            )
        return cls(
            name=f"vacancy formation energy ({n_host}-site cell)",
            unit="eV",
            terms=(
                EnergyTerm(label=f"defect ({n_defect} atoms)", coefficient=1.0, structure=defect),
                EnergyTerm(
                    label=f"host ({n_host} atoms)",
                    coefficient=-n_defect / n_host,
                    structure=host,
                ),
            ),
        )

    @classmethod
    def formation_energy_per_atom(cls, compound: Structure, elements: dict[str, Structure]) -> Self:
        """Build the formation energy per atom against elemental references (eV/atom).

        ``E_f = E(compound)/N - sum_X x_X E(X)/N_X``, e.g. LiAg (B2) from bcc Li and
        fcc Ag.
        """
        composition = compound.composition
        missing = [el.symbol for el in composition if el.symbol not in elements]
        if missing:
            raise ConfigError(f"formation energy: no reference structure for {missing}")
        n = len(compound)
        terms = [
            EnergyTerm(label=composition.reduced_formula, coefficient=1 / n, structure=compound)
        ]
        for symbol, reference in elements.items():
            if set(reference.composition.elements) != {Element(symbol)}:
                raise ConfigError(
                    f"formation energy: reference for {symbol!r} has composition "
                    f"{reference.composition.formula!r}"
                )
            fraction = composition.get_atomic_fraction(symbol)
            terms.append(
                EnergyTerm(
                    label=f"{symbol} reference",
                    coefficient=-fraction / len(reference),
                    structure=reference,
                )
            )
        return cls(
            name=f"formation energy of {composition.reduced_formula}",
            unit="eV/atom",
            terms=tuple(terms),
        )

    @classmethod
    def surface_energy(cls, slab: Structure, bulk: Structure) -> Self:
        """Build the surface energy of a symmetric slab ``(E_slab - N e_bulk) / 2A`` (J/m^2).

        ``A`` is the area spanned by the slab's first two lattice vectors (the surface
        normal is the third).
        """
        a, b = slab.lattice.matrix[0], slab.lattice.matrix[1]
        area = float(abs(_cross_norm(a, b)))
        scale = EV_PER_A2_TO_J_PER_M2 / (2 * area)
        return cls(
            name=f"surface energy of {slab.composition.reduced_formula} ({len(slab)}-atom slab)",
            unit="J/m^2",
            terms=(
                EnergyTerm(label=f"slab ({len(slab)} atoms)", coefficient=scale, structure=slab),
                EnergyTerm(
                    label=f"bulk ({len(bulk)} atoms)",
                    coefficient=-scale * len(slab) / len(bulk),
                    structure=bulk,
                ),
            ),
        )


class ConvergenceRow(BaseModel):
    """The quantity at one value of the scanned setting."""

    value: float | tuple[int, int, int] = Field(
        description="Value of the scanned setting (its unit is the engine field's)."
    )
    energies: list[float] = Field(description="Total energy of each term's structure in eV.")
    kpoint_meshes: list[tuple[int, int, int]] | None = Field(
        None, description="K-point mesh used for each structure (GPAW only)."
    )
    quantity: float = Field(description="The quantity, in the table's unit.")
    difference: float = Field(
        description="Quantity minus its value at the reference (last) setting, table unit."
    )
    change: float | None = Field(
        None, description="Quantity minus its value at the previous setting, table unit."
    )
    within_tolerance: bool = Field(description="|difference| <= tolerance.")
    reused: bool = Field(
        description="True if every energy was taken from an earlier row with identical "
        "calculation inputs (e.g. two densities giving the same k-point mesh)."
    )
    wall_time: float = Field(description="Wall time of this row's new calculations in s.")


class ConvergenceTable(BaseModel):
    """How a quantity converges with one setting, against the most accurate value."""

    setting: str = Field(description="Engine field that was scanned, e.g. 'ecut'.")
    quantity: str = Field(description="Name of the quantity.")
    unit: str = Field(description="Unit of the quantity and of the tolerance.")
    tolerance: float = Field(description="Accepted |difference| to the reference, table unit.")
    rows: list[ConvergenceRow] = Field(description="One row per value, cheapest first.")
    converged_value: float | tuple[int, int, int] | None = Field(
        description="Cheapest value from which every row up to the reference is within "
        "tolerance; None if only the reference itself is (extend the scan)."
    )
    provenance: CalculatorProvenance = Field(
        description="The engine at the reference setting (the other rows differ only "
        "in the scanned setting)."
    )
    wall_time: float = Field(description="Wall time of the whole scan in s.")

    def to_markdown(self) -> str:
        """Render the table as markdown (setting, quantity, difference, verdict)."""
        lines = [
            (
                f"Convergence of the {self.quantity} ({self.unit}) with {self.setting}; "
                f"reference = last row; tolerance {self.tolerance:g} {self.unit}; "
                f"{self.provenance.label}"
            ),
            "",
            f"| {self.setting} | k-meshes | {self.unit} | difference | within tolerance |",
            "|---|---|---|---|---|",
        ]
        for row in self.rows:
            meshes = (
                ", ".join("x".join(map(str, m)) for m in row.kpoint_meshes)
                if row.kpoint_meshes
                else "-"
            )
            lines.append(
                f"| {_format_value(row.value)} | {meshes} | {row.quantity:.6f} | "
                f"{row.difference:+.6f} | {'yes' if row.within_tolerance else 'no'} |"
            )
        verdict = (
            f"converged from {self.setting} = {_format_value(self.converged_value)}"
            if self.converged_value is not None
            else "not shown to converge: only the reference is within tolerance"
        )
        lines += ["", verdict]
        return "\n".join(lines)


def _format_value(value: object) -> str:
    if isinstance(value, tuple):
        return "x".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _cross_norm(a: Any, b: Any) -> float:
    import numpy as np

    return float(np.linalg.norm(np.cross(a, b)))


def engine_variant(engine: AseEngine, setting: str, value: Any) -> AseEngine:
    """Return ``engine`` with one setting changed, validated like any engine.

    Scanning ``kpoint_density`` on an engine with an explicit mesh drops the mesh, and
    vice versa.

    Raises
    ------
    EngineError
        If ``setting`` is not a field of the engine or ``value`` is invalid for it.
    """
    cls = type(engine)
    if setting == "name" or setting not in cls.model_fields:
        valid = sorted(f for f in cls.model_fields if f != "name")
        raise EngineError(
            f"engine {engine.name!r} has no setting {setting!r}; valid: {', '.join(valid)}"
        )
    data = engine.model_dump()
    data[setting] = value
    if setting == "kpoint_density":
        data["kpoint_mesh"] = None
    elif setting == "kpoint_mesh":
        data["kpoint_density"] = None
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise EngineError(f"engine {engine.name!r}: {setting}={value!r} is invalid: {exc}") from exc


def _calculation_key(engine: AseEngine, structure: Structure) -> str:
    """Identify a calculation's inputs (identical keys give identical energies)."""
    if isinstance(engine, GPAWEngine):
        inputs: Any = engine.gpaw_parameters(structure)
    else:
        inputs = engine.model_dump(mode="json")
    return stable_hash({"engine": engine.name, "inputs": inputs, "structure": structure.as_dict()})


def static_energy(engine: AseEngine, structure: Structure, log_file: Path | None = None) -> float:
    """Compute the total energy (eV) of one structure at fixed geometry.

    GPAW gets a new calculator with the mesh fixed from this cell and its log in
    ``log_file``; other engines use their (possibly cached) calculator.
    """
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = AseAtomsAdaptor.get_atoms(structure)
    if isinstance(engine, GPAWEngine):
        if not engine.spin_polarized:
            atoms.set_initial_magnetic_moments(None)
        log_file = Path(log_file) if log_file else unique_log_path(".", engine.log_name)
        atoms.calc = engine.build_calculator(structure, log_file=log_file)
        with scf_errors(engine, structure.composition.reduced_formula, log_file):
            return float(atoms.get_potential_energy())
    atoms.calc = engine.calculator()
    return float(atoms.get_potential_energy())


def convergence_scan(
    quantity: ConvergenceQuantity,
    engine: AseEngine,
    setting: str,
    values: Sequence[Any],
    tolerance: float,
    directory: Path | str | None = None,
    progress: bool = True,
) -> ConvergenceTable:
    """Compute a quantity for a series of values of one engine setting.

    Parameters
    ----------
    quantity
        The energy combination to converge (e.g. :meth:`ConvergenceQuantity.vacancy_formation`).
    engine
        The engine with every other setting as it will be used.
    setting
        Name of the engine field to scan: ``ecut`` (eV), ``kpoint_density``
        (points per reciprocal Angstrom), ``kpoint_mesh``, ``smearing_width`` (eV), ...
    values
        At least two distinct values, from cheapest to most accurate; the last one is
        the reference.
    tolerance
        Accepted deviation from the reference, in the quantity's unit.
    directory
        Where GPAW writes its logs (``<setting>-<value>-<term>.txt``); a temporary
        directory, removed afterwards, if None.
    progress
        Show a rich progress bar.

    Returns
    -------
    ConvergenceTable
        One row per value and the cheapest value converged within ``tolerance``.

    Raises
    ------
    ConfigError
        For fewer than two or repeated values or a non-positive tolerance.
    EngineError
        For an unknown setting or an invalid value, naming it.
    """
    values = [tuple(v) if isinstance(v, list) else v for v in values]
    if len(values) < 2:
        raise ConfigError(
            f"convergence scan of {setting!r} needs at least two values, got {values}"
        )
    if len(set(values)) != len(values):
        raise ConfigError(f"convergence scan of {setting!r}: repeated values in {values}")
    if not (tolerance > 0 and math.isfinite(tolerance)):
        raise ConfigError(f"convergence tolerance must be positive, got {tolerance!r}")
    variants = [engine_variant(engine, setting, v) for v in values]
    with tempfile.TemporaryDirectory(prefix="anodefree-convergence-") as scratch:
        root = Path(directory) if directory is not None else Path(scratch)
        root.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        raw = _compute_rows(quantity, variants, setting, values, root, progress)
        total = time.perf_counter() - start
    reference = raw[-1]["quantity"]
    rows: list[ConvergenceRow] = []
    for i, r in enumerate(raw):
        difference = r["quantity"] - reference
        rows.append(
            ConvergenceRow(
                **r,
                difference=difference,
                change=None if i == 0 else r["quantity"] - raw[i - 1]["quantity"],
                within_tolerance=abs(difference) <= tolerance,
            )
        )
    converged_value = None
    for i in range(len(rows) - 1):
        if all(row.within_tolerance for row in rows[i:]):
            converged_value = rows[i].value
            break
    return ConvergenceTable(
        setting=setting,
        quantity=quantity.name,
        unit=quantity.unit,
        tolerance=tolerance,
        rows=rows,
        converged_value=converged_value,
        provenance=variants[-1].provenance(),
        wall_time=total,
    )


def _compute_rows(
    quantity: ConvergenceQuantity,
    variants: list[AseEngine],
    setting: str,
    values: list[Any],
    root: Path,
    progress: bool,
) -> list[dict[str, Any]]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    cache: dict[str, float] = {}
    raw: list[dict[str, Any]] = []
    n_terms = len(quantity.terms)
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        disable=not progress,
        transient=True,
    ) as bar:
        task = bar.add_task(f"{setting} scan", total=len(variants) * n_terms)
        for value, variant in zip(values, variants, strict=True):
            energies: list[float] = []
            reused = True
            row_start = time.perf_counter()
            for index, term in enumerate(quantity.terms):
                bar.update(task, description=f"{setting}={_format_value(value)}: {term.label}")
                key = _calculation_key(variant, term.structure)
                if key not in cache:
                    reused = False
                    log = root / f"{setting}-{_format_value(value)}-term{index}.txt"
                    cache[key] = static_energy(variant, term.structure, log_file=log)
                energies.append(cache[key])
                bar.advance(task)
            meshes = (
                [variant.kpoints_for(t.structure) for t in quantity.terms]
                if isinstance(variant, GPAWEngine)
                else None
            )
            raw.append(
                {
                    "value": value,
                    "energies": energies,
                    "kpoint_meshes": meshes,
                    "quantity": quantity.evaluate(energies),
                    "reused": reused,
                    "wall_time": time.perf_counter() - row_start,
                }
            )
    return raw
