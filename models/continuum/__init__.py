"""Continuum model of current constriction at a stripping Li island (after Sandoval et al.).

A 2D electrolyte domain carries the applied stripping current on its top surface; the Li
island covers part of the bottom surface and exchanges current by Butler-Volmer kinetics,
the rest of the bottom and the sides are insulated. The model reads only a continuum
parameter file (:mod:`anodefree.analysis.exports.continuum`).

Modules: :mod:`.kinetics` (Butler-Volmer), :mod:`.mesh` (graded meshes), :mod:`.solver`
(finite elements, boundary Newton), :mod:`.sweep` (overpotential maps, onset crossings,
interdiffusion lengths), :mod:`.results` (typed result documents), :mod:`.command` (the
``anodefree continuum`` command).
"""
