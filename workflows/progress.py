"""Progress of a running campaign, read from the log records its jobs emit.

Calculation jobs log an ``anodefree_event`` (``started``, ``computed``, ``reused``,
``unconverged``); jobflow logs failed jobs. :class:`CampaignMonitor` counts them and
calls a callback, which the command line turns into a rich progress bar. Nothing here
depends on how the flow is executed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from collections.abc import Callable

_FAILED = re.compile(r"^(?P<name>.*?) failed with exception:\n(?P<trace>.*)$", re.DOTALL)


@dataclass
class CampaignCounts:
    """What a run has done so far."""

    computed: int = 0
    reused: int = 0
    unconverged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # job name -> last error line
    current: str = ""

    @property
    def finished(self) -> int:
        """Calculations that produced a result (computed, unconverged or reused)."""
        return self.computed + self.reused + len(self.unconverged)


class CampaignMonitor(logging.Handler):
    """A logging handler that counts calculation events and job failures."""

    def __init__(self, callback: Callable[[CampaignCounts], None] | None = None) -> None:
        super().__init__(level=logging.INFO)
        self.counts = CampaignCounts()
        self.callback = callback
        self._loggers = ("anodefree", "jobflow.managers.local")

    def emit(self, record: logging.LogRecord) -> None:
        """Update the counts from one log record."""
        event = getattr(record, "anodefree_event", None)
        label = getattr(record, "label", "")
        if event == "started":
            self.counts.current = label
        elif event == "computed":
            self.counts.computed += 1
        elif event == "reused":
            self.counts.reused += 1
        elif event == "unconverged":
            self.counts.unconverged.append(label)
        elif record.name.startswith("jobflow"):
            match = _FAILED.match(record.getMessage())
            if not match:
                return
            lines = [ln for ln in match["trace"].strip().splitlines() if ln.strip()]
            self.counts.failed[match["name"]] = lines[-1] if lines else "unknown error"
        else:
            return
        if self.callback:
            self.callback(self.counts)

    def __enter__(self) -> Self:
        """Attach to the anodefree and jobflow loggers."""
        for name in self._loggers:
            logger = logging.getLogger(name)
            logger.addHandler(self)
            if logger.getEffectiveLevel() > logging.INFO:
                logger.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc: object) -> None:
        """Detach from the loggers."""
        for name in self._loggers:
            logging.getLogger(name).removeHandler(self)
