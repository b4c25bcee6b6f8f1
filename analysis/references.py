"""Reference values the reports compare against (experiment and published PBE).

Sources are those of ../shared/science.md and the foundation issue; each value says
where it comes from, so a report can print it beside the computed number.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReferenceValue:
    """A published or experimental value of one property."""

    value: float
    unit: str
    source: str


#: Experimental lattice constants (A); hcp Mg has a and c.
EXPERIMENTAL_LATTICE: dict[str, dict[str, ReferenceValue]] = {
    "Li": {"a": ReferenceValue(3.48, "A", "exp., bcc Li at low temperature")},
    "Li2S": {"a": ReferenceValue(5.69, "A", "exp.")},
    "MgS": {"a": ReferenceValue(5.20, "A", "exp.")},
    "Ag": {"a": ReferenceValue(4.09, "A", "exp.")},
    "Mg": {
        "a": ReferenceValue(3.21, "A", "exp."),
        "c": ReferenceValue(5.21, "A", "exp."),
    },
}

#: Published PBE values (VASP, PAW) for bulk Li defects and migration.
PBE_REFERENCE: dict[str, ReferenceValue] = {
    "vacancy_formation_Li": ReferenceValue(0.50, "eV", "PBE, bcc Li"),
    "hop_barrier_Li": ReferenceValue(0.055, "eV", "PBE, bcc Li"),
    "hop_barrier_Mg": ReferenceValue(0.102, "eV", "PBE, Mg into a vacancy, dilute Mg in Li"),
    "hop_barrier_Li_next_to_Mg": ReferenceValue(0.061, "eV", "PBE, Li hop next to Mg"),
    "vacancy_formation_next_to_Mg": ReferenceValue(0.53, "eV", "PBE, vacancy next to Mg"),
    "vacancy_formation_4.9A_from_Mg": ReferenceValue(0.50, "eV", "PBE, vacancy 4.9 A from Mg"),
}
