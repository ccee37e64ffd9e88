"""Tolerance arithmetic without a document: ISO 286 fits, ISO 2768 general tolerances, stack-ups.

Pure computation over data tables in ``resources/iso286`` and
``resources/iso2768``; the registry tools in ``spatial_tools/tools`` wrap it.
Imports neither FreeCAD nor Qt.
"""
