"""Typed result documents, energetics formulas, queries, reports, plots and exports."""
