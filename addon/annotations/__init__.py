"""Document objects FreeCAD restores by module path: annotation proxies and their view providers.

These module paths are written into saved files: never rename or move them.
The logic lives in ``spatial_tools.annotations``; the proxies only delegate.
"""

# kind -> module of its proxy (each module has ``create(document, name)``).
PROXY_MODULES = {
    "Finding": "freecad_spatial.addon.annotations.finding",
    "DatumFeature": "freecad_spatial.addon.annotations.datum_feature",
    "DatumReferenceFrame": "freecad_spatial.addon.annotations.datum_reference_frame",
    "FeatureControlFrame": "freecad_spatial.addon.annotations.feature_control_frame",
    "SizeDimension": "freecad_spatial.addon.annotations.size_dimension",
}
