"""Exceptions raised by anodefree.

Every error names the value that caused it, so that a user can fix the input without
reading the source. All of them derive from :class:`AnodefreeError` and from the builtin
exception a caller would naturally catch (``ValueError``, ``FileNotFoundError``).
"""

from __future__ import annotations


class AnodefreeError(Exception):
    """Base class of every error raised on purpose by anodefree."""


class ConfigError(AnodefreeError, ValueError):
    """A campaign configuration or settings file is malformed."""


class EngineError(AnodefreeError, ValueError):
    """A calculator engine is unknown, misconfigured or not installed."""


class ModelFileError(EngineError, FileNotFoundError):
    """A machine-learned potential's model file is missing or unreadable."""


class StructureError(AnodefreeError, ValueError):
    """A structure request is impossible (unknown element, bad Miller index, ...)."""


class MixedCalculatorError(AnodefreeError, ValueError):
    """Energies from different calculators or settings were combined in one quantity."""


class StoreError(AnodefreeError, RuntimeError):
    """A results store cannot be opened or queried."""
