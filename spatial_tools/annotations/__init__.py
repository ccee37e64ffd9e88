"""Findings and GD&T as objects of the FreeCAD document, without the GUI.

``signature`` fingerprints faces so an annotation finds them again after a
recompute renumbers them; ``properties`` maps the finding format onto
document properties; ``store`` builds, changes and reads those objects, each
change one undoable transaction; ``report`` turns the findings of a document
back into the report of ``freecad-spatial check``.
"""
