"""What a PMI import brought in and what it skipped, for people and for programs.

One form for the CLI's JSON, the model tool's result, the GUI's summary
dialog and the check report, so that every one of them lists every skipped
item with its reason (issue 20: nothing silent).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

KIND_NAMES = {
    "datum": "datum features",
    "datum_target": "datum targets",
    "datum_system": "datum reference frames",
    "tolerance": "feature control frames",
    "dimension": "dimensions",
}


def public_summary(summary: dict) -> dict:
    """The import's result without the raw reader records: JSON-safe, stable keys (tools.md `pmi`)."""
    created = summary["created"]
    return {
        "file": Path(summary["file"]).name,
        "target": summary["target"],
        "file_length_unit": summary["file_length_unit"],
        "standard": summary.get("standard"),
        "standard_stated": bool(summary.get("standard_stated")),
        "imported": {kind: len(names) for kind, names in created.items()},
        "items": summary.get("imported", []),
        "skipped": [{"kind": s["kind"], "what": s["what"], "reason": s["reason"]} for s in summary["skipped"]],
        "skipped_by_kind": summary.get("skipped_by_kind", {}),
        "notes_attached": list(summary.get("notes_attached", [])),
        "unlinked": [i for i in summary.get("imported", []) if i.get("unmatched_faces")],
        "faces_not_mapped": [{"reason": u["reason"], "surface": u["signature"].get("surface")} for u in summary["unmatched_faces"]],
        "warnings": list(summary.get("warnings", [])),
    }


def summary_lines(summary: dict) -> list[str]:
    """The summary as lines a user reads: counts, then every skipped item with its reason."""
    data = public_summary(summary)
    lines = [f"{data['file']}: PMI imported onto {data['target']} (values in mm; the file is in {data['file_length_unit']}; "
             f"frames follow {data['standard']}{'' if data['standard_stated'] else ', which the file does not name'})"]
    for kind, count in data["imported"].items():
        if count:
            lines.append(f"  {count:4d} {KIND_NAMES.get(kind, kind)}")
    if not any(data["imported"].values()):
        lines.append("  the file holds no semantic PMI")
    if data["unlinked"]:
        lines.append(f"  {len(data['unlinked'])} imported without all their faces linked:")
        lines += [f"    {i['what']} ({i['object']})" for i in data["unlinked"]]
    if data["notes_attached"]:
        lines.append(f"  {len(data['notes_attached'])} note(s) added to their frame:")
        lines += [f"    {n['what']} -> {n['to']}" for n in data["notes_attached"]]
    inferred = [i for i in data["items"] if i.get("inferred")]
    if inferred:
        lines.append(f"  {len(inferred)} linked by inference (the file names no face for them):")
        lines += [f"    {i['what']} ({i['object']}): {i['inferred']}" for i in inferred]
    read_elsewhere = [i for i in data["items"] if i.get("movable")]
    if read_elsewhere:
        lines.append(f"  {len(read_elsewhere)} movable datum target(s):")
        lines += [f"    {i['what']} ({i['object']}): {i['movable']}" for i in read_elsewhere]
    if data["skipped"]:
        lines.append(f"  {len(data['skipped'])} skipped:")
        lines += [f"    {s['what']}: {s['reason']}" for s in data["skipped"]]
    else:
        lines.append("  nothing skipped")
    lines += [f"  warning: {w}" for w in data["warnings"]]
    return lines


def check_notes(summary: dict) -> list[dict]:
    """Entries for a check report's ``skipped`` list: one per PMI item not imported or not linked."""
    notes = [{"rule": "pmi.import", "object": summary["target"], "reason": f"PMI item not imported: {s['what']}: {s['reason']}"} for s in summary["skipped"]]
    for item in summary.get("imported", []):
        if item.get("unmatched_faces"):
            notes.append({"rule": "pmi.import", "object": summary["target"], "reason": f"PMI item imported without all its faces: {item['what']}"})
    return notes


def step_has_pmi(path: str | Path) -> bool:
    """Whether a STEP file carries semantic PMI (AP242 tolerances, datums or dimensions), from its text."""
    p = Path(path)
    if p.suffix.lower() not in (".step", ".stp"):
        return False
    markers = (b"GEOMETRIC_TOLERANCE", b"DATUM(", b"DIMENSIONAL_SIZE", b"DIMENSIONAL_LOCATION", b"_TOLERANCE(")
    with open(p, "rb") as handle:
        while chunk := handle.read(4 << 20):
            if any(m in chunk for m in markers):
                return True
    return False


def summary_title(data: Any) -> str:
    """'12 frames, 5 datums, 3 skipped': the summary in a few words."""
    imported = data["imported"]
    parts = [f"{n} {KIND_NAMES.get(k, k)}" for k, n in imported.items() if n]
    return ", ".join(parts or ["nothing imported"]) + f"; {len(data['skipped'])} skipped"
