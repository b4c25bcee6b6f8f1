"""Helpers shared by the engines that load machine-learned potentials from files.

* :func:`model_file_identity` names a model file by its SHA-256 for provenance, hashing
  each file once per process and content (a campaign asks for the provenance of every
  calculation, and model files are tens of megabytes).
* :func:`raise_engine_error_cause` unwraps the :class:`~anodefree.errors.EngineError`
  (for example a :class:`~anodefree.errors.ModelFileError`) that an engine's validator
  raised and pydantic wrapped into a ``ValidationError``, so that callers can catch the
  specific error.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from anodefree.errors import AnodefreeError
from anodefree.workflows.engines.base import check_model_file, file_sha256

if TYPE_CHECKING:
    from pydantic import ValidationError


@lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:  # noqa: ARG001 (cache key only)
    return file_sha256(Path(path))


def model_file_sha256(path: Path | str, engine: str) -> str:
    """Return the leading 16 hexadecimal characters of a model file's SHA-256.

    The digest is cached per (resolved path, size, modification time), so a file that
    is replaced is hashed again.

    Raises
    ------
    ModelFileError
        If the file is missing or unreadable (naming the path).
    """
    checked = check_model_file(path, engine).resolve()
    stat = checked.stat()
    return _sha256(str(checked), stat.st_size, stat.st_mtime_ns)


def model_file_identity(path: Path | str, engine: str) -> str:
    """Return ``"<file name> sha256:<digest>"``, the model entry of a provenance record."""
    return f"{Path(path).name} sha256:{model_file_sha256(path, engine)}"


def raise_engine_error_cause(exc: ValidationError) -> None:
    """Re-raise the anodefree error behind a pydantic ``ValidationError``, if any.

    pydantic converts a ``ValueError`` raised in a validator (all anodefree errors are
    ``ValueError`` subclasses) into a ``ValidationError``; the original exception is kept
    in the error's context. When exactly one error has such a cause, it is raised again
    so that a caller sees, for example, a :class:`~anodefree.errors.ModelFileError`.
    Otherwise this function returns and the caller re-raises the ``ValidationError``.
    """
    causes = [
        err.get("ctx", {}).get("error")
        for err in exc.errors()
        if isinstance(err.get("ctx", {}).get("error"), AnodefreeError)
    ]
    if len(causes) == 1 and len(exc.errors()) == 1:
        raise causes[0] from None
