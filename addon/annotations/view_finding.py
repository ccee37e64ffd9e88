"""View provider of a Finding (module path saved in files: keep it forever).

A marker coloured by severity and a short label at the finding's location,
drawn on top of the part; reviewed findings turn grey, lost ones hollow.
"""

from __future__ import annotations

from typing import Any

from .overlay import REVIEWED_RGB, SEVERITY_RGB, UNKNOWN_RGB
from .view_common import ViewProviderAnnotation  # noqa: I001


def state_suffix(obj: Any) -> str:
    """' (accepted)', ' (lost)' ...: what the label adds to a finding that is not simply open."""
    text = f" ({obj.Status})" if obj.Status != "open" else ""
    return text + (" (lost)" if obj.Attachment == "lost" else "")


def short_label(obj: Any) -> str:
    """'sharp corner' style label: the rule's short name plus review/lost state (label_layout adds the number)."""
    from .label_layout import short_rule

    return short_rule(obj.Rule) + state_suffix(obj)


class ViewProviderFinding(ViewProviderAnnotation):
    WATCHED = ("Faces", "Attachment", "Location", "Severity", "Rule", "Status", "NullFields")

    def getIcon(self) -> str:  # noqa: N802 - FreeCAD's name
        from .view_common import ICONS

        severity = getattr(getattr(self, "Object", None), "Severity", "error")
        return str(ICONS / f"severity_{severity}.svg")

    def refresh(self) -> None:
        obj = self.Object
        super().refresh()
        rgb = SEVERITY_RGB.get(obj.Severity, UNKNOWN_RGB) if obj.Status == "open" else REVIEWED_RGB
        self.overlay.set_colour(rgb)
        self.overlay.set_marker("hollow" if obj.Attachment == "lost" else "filled")
        self.overlay.set_label(short_label(obj))
        from .label_layout import schedule

        schedule(obj.Document.Name)

    def onDelete(self, vobj: Any, subelements: Any) -> bool:  # noqa: N802 - FreeCAD's name
        from .label_layout import schedule

        schedule(vobj.Object.Document.Name)  # the others renumber and regroup
        return True

    def onChanged(self, vobj: Any, prop: str) -> None:  # noqa: N802
        super().onChanged(vobj, prop)
        if prop == "Visibility" and getattr(self, "overlay", None) is not None:
            from .label_layout import schedule

            schedule(vobj.Object.Document.Name)
