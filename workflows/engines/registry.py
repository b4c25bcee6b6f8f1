"""One registry of calculator engines, keyed by name.

>>> from anodefree.workflows.engines.registry import get_engine
>>> get_engine("chgnet").name
'chgnet'
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from anodefree.errors import EngineError

if TYPE_CHECKING:
    from anodefree.workflows.engines.base import Engine

#: name -> "module:class". Modules import their heavy packages lazily, so listing an
#: engine here never requires it to be installed.
ENGINES: dict[str, str] = {
    "chgnet": "anodefree.workflows.engines.chgnet:CHGNetEngine",
    "sevenn": "anodefree.workflows.engines.sevenn:SevenNetEngine",
    "mace": "anodefree.workflows.engines.mace:MACEEngine",
    "gpaw": "anodefree.workflows.engines.gpaw:GPAWEngine",
    "vasp": "anodefree.workflows.engines.vasp:VaspEngine",
    "morse": "anodefree.workflows.engines.morse:MorseEngine",
}

DEFAULT_ENGINE = "chgnet"


def engine_class(name: str) -> type[Engine]:
    """Return the engine class registered under ``name``.

    Raises
    ------
    EngineError
        If ``name`` is not registered; the message lists the valid names.
    """
    if not isinstance(name, str) or name.lower() not in ENGINES:
        raise EngineError(f"unknown engine {name!r}; valid engines: {', '.join(sorted(ENGINES))}")
    module, cls = ENGINES[name.lower()].split(":")
    return getattr(import_module(module), cls)


def get_engine(name: str | dict[str, Any] | Engine = DEFAULT_ENGINE, **settings: Any) -> Engine:
    """Build an engine from its name and settings.

    Parameters
    ----------
    name
        An engine name (``"chgnet"``), a mapping with a ``name`` key and the settings,
        or an engine object (returned unchanged).
    **settings
        Engine settings, e.g. ``model_path`` for MACE.

    Returns
    -------
    Engine
        The validated engine settings.

    Raises
    ------
    EngineError
        For an unknown name or invalid settings, naming the field and value.
    """
    from anodefree.workflows.engines.base import Engine

    if isinstance(name, Engine):
        return name
    if isinstance(name, dict):
        settings = {**name, **settings}
        name = settings.pop("name", DEFAULT_ENGINE)
    cls = engine_class(name)
    try:
        return cls(name=name.lower(), **settings)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or 'settings'}: "
            + err["msg"].removeprefix("Value error, ")
            + (f" (got {err['input']!r})" if "input" in err and err["loc"] else "")
            for err in exc.errors()
        )
        raise EngineError(f"engine {name!r}: {problems}") from exc


def available_engines() -> list[str]:
    """Return the registered engine names."""
    return sorted(ENGINES)
