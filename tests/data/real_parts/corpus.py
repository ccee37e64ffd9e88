"""The real-parts corpus as the test and the bench use it: each part opened or built, checked, scored.

Import with this folder on sys.path (the test and bench/findings_precision.py do).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from freecad_spatial.spatial_tools import freecad_env
from freecad_spatial.spatial_tools.dfm.expectations import (
    PartScore,
    PartSpec,
    document_lookup,
    load_corpus,
    score_part,
)

HERE = Path(__file__).resolve().parent


def specs(suite_only: bool = False) -> list[PartSpec]:
    """Every part of the corpus (only those fast enough for the test suite with ``suite_only``)."""
    return [s for s in load_corpus(HERE) if s.suite or not suite_only]


def open_part(spec: PartSpec) -> Any:
    """A new document holding the part: built by parts.py, or read like ``freecad-spatial check`` reads a STEP."""
    app = freecad_env.load()
    if spec.step is not None:
        from freecad_spatial.spatial_tools.documents import open_document

        return open_document(spec.step)
    import parts

    doc = app.newDocument(spec.name)
    obj = doc.addObject("Part::Feature", spec.name)
    obj.Shape = parts.BUILDERS[spec.build]()
    doc.recompute()
    return doc


PMI_TIMEOUT = 300.0  # s: the PMI reader's deadline (check's own default is shorter on a loaded machine)


class PmiNotRead(RuntimeError):
    """A STEP part's PMI could not be imported: its gdt.* findings would be judged on nothing."""


def check_part(spec: PartSpec) -> tuple[PartScore, list, float]:
    """The part's findings scored against its expectations, the findings, and the check's seconds.

    Checked as ``freecad-spatial check`` checks a file (check/batch.py ``check_file``): a STEP part's
    AP242 PMI is imported first and the gdt.* findings are added to the DFM findings.
    """
    from freecad_spatial.spatial_tools.dfm.engine import check_document
    from freecad_spatial.spatial_tools.gdt.validation import gdt_findings

    app = freecad_env.load()
    doc = open_part(spec)
    try:
        started = time.perf_counter()
        if spec.step is not None:
            from freecad_spatial.spatial_tools.gdt.pmi_import import import_pmi_for_check

            notes = import_pmi_for_check(doc, spec.step, PMI_TIMEOUT)
            failed = [n["reason"] for n in notes if str(n.get("reason", "")).startswith("PMI not imported:")]
            if failed:
                raise PmiNotRead(f"{spec.name}: {'; '.join(failed)}")
        findings = check_document(doc, spec.process).findings + gdt_findings(doc)
        seconds = time.perf_counter() - started
        return score_part(spec, findings, document_lookup(doc)), findings, seconds
    finally:
        app.closeDocument(doc.Name)
