"""One calculation of one structure with one engine, reused when already in the store.

:class:`CalculationMaker` is the unit every anodefree flow is built from. Its job

1. computes the calculation's identity (:func:`calculation_key`: the structure, the
   calculator provenance and the task settings);
2. looks that identity up in the job store it runs against; when a finished result
   exists it returns it (``reused=True``) without computing anything;
3. otherwise replaces itself by the engine's atomate2 Maker (for example
   ``ForceFieldRelaxMaker`` or VASP's ``RelaxMaker``) followed by a small job that reads
   the task document into a :class:`CalculationResult`.

Because the lookup happens when the job runs, re-running a campaign after a crash or a
kill reuses every calculation that finished, identical structures requested by different
flows are computed once, and the same works under FireWorks and jobflow-remote.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from jobflow import CURRENT_JOB, Flow, Maker, Response, job
from jobflow.core.job import JobConfig
from monty.json import MontyDecoder

from anodefree.analysis.documents.calculation import CalculationResult
from anodefree.provenance import stable_hash
from anodefree.tasks import CalculationTask
from anodefree.workflows.engines.base import Engine
from anodefree.workflows.engines.registry import get_engine

if TYPE_CHECKING:
    from jobflow import JobStore
    from pymatgen.core import Structure

    from anodefree.provenance import CalculatorProvenance

logger = logging.getLogger(__name__)

#: Decimal places kept when hashing a structure (1e-6 A and 1e-6 fractional).
_DECIMALS = 6


def structure_key(structure: Structure) -> str:
    """Hash a structure's lattice, species, coordinates and fixed atoms.

    Coordinates are rounded to 1e-6 and wrapped into the cell, so that the same
    structure built twice gives the same key.
    """
    frac = np.round(np.round(structure.frac_coords, _DECIMALS) % 1.0, _DECIMALS) + 0.0
    lattice = np.round(structure.lattice.matrix, _DECIMALS) + 0.0
    payload: dict[str, Any] = {
        "lattice": lattice.tolist(),
        "species": [site.species_string for site in structure],
        "frac": frac.tolist(),
    }
    if "selective_dynamics" in structure.site_properties:
        payload["fixed"] = [
            i
            for i, flags in enumerate(structure.site_properties["selective_dynamics"])
            if not all(flags)
        ]
    return stable_hash(payload, length=24)


def calculation_key(
    structure: Structure, calculator: CalculatorProvenance, task: CalculationTask
) -> str:
    """Identity of a calculation: structure, calculator (all settings) and task."""
    return stable_hash(
        {
            "structure": structure_key(structure),
            "calculator": calculator.fingerprint,
            "task": task.model_dump(mode="json"),
        },
        length=24,
    )


def find_cached_result(store: JobStore, key: str) -> CalculationResult | None:
    """Return the stored result with identity ``key``, or ``None``.

    Parameters
    ----------
    store
        The jobflow JobStore the campaign runs against (embedded or MongoDB).
    key
        A :func:`calculation_key`.
    """
    doc = store.query_one(
        {"output.cache_key": key, "output.@class": "CalculationResult"},
        properties=["output"],
        load=True,
    )
    if doc is None:
        return None
    output = doc["output"]
    if isinstance(output, dict):
        output = MontyDecoder().process_decoded(output)
    return output if isinstance(output, CalculationResult) else None


def prepare_structure(structure: Structure, task: CalculationTask) -> Structure:
    """Copy ``structure`` and mark ``task.fixed_indices`` as fixed (selective dynamics)."""
    prepared = structure.copy()
    if task.fixed_indices:
        n_sites = len(prepared)
        bad = [i for i in task.fixed_indices if not 0 <= i < n_sites]
        if bad:
            msg = f"fixed atom indices {bad} outside the structure's {n_sites} sites"
            raise IndexError(msg)
        fixed = set(task.fixed_indices)
        prepared.add_site_property(
            "selective_dynamics",
            [[i not in fixed] * 3 for i in range(n_sites)],
        )
    return prepared


def _default_engine() -> Engine:
    return get_engine("chgnet")


@dataclass
class CalculationMaker(Maker):
    """Run one calculation with an engine, reusing a stored result with the same identity.

    Parameters
    ----------
    name
        Job name.
    engine
        The calculator engine (CHGNet by default).
    task
        What to compute (static energy, fixed-cell or full relaxation) and how.
    reuse
        Look the calculation up in the store first (on by default).
    """

    name: str = "calculation"
    engine: Engine = field(default_factory=_default_engine)
    task: CalculationTask = field(default_factory=lambda: CalculationTask(kind="relax_positions"))
    reuse: bool = True

    @job(config=JobConfig(expose_store=True))
    def make(
        self,
        structure: Structure,
        label: str = "",
        system: str | None = None,
        role: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> CalculationResult | Response:
        """Return the stored result or replace this job by the engine's Maker.

        Parameters
        ----------
        structure
            The structure to compute.
        label
            Human-readable name, shown in progress and reports.
        system, role, metadata
            Tags copied into the result document.

        Returns
        -------
        CalculationResult or Response
            The reused result, or a replacement flow that computes it.
        """
        structure = prepare_structure(structure, self.task)
        provenance = self.engine.provenance()
        key = calculation_key(structure, provenance, self.task)
        tags = {"label": label, "system": system, "role": role, "metadata": metadata or {}}
        store = CURRENT_JOB.store
        if self.reuse and store is not None:
            cached = find_cached_result(store, key)
            if cached is not None:
                logger.info("reused %s", label, extra={"anodefree_event": "reused", "label": label})
                return cached.model_copy(
                    update={"reused": True, "job_uuid": CURRENT_JOB.job.uuid, **tags}
                )
        self.engine.check_available()
        logger.info("computing %s", label, extra={"anodefree_event": "started", "label": label})
        inner = self.engine.relax_maker(self.task).make(structure)
        title = label or structure.composition.reduced_formula
        inner.name = f"{title} [{self.engine.name} {self.task.kind}]"
        collect = collect_result(
            inner.output,
            engine=self.engine,
            task=self.task,
            cache_key=key,
            source_job_uuid=inner.uuid,
            **tags,
        )
        collect.name = f"collect {label}"
        return Response(replace=Flow([inner, collect], output=collect.output, name=label))


@job
def collect_result(
    task_document: Any,
    engine: Engine,
    task: CalculationTask,
    cache_key: str,
    source_job_uuid: str,
    label: str,
    system: str | None,
    role: str | None,
    metadata: dict[str, Any],
) -> CalculationResult:
    """Read an engine's task document into a :class:`CalculationResult`."""
    parsed = engine.parse_output(task_document, task)
    structure = parsed.structure
    if "selective_dynamics" in structure.site_properties:
        structure = structure.copy()
        structure.remove_site_property("selective_dynamics")
    result = CalculationResult(
        label=label,
        system=system,
        role=role,
        formula=structure.composition.reduced_formula,
        n_atoms=len(structure),
        structure=structure,
        energy=parsed.energy,
        energy_per_atom=parsed.energy / len(structure),
        converged=parsed.converged,
        convergence_messages=parsed.messages,
        max_force=parsed.max_force,
        n_ionic_steps=parsed.n_ionic_steps,
        wall_time=parsed.wall_time,
        calculator=engine.provenance(),
        task=task,
        cache_key=cache_key,
        reused=False,
        job_uuid=CURRENT_JOB.job.uuid if CURRENT_JOB.job else None,
        source_job_uuid=source_job_uuid,
        metadata=metadata,
    )
    event = "computed" if result.converged else "unconverged"
    logger.info(
        "%s %s: E = %.6f eV%s",
        event,
        label,
        result.energy,
        "" if result.converged else f" (NOT CONVERGED: {'; '.join(parsed.messages)})",
        extra={"anodefree_event": event, "label": label, "wall_time": parsed.wall_time},
    )
    return result
