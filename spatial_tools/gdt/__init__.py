"""GD&T exchange: semantic PMI read from STEP AP242 into our annotation records.

``pmi_reader`` runs in its own process on the ``cadquery-ocp`` bindings
(FreeCAD 0.20's Python cannot reach OpenCASCADE's XDE GD&T tables, and two
OpenCASCADE builds must never share a process); ``pmi_import`` runs it, maps
the faces it names onto FreeCAD's faces by geometry and makes the document
objects; ``nist_groundtruth`` parses NIST's expected-PMI list for the bench.
"""
