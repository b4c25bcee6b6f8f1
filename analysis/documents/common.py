"""Pieces shared by the property documents."""

from __future__ import annotations

from typing import TYPE_CHECKING

from anodefree.provenance import CalculatorProvenance, require_same_calculator

if TYPE_CHECKING:
    from collections.abc import Sequence

    from anodefree.analysis.documents.calculation import CalculationResult


def common_calculator(results: Sequence[CalculationResult], quantity: str) -> CalculatorProvenance:
    """Return the one calculator behind ``results`` or raise MixedCalculatorError."""
    return require_same_calculator([r.calculator for r in results], quantity)


def convergence_warnings(results: Sequence[CalculationResult]) -> list[str]:
    """One warning per unconverged calculation, naming it and why."""
    return [
        f"{r.label}: not converged ({'; '.join(r.convergence_messages) or 'unknown reason'})"
        for r in results
        if not r.converged
    ]


def job_ids(results: Sequence[CalculationResult]) -> list[str]:
    """Return the atomate2 jobs that computed ``results`` (their source job uuids)."""
    return [r.source_job_uuid or r.job_uuid or "" for r in results]
