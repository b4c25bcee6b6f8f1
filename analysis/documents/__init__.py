"""Typed result documents (pydantic), one module per property family."""
