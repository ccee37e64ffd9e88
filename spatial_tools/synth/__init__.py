"""``freecad-spatial synth``: exactly labelled spatial training data from parametric CAD families.

Each sample is built by a FreeCAD script, written as STEP, read back as a user would open it, rendered
with an id map, encoded, and asked questions whose answers come from the registry's tools (kernel,
feature finder, GD&T suggester, tolerance engine), never from the generator's own parameters.
"""
