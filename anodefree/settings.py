"""User settings: where data lives and how to reach MongoDB.

Settings come from, in increasing priority: defaults, a YAML settings file
(``$ANODEFREE_SETTINGS`` or ``~/.config/anodefree/settings.yaml``), and environment
variables ``ANODEFREE_DATA_DIR``, ``ANODEFREE_MONGODB_URI`` and
``ANODEFREE_MONGODB_DATABASE``. The MongoDB URI is a secret: it is never printed,
logged or written into a document (see :func:`redact_uri`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from anodefree.errors import ConfigError

SETTINGS_ENV = "ANODEFREE_SETTINGS"
URI_ENV = "ANODEFREE_MONGODB_URI"
DEFAULT_SETTINGS_FILE = Path("~/.config/anodefree/settings.yaml")


class Settings(BaseModel):
    """Machine-wide settings (not part of a campaign)."""

    model_config = ConfigDict(extra="forbid")

    data_dir: Path = Field(
        Path("data"), description="Folder of the embedded store and run folders."
    )
    mongodb_uri: SecretStr | None = Field(
        None, description="MongoDB connection string; when set, results go to MongoDB."
    )
    mongodb_database: str = Field("anodefree", description="MongoDB database name.")


def redact_uri(uri: str) -> str:
    """Hide the password of a MongoDB URI: ``mongodb://user:***@host/db``."""
    return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", uri)


def settings_file() -> Path:
    """Return the settings file in use (it may not exist)."""
    return Path(os.environ.get(SETTINGS_ENV, DEFAULT_SETTINGS_FILE)).expanduser()


def load_settings(path: Path | str | None = None) -> Settings:
    """Load settings from the file and the environment.

    Parameters
    ----------
    path
        Settings file; defaults to :func:`settings_file`.

    Raises
    ------
    ConfigError
        If the file is not valid YAML or has unknown or invalid fields (named).
    """
    path = Path(path).expanduser() if path else settings_file()
    values: dict[str, object] = {}
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"settings file {str(path)!r} is not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"settings file {str(path)!r} must hold a mapping")
        values.update(loaded)
    env = {
        "data_dir": os.environ.get("ANODEFREE_DATA_DIR"),
        "mongodb_uri": os.environ.get(URI_ENV),
        "mongodb_database": os.environ.get("ANODEFREE_MONGODB_DATABASE"),
    }
    values.update({k: v for k, v in env.items() if v})
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"settings ({path}): {problems}") from exc
