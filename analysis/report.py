"""The campaign report: a table of every property with units, calculator and reference.

Property documents are turned into report sections by builders registered per document
class (:func:`register_section`, see :mod:`anodefree.analysis.report_sections`). The
report is written as Markdown (with figures) and JSON (rows, run summary, and the full
documents), and printed as a table by the command line.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from anodefree.analysis.documents.run import CampaignRun

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


class ReportRow(BaseModel):
    """One reported number."""

    section: str = Field(description="Report section.")
    quantity: str = Field(description="What the number is.")
    value: float | None = Field(description="The computed value (None if unavailable).")
    unit: str = Field(description="Unit of value and reference.")
    calculator: str = Field(description="Calculator name, version and model.")
    reference: float | None = Field(None, description="Experimental or published value.")
    reference_source: str | None = Field(None, description="Where the reference comes from.")
    note: str = Field("", description="Deviation, convergence or other remarks.")
    flagged: bool = Field(
        default=False, description="True when an input did not converge or a check failed."
    )


class Section(BaseModel):
    """A titled part of the report."""

    title: str
    order: int = 100
    rows: list[ReportRow] = Field(default_factory=list)
    text: list[str] = Field(default_factory=list, description="Markdown paragraphs.")
    figures: list[str] = Field(default_factory=list, description="Figure files (relative).")
    warnings: list[str] = Field(default_factory=list)


class Report(BaseModel):
    """Everything a report shows."""

    campaign: str
    run: CampaignRun | None = None
    sections: list[Section] = Field(default_factory=list)
    documents: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def rows(self) -> list[ReportRow]:
        """All rows, section by section."""
        return [row for section in self.sections for row in section.rows]


SectionBuilder = "Callable[[Sequence[BaseModel], Path], Section]"
_SECTIONS: dict[str, Callable[[Sequence[BaseModel], Path], Section]] = {}


def register_section(
    document_class: str,
) -> Callable[[Callable[[Sequence[BaseModel], Path], Section]], Callable]:
    """Register a builder turning documents of ``document_class`` into a section."""

    def decorate(builder: Callable[[Sequence[BaseModel], Path], Section]) -> Callable:
        _SECTIONS[document_class] = builder
        return builder

    return decorate


def section_builders() -> dict[str, Callable[[Sequence[BaseModel], Path], Section]]:
    """Return the registered section builders keyed by document class name."""
    _load_sections()
    return dict(_SECTIONS)


def _load_sections() -> None:
    package = importlib.import_module("anodefree.analysis.report_sections")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")


def build_report(
    campaign: str,
    documents: Sequence[BaseModel],
    run: CampaignRun | None = None,
    figure_dir: Path | None = None,
) -> Report:
    """Build the report of a run from its property documents.

    Parameters
    ----------
    campaign
        Campaign name.
    documents
        Property documents (from :func:`anodefree.analysis.results.run_documents`).
    run
        The run summary, if known.
    figure_dir
        Folder for figures; none are drawn when ``None``.
    """
    _load_sections()
    by_class: dict[str, list[BaseModel]] = defaultdict(list)
    for document in documents:
        by_class[type(document).__name__].append(document)
    sections = []
    for name, docs in by_class.items():
        builder = _SECTIONS.get(name)
        if builder is not None:
            sections.append(builder(docs, figure_dir))
    sections.sort(key=lambda s: s.order)
    dumped = [_dump(d) for d in documents]
    return Report(campaign=campaign, run=run, sections=sections, documents=dumped)


def _dump(document: BaseModel) -> dict[str, Any]:
    """JSON-ready form of a document, including fields that hold pymatgen objects."""
    from monty.json import jsanitize

    try:
        data = document.model_dump(mode="json")
    except (TypeError, ValueError):  # pydantic cannot serialise Structure and friends
        data = jsanitize(document.model_dump(), strict=True, allow_bson=False, enum_values=True)
    return {"@class": type(document).__name__, **data}


def _format(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "count":
        return f"{value:.0f}"
    if value != 0 and not 1e-3 <= abs(value) < 1e6:
        return f"{value:.4g}"  # e.g. diffusivities in m^2/s: 8.385e-14, never 0.0000
    digits = (
        2
        if unit in {"deg", "%"}
        else 1
        if unit.startswith("meV")
        else 3
        if unit in {"A", "J/m^2"}
        else 4
    )
    return f"{value:.{digits}f}"


def render_markdown(report: Report) -> str:
    """Render the report as Markdown."""
    lines = [f"# anodefree report: {report.campaign}", ""]
    run = report.run
    if run:
        calc = run.calculator
        lines += [
            (
                f"- run `{run.run_id}` started {run.started_at:%Y-%m-%d %H:%M} UTC, "
                f"{run.wall_time:.0f} s wall time"
            ),
            (
                f"- calculator: **{calc.label}** ({calc.package}), "
                f"settings `{json.dumps(calc.settings)}`"
            ),
            f"- store: {run.store}",
            (
                f"- calculations: {run.computed} computed, {run.reused} reused from the "
                f"store, {len(run.unconverged)} not converged, {len(run.failed)} failed jobs"
            ),
            "",
        ]
        if run.unconverged:
            lines += ["**Not converged (flagged wherever used):**", ""]
            lines += [f"- {label}" for label in run.unconverged] + [""]
        if run.failed:
            lines += ["**Failed jobs:**", ""]
            lines += [f"- {name}: `{error}`" for name, error in run.failed.items()] + [""]
    for section in report.sections:
        lines += [f"## {section.title}", ""]
        lines += [*section.text, ""] if section.text else []
        if section.rows:
            lines += [
                "| quantity | value | unit | calculator | reference | note |",
                "|---|---:|---|---|---:|---|",
            ]
            for row in section.rows:
                ref = (
                    f"{_format(row.reference, row.unit)} ({row.reference_source})"
                    if row.reference is not None
                    else ""
                )
                flag = "**FLAGGED** " if row.flagged else ""
                lines.append(
                    f"| {row.quantity} | {_format(row.value, row.unit)} | {row.unit} | "
                    f"{row.calculator} | {ref} | {flag}{row.note} |"
                )
            lines.append("")
        lines += [f"![{Path(f).stem}]({f})" for f in section.figures]
        lines += [f"> warning: {w}" for w in section.warnings]
        lines.append("")
    return "\n".join(lines)


def write_report(report: Report, directory: Path) -> dict[str, Path]:
    """Write ``report.md`` and ``report.json`` into ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    markdown = directory / "report.md"
    markdown.write_text(render_markdown(report))
    data = directory / "report.json"
    payload = {
        "campaign": report.campaign,
        "run": report.run.model_dump(mode="json") if report.run else None,
        "rows": [row.model_dump(mode="json") for row in report.rows],
        "documents": report.documents,
    }
    data.write_text(json.dumps(payload, indent=2, default=str))
    return {"markdown": markdown, "json": data}
