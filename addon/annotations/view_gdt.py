"""View providers of the GD&T objects (module path saved in files: keep it forever).

A feature control frame is drawn as its frame (symbol, zone with Ø and
modifiers, datums, each in its box), a datum as its letter in a box, a size
dimension as its text; each at the centre of its faces, on top of the part.
"""

from __future__ import annotations

from freecad_spatial.spatial_tools.annotations.frame_text import frame_text, size_text

from .view_common import ViewProviderAnnotation

INK = (0.08, 0.10, 0.12)


class _GdtView(ViewProviderAnnotation):
    WHERE = "middle"  # where the picture sits against the anchor: above, middle, below
    def lines(self) -> list[str]:
        return [self.Object.Label]

    def refresh(self) -> None:
        super().refresh()
        self.overlay.set_colour(INK)
        self.overlay.set_marker("triangle" if self.Object.SpatialType == "DatumFeature" else "filled")
        self.overlay.set_picture(self.lines(), where=self.WHERE)


class ViewProviderDatumFeature(_GdtView):
    ICON = "datum.svg"
    WATCHED = ("Faces", "Attachment", "Letter")

    def lines(self) -> list[str]:
        return [f"|{self.Object.Letter}|"]

    def refresh(self) -> None:
        super().refresh()
        # A datum reference frame naming this letter sits at this datum: it follows.
        for obj in self.Object.Document.Objects:
            if getattr(obj, "SpatialType", None) == "DatumReferenceFrame" and "Primary" in obj.PropertiesList:
                view = getattr(getattr(obj, "ViewObject", None), "Proxy", None)
                if isinstance(view, ViewProviderDatumReferenceFrame) and getattr(view, "overlay", None) is not None:
                    view.refresh()


def primary_datum(drf: object) -> object | None:
    """The datum feature whose letter is the frame's primary datum (None when there is none yet)."""
    letter = getattr(drf, "Primary", "")
    for obj in drf.Document.Objects:  # type: ignore[attr-defined]
        if getattr(obj, "SpatialType", None) == "DatumFeature" and letter and obj.Letter == letter:
            return obj
    return None


class ViewProviderDatumReferenceFrame(_GdtView):
    """A DRF has no faces of its own: it is drawn just below its primary datum's box, without a marker,
    and hidden while no datum feature carries its primary letter (never at the origin)."""

    ICON = "datum.svg"
    WHERE = "below"
    WATCHED = ("Primary", "Secondary", "Tertiary", "PrimaryModifier", "SecondaryModifier", "TertiaryModifier")

    def refresh(self) -> None:
        from .view_common import anchor

        datum = primary_datum(self.Object)
        self.anchor_point = anchor(datum) if datum is not None else None
        self.overlay.show(datum is not None)
        if datum is None:
            return
        self.overlay.place(self.anchor_point)
        self.overlay.set_colour(INK)
        self.overlay.set_marker("none")
        # The datum's box is centred on the same point: start below it (half its height and a gap).
        self.overlay.set_picture(self.lines(), where=self.WHERE, top_gap=18)

    def lines(self) -> list[str]:
        obj = self.Object
        cells = []
        for slot in ("Primary", "Secondary", "Tertiary"):
            letter = getattr(obj, slot)
            if letter:
                mod = getattr(obj, f"{slot}Modifier")
                cells.append(letter + ({"MMC": "Ⓜ", "LMC": "Ⓛ"}.get(mod, "")))
        return ["|DRF|" + "|".join(cells) + "|"] if cells else ["|DRF|"]


class ViewProviderFeatureControlFrame(_GdtView):
    ICON = "feature_control_frame.svg"
    WHERE = "above"
    WATCHED = ("Faces", "Attachment", "Characteristic", "Zone", "DiameterZone", "MaterialModifier", "Modifiers", "DatumReferences")

    def lines(self) -> list[str]:
        return [frame_text(self.Object)]


class ViewProviderSizeDimension(_GdtView):
    ICON = "size_dimension.svg"
    WHERE = "below"  # a frame on the same face sits above the anchor
    WATCHED = ("Faces", "Attachment", "Nominal", "UpperDeviation", "LowerDeviation", "FitCode")

    def lines(self) -> list[str]:
        return [size_text(self.Object)]


VIEW_PROVIDERS = {
    "DatumFeature": ViewProviderDatumFeature,
    "DatumReferenceFrame": ViewProviderDatumReferenceFrame,
    "FeatureControlFrame": ViewProviderFeatureControlFrame,
    "SizeDimension": ViewProviderSizeDimension,
}
