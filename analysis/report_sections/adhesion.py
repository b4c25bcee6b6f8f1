"""Report section of the work of adhesion and wetting angles."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from anodefree.analysis.report import ReportRow, Section, register_section

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from anodefree.analysis.documents.adhesion import AdhesionDocument

_SYSTEM_ORDER = ("Li/Li2S", "Li-Mg/Li2S", "Li-Ag/Li2S", "Li/LiAg")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", text).strip("_")


def _label(doc: AdhesionDocument) -> str:
    if doc.placement == "pure":
        return doc.system
    element = sorted({s.element for s in doc.interface.solutes})
    layers = ", ".join(f"{n} in {layer}" for layer, n in sorted(doc.solutes.items()))
    return f"{doc.system} ({'/'.join(element)} {doc.placement}: {layers})"


def _geometry_note(doc: AdhesionDocument) -> str:
    f1, f2 = doc.film_strain_percent
    s1, s2 = doc.substrate_strain_percent
    return (
        f"{doc.film_facet} on {doc.substrate_facet}; strain on the metal {f1:+.2f}/{f2:+.2f} % "
        f"(principal), on the substrate {s1:+.2f}/{s2:+.2f} %; area {doc.area:.1f} A^2; "
        f"{doc.n_atoms} atoms ({doc.n_atoms_film} metal + {doc.n_atoms_substrate} substrate)"
    )


def _sort_key(doc: AdhesionDocument) -> tuple[int, str, str]:
    order = _SYSTEM_ORDER.index(doc.system) if doc.system in _SYSTEM_ORDER else 99
    return (order, doc.system, doc.placement)


@register_section("AdhesionDocument")
def adhesion_section(documents: Sequence[AdhesionDocument], figure_dir: Path | None) -> Section:
    """W_ad (ideal, relaxed) and the wetting angle of every interface, with its geometry."""
    section = Section(title="Work of adhesion and wetting", order=40)
    section.text += [
        (
            "W_ad = (E_metal slab + E_substrate slab - E_interface) / A, both slabs strained "
            "exactly as in the interface cell, every energy from one calculator. Ideal: rigid "
            "interface at the best registry and separation of the scans, unrelaxed slabs. "
            "Relaxed: relaxed interface (bottom substrate unit fixed) against separately relaxed "
            "slabs. The metal takes the lattice mismatch; the substrate keeps its lattice."
        ),
        (
            "theta from Young-Dupre, cos(theta) = W_ad(relaxed) / gamma_metal - 1, with "
            "gamma_metal the converged unstrained surface energy of the metal facet facing the "
            "substrate (its thickness series in 'Surface energies'); theta > 90 deg is "
            "lithiophobic. 'theta (strained film)' uses instead the surface energy of the "
            "relaxed strained film slab of the interface cell (pure films; it includes the "
            "film's elastic energy)."
        ),
    ]
    docs = sorted(documents, key=_sort_key)
    for doc in docs:
        calc = doc.calculator.label
        name = _label(doc)
        geometry = _geometry_note(doc)
        relaxed_note = (
            f"ideal (rigid) W_ad {doc.w_ad_ideal:.3f} J/m^2 at d = {doc.best_separation:.2f} A"
            + (
                f", relaxed d = {doc.relaxed_separation:.2f} A"
                if doc.relaxed_separation is not None
                else ""
            )
            + ("" if doc.relaxed_converged else "; relaxation NOT CONVERGED or failed")
        )
        section.rows.append(
            ReportRow(
                section=section.title,
                quantity=f"W_ad relaxed, {name}",
                value=doc.w_ad_relaxed,
                unit="J/m^2",
                calculator=calc,
                note=f"{relaxed_note}; {geometry}",
                flagged=not doc.relaxed_converged,
            )
        )
        section.rows.append(
            ReportRow(
                section=section.title,
                quantity=f"W_ad ideal (rigid), {name}",
                value=doc.w_ad_ideal,
                unit="J/m^2",
                calculator=calc,
                note=f"registry scan {len(doc.registry_scan.points)} points, separation scan "
                f"{len(doc.separation_scan.points)} points"
                + (
                    f" (of the {doc.scan_placement} interface, shared)"
                    if doc.scan_placement != doc.placement
                    else ""
                )
                + f"; {geometry}",
                flagged=not all(
                    doc.energies[k].converged
                    for k in ("interface_rigid", "film_static", "substrate_static")
                ),
            )
        )
        verdict = doc.verdict or "no verdict"
        extra = []
        if doc.gamma_metal is not None:
            extra.append(f"gamma_metal {doc.gamma_metal:.3f} J/m^2 ({doc.gamma_metal_source})")
        if doc.theta_ideal is not None:
            extra.append(f"theta from ideal W_ad {doc.theta_ideal:.1f} deg")
        if doc.theta_basis == "ideal":
            extra.append("relaxed W_ad unavailable: theta from the ideal W_ad")
        section.rows.append(
            ReportRow(
                section=section.title,
                quantity=f"theta, {name}",
                value=doc.theta,
                unit="deg",
                calculator=calc,
                note=f"{verdict.upper()}; " + "; ".join([*extra, geometry]),
                flagged=doc.flagged,
            )
        )
        if doc.theta_strained is not None:
            section.rows.append(
                ReportRow(
                    section=section.title,
                    quantity=f"theta (strained film), {name}",
                    value=doc.theta_strained,
                    unit="deg",
                    calculator=calc,
                    note=f"gamma of the strained film slab {doc.gamma_metal_strained:.3f} J/m^2",
                    flagged=not doc.relaxed_converged,
                )
            )
        section.warnings += [f"{name}: {w}" for w in doc.warnings]
    if figure_dir is not None and docs:
        section.figures += _figures(docs, figure_dir)
    return section


def _figures(docs: Sequence[AdhesionDocument], figure_dir: Path) -> list[str]:
    from anodefree.analysis.plotting.adhesion import (
        plot_registry_map,
        plot_separation_curves,
        render_interface,
    )

    paths = [plot_separation_curves(docs, figure_dir / "adhesion_separation_curves.png")]
    seen = set()
    for doc in docs:
        scan = doc.registry_scan
        key = scan.cache_key or (scan.system, scan.placement)  # one map per distinct scan
        if key not in seen:
            seen.add(key)
            paths.append(
                plot_registry_map(
                    scan,
                    doc.area,
                    figure_dir / f"registry_{_slug(scan.system)}_{_slug(scan.placement)}.png",
                    title=f"{scan.system} ({scan.placement}): registry at "
                    f"d = {scan.points[0].separation:.2f} A",
                )
            )
        if doc.relaxed_structure is not None:
            paths.append(
                render_interface(
                    doc, figure_dir / f"interface_{_slug(doc.system)}_{_slug(doc.placement)}.png"
                )
            )
    return [f"{p.parent.name}/{p.name}" for p in paths]
