"""Adapters that turn property documents into rows of :mod:`anodefree.analysis.queries`.

One module per document family, each registering its adapter with
:func:`anodefree.analysis.queries.register_family`; every module here is imported when a
table is first built.
"""
