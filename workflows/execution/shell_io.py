"""A qtoolkit shell scheduler that survives job names with spaces and parentheses.

qtoolkit's shell template writes ``echo <job name>`` unquoted into the job script, so a job
named ``collect Li bulk (bcc)`` is a bash syntax error before it starts. jobflow-remote
accepts a serialised scheduler object as a worker's ``scheduler_type``; anodefree's shell
workers use this one, which quotes the name.
"""

from __future__ import annotations

import shlex
from typing import Any

from qtoolkit.io.shell import ShellIO


class QuotingShellIO(ShellIO):
    """qtoolkit's ``ShellIO`` with the job name shell-quoted in the script header."""

    def generate_header(self, options: Any) -> str:
        """Quote ``job_name`` before qtoolkit renders the header."""
        if options is not None and not isinstance(options, dict):  # a QResources object
            options = self.check_convert_qresources(options)
        if options and "job_name" in options:
            options = {**options, "job_name": shlex.quote(str(options["job_name"]))}
        return super().generate_header(options)


def scheduler_kind(scheduler_type: Any) -> str:
    """Return ``slurm``/``pbs``/``shell`` for a worker's scheduler (name, dict or object)."""
    if isinstance(scheduler_type, str):
        return scheduler_type
    cls = (
        scheduler_type.get("@class")
        if isinstance(scheduler_type, dict)
        else type(scheduler_type).__name__
    )
    return "shell" if cls in {"ShellIO", "QuotingShellIO"} else str(cls)
