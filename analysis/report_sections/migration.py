"""Report sections of the migration barriers and of the vacancy diffusivities."""

from __future__ import annotations

from typing import TYPE_CHECKING

from anodefree.analysis.report import ReportRow, Section, register_section

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from anodefree.analysis.documents.migration import (
        MigrationBarrierDocument,
        VacancyDiffusionDocument,
    )


def _deviation(value: float, reference: float | None) -> str:
    if reference is None:
        return ""
    return f"{1000 * (value - reference):+.1f} meV vs PBE; "


def _region(doc: MigrationBarrierDocument) -> str:
    """Return the relaxation region of a locally relaxed hop as a note fragment."""
    free, radius = doc.metadata.get("n_free"), doc.metadata.get("radius")
    if free is None or radius is None:
        return ""
    return f" ({free} relax, within {radius:g} A of the hop)"


@register_section("MigrationBarrierDocument")
def migration_barrier_section(
    documents: Sequence[MigrationBarrierDocument], figure_dir: Path | None
) -> Section:
    """Forward and reverse barriers, attempt frequencies and NEB profiles of every hop."""
    section = Section(title="Migration barriers (climbing-image NEB)", order=40)
    section.text.append(
        "Barriers are E(climbing image) - E(relaxed endpoint); 'forward' starts from the "
        "initial endpoint. For the Li hop next to a solute the vacancy starts next to the "
        "solute and moves away (forward = dissociation w3, reverse = association w4); the "
        "PBE reference 'Li hop next to Mg' is shown beside the forward barrier, an "
        "assumption about the reference's geometry. Attempt frequencies: Vineyard "
        "(harmonic transition-state theory) unless the note says otherwise. Interface hops "
        "(L1 -> L2, ...) are built in the relaxed interfacial-defect host: only the atoms "
        "within the stated radius of the hop relax, in both endpoints and along the band."
    )
    for doc in documents:
        calc = doc.calculator.label
        neb = (
            f"{doc.neb_settings.n_images} images, {doc.neb_settings.method}, climbing image, "
            f"fmax {doc.neb_settings.fmax} eV/A"
            + (f", max force {doc.neb_max_force:.4f} eV/A" if doc.neb_max_force is not None else "")
            + f", {doc.n_atoms} atoms"
            + _region(doc)
        )
        state = "" if doc.neb_converged else "NEB NOT CONVERGED; "
        section.rows.append(
            ReportRow(
                section=section.title,
                quantity=f"{doc.hop}: forward barrier",
                value=doc.forward_barrier,
                unit="eV",
                calculator=calc,
                reference=doc.reference,
                reference_source=doc.reference_source,
                note=state + _deviation(doc.forward_barrier, doc.reference) + neb,
                flagged=doc.flagged,
            )
        )
        symmetric = "symmetric hop: must equal the forward barrier" if doc.symmetric else ""
        section.rows.append(
            ReportRow(
                section=section.title,
                quantity=f"{doc.hop}: reverse barrier",
                value=doc.reverse_barrier,
                unit="eV",
                calculator=calc,
                note=symmetric or f"reaction energy {1000 * doc.reaction_energy:+.1f} meV",
                flagged=doc.flagged,
            )
        )
        for analysis in doc.attempt_frequencies:
            if analysis.valid:
                continue
            section.rows.append(
                ReportRow(
                    section=section.title,
                    quantity=f"{analysis.label}: attempt frequency ({analysis.method})",
                    value=analysis.nu,
                    unit="THz",
                    calculator=calc,
                    note="REJECTED: " + "; ".join(analysis.messages),
                    flagged=True,
                )
            )
        for direction, nu in (
            ("forward", doc.attempt_frequency_forward),
            ("reverse", doc.attempt_frequency_reverse if not doc.symmetric else None),
        ):
            if nu is None:
                continue
            extra = (
                f"{doc.attempt_frequency_method}; imaginary mode {doc.imaginary_frequency:.2f} THz"
                if doc.imaginary_frequency is not None
                else f"{doc.attempt_frequency_method}"
            )
            if doc.einstein_frequency is not None:
                extra += f"; 1D Einstein (fallback) {doc.einstein_frequency:.2f} THz"
            section.rows.append(
                ReportRow(
                    section=section.title,
                    quantity=f"{doc.hop}: attempt frequency ({direction})",
                    value=nu,
                    unit="THz",
                    calculator=calc,
                    note=extra,
                    flagged=doc.flagged,
                )
            )
        section.warnings += [f"{doc.hop}: {w}" for w in doc.warnings]
        section.text += [f"- {doc.hop}: {n}" for n in doc.notes]
    if figure_dir is not None and documents:
        from anodefree.analysis.plotting.migration import plot_energy_profiles

        path = plot_energy_profiles(documents, figure_dir / "neb_profiles.png")
        section.figures.append(f"{path.parent.name}/{path.name}")
    return section


