"""Summary of one run of a campaign."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from anodefree.provenance import CalculatorProvenance


class CampaignRun(BaseModel):
    """What one run of a campaign did."""

    campaign: str = Field(description="Campaign name.")
    run_id: str = Field(description="Identifier of the run; tags every job it ran.")
    calculator: CalculatorProvenance = Field(description="Calculator of the campaign.")
    store: str = Field(description="Where results are stored (credentials redacted).")
    started_at: datetime = Field(description="Start time (UTC).")
    wall_time: float = Field(description="Wall time of the run in s.")
    planned: int = Field(description="Calculations the campaign plans.")
    computed: int = Field(description="Calculations computed in this run.")
    reused: int = Field(description="Calculations reused from the store.")
    unconverged: list[str] = Field(description="Calculations that did not converge.")
    failed: dict[str, str] = Field(description="Failed jobs and their last error line.")
    completed: bool = Field(description="Whether every job of the flow finished.")
