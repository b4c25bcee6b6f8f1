"""MSON serialisation for the pydantic settings objects that live inside Makers.

jobflow's FireWorks adapter serialises Makers with ``as_dict``; pydantic models without
it would be turned into strings. :class:`MSONModel` gives them the monty protocol so they
round-trip through FireWorks, jobflow-remote and the stores alike.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel


class MSONModel(BaseModel):
    """A pydantic model with monty's ``as_dict``/``from_dict``."""

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict with ``@module``/``@class`` for monty decoding."""
        return {
            "@module": type(self).__module__,
            "@class": type(self).__name__,
            **self.model_dump(mode="json"),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild the model from :meth:`as_dict` output."""
        return cls.model_validate({k: v for k, v in data.items() if not k.startswith("@")})
