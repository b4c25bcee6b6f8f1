"""Versioned, typed parameter files handed to the mesoscale models."""
