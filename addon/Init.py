# FreeCAD runs this file with exec() at start-up, GUI or not.
# It makes the repository importable as the one package ``freecad_spatial``
# whatever folder name the Addon Manager or the user cloned it into.


def _register_freecad_spatial(hint):
    import importlib.util
    import os
    import sys

    if "freecad_spatial" in sys.modules:
        return
    candidates = []
    if hint:
        candidates += [os.path.dirname(os.path.abspath(hint)), os.path.abspath(hint)]
    candidates += [os.path.abspath(p) for p in sys.path if isinstance(p, str) and p]
    for root in candidates:
        marker = os.path.join(root, "spatial_tools", "registry.py")
        init = os.path.join(root, "__init__.py")
        if os.path.isfile(marker) and os.path.isfile(os.path.join(root, "package.xml")):
            spec = importlib.util.spec_from_file_location(
                "freecad_spatial", init, submodule_search_locations=[root]
            )
            module = importlib.util.module_from_spec(spec)
            sys.modules["freecad_spatial"] = module
            spec.loader.exec_module(module)
            return


try:
    _freecad_spatial_hint = Dir  # a local of FreeCAD's RunInitPy (0.20 and 1.x)
except NameError:
    _freecad_spatial_hint = None
_register_freecad_spatial(_freecad_spatial_hint)