@register_section("VacancyDiffusionDocument")
def vacancy_diffusion_section(
    documents: Sequence[VacancyDiffusionDocument], figure_dir: Path | None
) -> Section:
    """Diffusivities at the reported temperatures, activation energies, diffusion lengths."""
    section = Section(title="Vacancy-mediated diffusion in bcc Li", order=45)
    section.text.append(
        "D(T) = (1/6) z lambda^2 nu f exp(-(E_f [+ E_b] + E_m)/kT), z = 8; f = 0.7272 for "
        "self-diffusion, Le Claire's bcc nine-frequency model for solutes (see "
        "anodefree.analysis.diffusion). Vacancy formation entropy neglected."
    )
    for index, doc in enumerate(documents):
        calc = doc.calculator.label
        hours = doc.diffusion_time / 3600
        for entry in doc.species:
            name = f"{entry.species} in Li" + (" (self)" if entry.kind == "self" else "")
            formation = "E_f" if entry.binding_energy is None else "E_f + E_b"
            base = (
                f"{formation} {entry.formation_energy:.3f} + E_m {entry.migration_energy:.3f} eV"
                f", nu {entry.attempt_frequency:.2f} THz ({entry.attempt_frequency_method})"
            )
            if entry.binding_energy is not None:
                base += f", E_b {1000 * entry.binding_energy:+.1f} meV"
            for point in entry.reported:
                section.rows.append(
                    ReportRow(
                        section=section.title,
                        quantity=f"D({name}, {point.temperature_celsius:g} C)",
                        value=point.diffusivity,
                        unit="m^2/s",
                        calculator=calc,
                        note=f"D = {point.diffusivity:.3e} m^2/s; "
                        f"f = {point.correlation_factor:.3f}; sqrt(4Dt) over "
                        f"{hours:g} h = {1e6 * point.diffusion_length:.3g} um",
                        flagged=entry.flagged,
                    )
                )
            section.rows.append(
                ReportRow(
                    section=section.title,
                    quantity=f"activation energy Q, {name}",
                    value=entry.activation_energy,
                    unit="eV",
                    calculator=calc,
                    note=f"{base}; Arrhenius fit {entry.fitted_activation_energy:.3f} eV, "
                    f"D0 {entry.fitted_prefactor:.3g} m^2/s; {entry.correlation_model}",
                    flagged=entry.flagged,
                )
            )
            section.warnings += [f"{entry.species}: {a}" for a in entry.approximations]
        section.text.append(f"E_f from {doc.formation_energy_source}.")
        section.warnings += doc.warnings
        if figure_dir is not None:
            from anodefree.analysis.plotting.migration import plot_arrhenius

            suffix = "" if index == 0 else f"_{index}"
            path = plot_arrhenius(doc, figure_dir / f"arrhenius{suffix}.png")
            section.figures.append(f"{path.parent.name}/{path.name}")
    return section
