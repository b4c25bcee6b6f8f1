"""Plots, one module per property family; matplotlib is imported lazily (Agg backend)."""
