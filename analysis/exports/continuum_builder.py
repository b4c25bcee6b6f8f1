"""Build the continuum parameter file from a results store.

- the Li-Ag delithiation onset from the stored hull study
  (:func:`~anodefree.analysis.exports.onsets.study_onset`: the average voltage of the most
  Li-rich two-phase region), replacing the measured Li-Ag value;
- onsets of alloys that were not computed, supplied by the user (e.g. ``Li-Au=0.07``);
- solute diffusivities in Li from the stored
  :class:`~anodefree.analysis.documents.migration.VacancyDiffusionDocument`, as Arrhenius
  laws (D0 and Q of the document's fit over its temperature grid, m^2/s converted to
  cm^2/s) for the interdiffusion lengths sqrt(4 D t).

The hull and the diffusivities may come from different runs (the hull is a stage of the
default campaign, the diffusivities of the interfaces preset), but must come from one
calculator: two different fingerprints raise
:class:`~anodefree.errors.MixedCalculatorError`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from anodefree.analysis.exports.continuum import (
    AlloyOnset,
    ComputedSource,
    ContinuumExportError,
    ContinuumParameters,
    SoluteDiffusivity,
    SuppliedSource,
)
from anodefree.analysis.exports.onsets import study_onset
from anodefree.analysis.exports.stored import StoredDocument, stored_documents
from anodefree.provenance import require_same_calculator

if TYPE_CHECKING:
    from collections.abc import Mapping

    from jobflow import JobStore

M2_TO_CM2 = 1e4
"""cm^2 per m^2."""


class MissingContinuumInputError(ContinuumExportError):
    """The store lacks a document the continuum export was asked to take from it."""


def parse_onset(text: str) -> tuple[str, float]:
    """Parse ``NAME=VOLTS`` (e.g. ``Li-Au=0.07``) into the alloy and its onset (V).

    Raises
    ------
    ContinuumExportError
        If the text is not ``NAME=number``.
    """
    match = re.fullmatch(r"\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*([-+0-9.eE]+)\s*", text)
    if not match:
        msg = f"an onset is NAME=VOLTS (e.g. Li-Au=0.07), got {text!r}"
        raise ContinuumExportError(msg)
    try:
        return match.group(1), float(match.group(2))
    except ValueError:
        msg = f"onset {text!r}: {match.group(2)!r} is not a number (V vs Li+/Li)"
        raise ContinuumExportError(msg) from None


def supplied_onset(alloy: str, onset: float, note: str | None = None) -> AlloyOnset:
    """Return a user-supplied onset (V vs Li+/Li) with its source."""
    try:
        return AlloyOnset(
            alloy=alloy,
            onset=onset,
            source=SuppliedSource(note=note or f"{alloy} delithiation onset given by the user"),
        )
    except ValueError as error:
        msg = f"onset of {alloy}: {error}"
        raise ContinuumExportError(msg) from error


def diffusivities_from(stored: StoredDocument) -> list[SoluteDiffusivity]:
    """Return the solute diffusivities of a stored VacancyDiffusionDocument (cm^2/s).

    Parameters
    ----------
    stored
        The stored document (its job id joins the source's job ids).

    Returns
    -------
    list[SoluteDiffusivity]
        One Arrhenius law per solute (host self-diffusion is left out).
    """
    document = stored.document
    ids = [stored.job_uuid, *(v for v in document.job_uuids.values() if v)]
    out = []
    for entry in document.species:
        if entry.kind != "solute":
            continue
        low, high = entry.points[0].temperature, entry.points[-1].temperature
        note = (
            f"Arrhenius fit over {low:.0f}-{high:.0f} K (Q = {entry.fitted_activation_energy:.4f}"
            f" eV; E_f + E_b + E_m = {entry.activation_energy:.4f} eV); {entry.correlation_model}"
        )
        if entry.flagged:
            note += "; FLAGGED: " + "; ".join(entry.approximations or ["an input is flagged"])
        out.append(
            SoluteDiffusivity(
                solute=entry.species,
                host=document.host,
                prefactor=entry.fitted_prefactor * M2_TO_CM2,
                activation_energy=entry.fitted_activation_energy,
                source=ComputedSource(
                    provenance=document.calculator,
                    job_ids=ids,
                    method="vacancy mechanism, Le Claire bcc nine-frequency model "
                    "(VacancyDiffusionDocument)",
                    note=note,
                ),
            )
        )
    return out


def build_continuum_parameters(
    store: JobStore,
    *,
    run_id: str | None = None,
    hull_run_id: str | None = None,
    onsets: Mapping[str, float] | None = None,
    hull: bool = True,
    diffusion: bool = True,
    base: ContinuumParameters | None = None,
) -> ContinuumParameters:
    """Build continuum parameters from the stored hull and diffusivities.

    Parameters
    ----------
    store
        A connected JobStore.
    run_id
        Run of the VacancyDiffusionDocument (default: the latest one in the store).
    hull_run_id
        Run of the hull study (default: the latest one in the store).
    onsets
        User-supplied onsets, alloy -> V vs Li+/Li (e.g. ``{"Li-Au": 0.07}``).
    hull
        Take the Li-Ag onset from the stored hull (required to be there).
    diffusion
        Take the solute diffusivities from the stored diffusion document (required).
    base
        Parameters to start from (default: the documented defaults); their measured
        onsets are replaced by the computed and the supplied ones.

    Returns
    -------
    ContinuumParameters
        The validated parameters.

    Raises
    ------
    MissingContinuumInputError
        Naming every missing document and the stage that produces it.
    MixedCalculatorError
        If the hull and the diffusivities come from different calculators.
    """
    missing = []
    study = diffusion_doc = None
    if diffusion:
        found = stored_documents(store, "VacancyDiffusionDocument", run_id=run_id)
        if found:
            diffusion_doc = found[0]
        else:
            where = f" of run {run_id}" if run_id else ""
            missing.append(
                f"the vacancy diffusion document{where} (migration stage: campaign section "
                "`migration` with attempt frequencies, e.g. the interfaces preset), for the "
                "solute interdiffusion lengths"
            )
    if hull:
        found = stored_documents(store, "HullStudyDocument", run_id=hull_run_id)
        if diffusion_doc is not None:  # the newest hull of the diffusivities' calculator first
            same = [h for h in found if h.fingerprint == diffusion_doc.fingerprint]
            found = same or found
        if found:
            study = found[0]
        else:
            where = f" of run {hull_run_id}" if hull_run_id else ""
            missing.append(
                f"the Li-Ag hull study{where} (hull stage: campaign section `hull`, e.g. the "
                "default preset), for the computed Li-Ag onset"
            )
    if missing:
        msg = "the continuum export needs: " + "; ".join(missing)
        raise MissingContinuumInputError(msg)
    used = [d for d in (study, diffusion_doc) if d is not None]
    if len(used) > 1:
        require_same_calculator(
            [d.document.calculator for d in used], "the continuum parameters (hull, diffusivities)"
        )
    parameters = base or ContinuumParameters()
    data = parameters.model_dump()
    computed = [study_onset(study.document)] if study is not None else []
    supplied = [supplied_onset(name, value) for name, value in (onsets or {}).items()]
    data["onsets"] = [o.model_dump() for o in [*computed, *supplied]]
    if diffusion_doc is not None:
        data["diffusivities"] = [d.model_dump() for d in diffusivities_from(diffusion_doc)]
    notes = [parameters.note] if parameters.note else []
    notes += [
        f"{type(d.document).__name__} of run {d.run_id} (job {d.job_uuid}, "
        f"{d.document.calculator.label})"
        for d in used
    ]
    data["note"] = "built from " + "; ".join(notes) if notes else None
    try:
        return ContinuumParameters.model_validate(data)
    except ValueError as error:
        raise ContinuumExportError(f"continuum parameters: {error}") from error
