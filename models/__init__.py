"""Mesoscale models that consume exported parameter files."""
