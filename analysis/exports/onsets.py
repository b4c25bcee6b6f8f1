"""The computed Li-Ag delithiation onset for the continuum export.

Turns a hull (:class:`~anodefree.analysis.documents.hull.HullDocument`, or the
:class:`~anodefree.analysis.documents.hull_study.HullStudyDocument` of the hull workflow,
which also holds the job ids) into the continuum export's
:class:`~anodefree.analysis.exports.continuum.AlloyOnset`: the voltage profile as
:class:`~anodefree.analysis.exports.continuum.VoltagePlateau` s, the calculator provenance
and the ids of the jobs behind the energies. Replace the measured Li-Ag onset of a
parameter file with it through
:meth:`~anodefree.analysis.exports.continuum.ContinuumParameters.with_onset`::

    onset = onset_from_store(store)              # the latest hull study in the store
    parameters = parameters.with_onset(onset)    # replaces the measured Li-Ag onset
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from monty.json import MontyDecoder

from anodefree.analysis.documents.hull_study import HullStudyDocument
from anodefree.analysis.exports.continuum import AlloyOnset, ContinuumExportError, VoltagePlateau

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jobflow import JobStore

    from anodefree.analysis.documents.hull import HullDocument


def voltage_plateaus(hull: HullDocument) -> list[VoltagePlateau]:
    """Return the two-phase regions of a hull as continuum plateaus (Li-rich first).

    Parameters
    ----------
    hull
        A Li-Ag hull document.

    Returns
    -------
    list[VoltagePlateau]
        One plateau per voltage step: Li fractions of its ends, voltage in V vs Li+/Li,
        reduced formulas of the end phases (Li-rich first).
    """
    formula = {row.label: row.formula for row in hull.rows}
    plateaus = [
        VoltagePlateau(
            li_fraction_rich=step.li_fraction_end,
            li_fraction_poor=step.li_fraction_start,
            voltage=step.voltage,
            phases=[
                formula.get(step.li_rich_phase, step.li_rich_phase),
                formula.get(step.li_poor_phase, step.li_poor_phase),
            ],
        )
        for step in hull.voltage_profile.steps
    ]
    return sorted(plateaus, key=lambda p: p.li_fraction_rich, reverse=True)


def hull_onset(
    hull: HullDocument,
    job_ids: Sequence[str],
    *,
    alloy: str = "Li-Ag",
    label: str | None = None,
    note: str | None = None,
) -> AlloyOnset:
    """Return the delithiation onset of a hull as a computed :class:`AlloyOnset`.

    Parameters
    ----------
    hull
        A Li-Ag hull document.
    job_ids
        Ids of the jobs whose energies built the hull (at least one).
    alloy
        Alloy name in the export.
    label
        Label in plots and tables (default: ``'<alloy> (<engine> hull)'``).
    note
        Free-text remark (default: the two phases of the onset region).

    Returns
    -------
    AlloyOnset
        The onset (V vs Li+/Li) with a computed source and the whole voltage profile.

    Raises
    ------
    ContinuumExportError
        If the hull has no alloy on it (no voltage step) or no job id is given.
    """
    ids = [i for i in job_ids if i]
    if not ids:
        msg = f"{alloy}: no job ids for the hull's energies; a computed onset needs them"
        raise ContinuumExportError(msg)
    plateaus = voltage_plateaus(hull)
    if not plateaus:
        msg = (
            f"{alloy}: no Li-Ag compound lies on the hull of {hull.calculator.label}, so there "
            "is no delithiation onset to export"
        )
        raise ContinuumExportError(msg)
    region = " / ".join(plateaus[0].phases)
    return AlloyOnset.from_voltage_profile(
        alloy,
        plateaus,
        hull.calculator,
        ids,
        label=label or f"{alloy} ({hull.calculator.engine} hull)",
        note=note or f"most Li-rich two-phase region {region}, 0 K, no configurational entropy",
    )


def study_onset(study: HullStudyDocument, *, label: str | None = None) -> AlloyOnset:
    """Return the onset of a hull study, with the ids of every job behind its hull."""
    counts = study.counts
    note = (
        f"most Li-rich two-phase region {' / '.join(study.hull.voltage_profile.onset_region)}; "
        f"{counts.n_relaxed} relaxed structures ({counts.n_enumerated} enumerated, "
        f"{counts.n_prescreened} prescreened by {study.prescreen_method}); 0 K, no "
        "configurational entropy"
    )
    return hull_onset(study.hull, list(study.job_ids.values()), label=label, note=note)


def find_hull_study(
    store: JobStore, *, run_id: str | None = None, calculator_fingerprint: str | None = None
) -> HullStudyDocument:
    """Return the most recent hull study in a store.

    Parameters
    ----------
    store
        A connected JobStore.
    run_id
        Only a study of this campaign run.
    calculator_fingerprint
        Only a study computed with this calculator (``CalculatorProvenance.fingerprint``).

    Raises
    ------
    ContinuumExportError
        If the store holds no matching hull study.
    """
    criteria: dict[str, Any] = {
        "output.@class": "HullStudyDocument",
        "name": {"$ne": "store_inputs"},
    }
    if run_id is not None:
        criteria["metadata.run_id"] = run_id
    docs = store.query(criteria, properties=["output"], sort={"completed_at": -1}, load=True)
    for doc in docs:
        output = doc["output"]
        study = MontyDecoder().process_decoded(output) if isinstance(output, dict) else output
        if not isinstance(study, HullStudyDocument):
            study = HullStudyDocument.model_validate(
                {k: v for k, v in output.items() if not k.startswith("@")}
            )
        if calculator_fingerprint is None or (
            study.calculator.fingerprint == calculator_fingerprint
        ):
            return study
    where = f" of run {run_id!r}" if run_id else ""
    which = f" with calculator {calculator_fingerprint}" if calculator_fingerprint else ""
    msg = f"no Li-Ag hull study{where}{which} in the store; run the hull stage first"
    raise ContinuumExportError(msg)


def onset_from_store(
    store: JobStore,
    *,
    run_id: str | None = None,
    calculator_fingerprint: str | None = None,
    label: str | None = None,
) -> AlloyOnset:
    """Return the computed Li-Ag onset of the most recent hull study in a store."""
    study = find_hull_study(store, run_id=run_id, calculator_fingerprint=calculator_fingerprint)
    return study_onset(study, label=label)
