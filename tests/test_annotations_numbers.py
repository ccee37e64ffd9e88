"""Finding numbers are identities: kept through review, re-checks, save and reopen; titles in the tree."""

from __future__ import annotations

from conftest import FreeCAD
from test_annotations import cut_part

from freecad_spatial.spatial_tools.annotations import store
from freecad_spatial.spatial_tools.annotations.report import document_report
from freecad_spatial.spatial_tools.dfm.finding import Finding


def findings(n: int) -> list[Finding]:
    return [Finding(rule="cnc.thin_wall", severity="error" if i % 2 else "warning", message=f"wall {i} is thin",
                    object="Part", elements=(f"Face{i + 1}",), measured=0.4 + i / 10, limit=1.0, unit="mm")
            for i in range(n)]


def numbers_by_message(doc) -> dict[str, int]:
    held = store.read_findings(doc)
    numbers = store.finding_numbers(held)
    return {h.finding.message: numbers[h.name] for h in held}


def test_waiving_accepting_and_reopening_never_renumber(doc):
    cut_part(doc)
    store.add_findings(doc, findings(6))
    before = numbers_by_message(doc)
    assert sorted(before.values()) == [1, 2, 3, 4, 5, 6]
    first = next(h.name for h in store.read_findings(doc) if before[h.finding.message] == 1)
    store.set_status(doc, [first], "waived", "deburred by hand")
    assert numbers_by_message(doc) == before  # the waived #1 stays #1 (it used to become #6)
    store.set_status(doc, [first], "open")
    assert numbers_by_message(doc) == before


def test_a_re_check_keeps_the_number_of_a_finding_found_again(doc):
    cut_part(doc)
    store.add_findings(doc, findings(4))
    before = numbers_by_message(doc)
    waived = next(h.name for h in store.read_findings(doc) if before[h.finding.message] == 2)
    store.set_status(doc, [waived], "waived", "ok")
    store.add_findings(doc, findings(5))  # the same four again (one of them waived, kept) and a new one
    after = numbers_by_message(doc)
    assert {m: after[m] for m in before} == before
    assert after["wall 4 is thin"] == 5


def test_numbers_and_titles_survive_save_and_reopen_and_label_the_tree(tmp_path):
    doc = FreeCAD.newDocument("Numbered")
    cut_part(doc)
    made = store.add_findings(doc, findings(3))
    assert [o.Label.split(" · ")[0] for o in made] == ["1", "2", "3"]
    assert made[0].Label == "1 · Wall 0.4 mm thick — thinner than 1 mm to machine"  # a title, not a rule id
    store.set_status(doc, [made[0].Name], "waived", "fine")
    expected = numbers_by_message(doc)
    path = tmp_path / "numbered.FCStd"
    doc.saveAs(str(path))
    FreeCAD.closeDocument(doc.Name)
    again = FreeCAD.openDocument(str(path))
    try:
        assert {h.finding.message: h.number for h in store.read_findings(again)} == expected
        assert numbers_by_message(again) == expected
    finally:
        FreeCAD.closeDocument(again.Name)


def test_findings_of_an_older_file_without_numbers_are_numbered_after_the_others(doc):
    cut_part(doc)
    made = store.add_findings(doc, findings(3))
    made[0].Number = 0  # as a file from before numbers reads
    numbers = store.finding_numbers(store.read_findings(doc))
    assert numbers[made[1].Name] == 2 and numbers[made[2].Name] == 3 and numbers[made[0].Name] == 4


def test_the_document_report_carries_the_same_numbers(doc):
    cut_part(doc)
    made = store.add_findings(doc, findings(3))
    store.set_status(doc, [made[0].Name], "accepted")
    (file,) = document_report(doc).files
    assert file.numbers == [2, 3]  # the open ones, under the numbers the dock and markers show
