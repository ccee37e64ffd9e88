"""Headless chat logic: reference links in Markdown, and the conversation kept in the document."""

from __future__ import annotations

from conftest import FreeCAD, Part

from freecad_spatial.spatial_tools.backends.base import Message, ToolCall
from freecad_spatial.spatial_tools.chat.conversation import (
    META_KEY,
    Conversation,
    Entry,
    load_from_document,
    save_to_document,
)
from freecad_spatial.spatial_tools.chat.links import linkify, parse_link
from freecad_spatial.spatial_tools.chat.trace_view import TraceItem


def test_linkify_marks_refs_and_findings_but_not_code_blocks_or_links():
    text = "See `Plate.Face7`, Body.Pad.Edge2 and finding #3.\n```\nPlate.Face1\n```\n[x](http://a/Plate.Face2)"
    out = linkify(text)
    assert "[`Plate.Face7`](ref:Plate.Face7)" in out and "[Body.Pad.Edge2](ref:Body.Pad.Edge2)" in out
    assert "[finding #3](finding:3)" in out
    assert "\nPlate.Face1\n" in out and "[x](http://a/Plate.Face2)" in out
    assert linkify("`x = 1` and Face0 and a.Face01x") == "`x = 1` and Face0 and a.Face01x"
    assert parse_link("ref:Plate.Face7") == ("ref", "Plate.Face7") and parse_link("finding:2") == ("finding", 2)
    assert parse_link("http://x") is None and parse_link("ref:nope") is None


def test_conversation_survives_save_and_reopen(tmp_path):
    doc = FreeCAD.newDocument("ChatKeep")
    doc.addObject("Part::Feature", "A").Shape = Part.makeBox(1, 1, 1)
    conv = Conversation()
    conv.entries += [Entry("user", "How wide?"),
                     Entry("assistant", "80 mm", trace=[TraceItem("c1", "tool", "measure_distance", "{}", output="80", ok=True, ms=3.0)],
                           findings=conv.add_findings([{"rule": "a.b", "severity": "info", "message": "m"}]))]
    conv.messages += [Message("user", "How wide?"),
                      Message("assistant", "", tool_calls=[ToolCall("c1", "measure_distance", {"a": "A"}, "{}")]),
                      Message("tool", "80", tool_call_id="c1")]
    save_to_document(doc, conv)
    path = tmp_path / "keep.FCStd"
    doc.saveAs(str(path))
    FreeCAD.closeDocument(doc.Name)
    reopened = FreeCAD.openDocument(str(path))
    try:
        back = load_from_document(reopened)
        assert back.to_dict() == conv.to_dict()
        assert back.finding(1)["rule"] == "a.b" and back.messages[1].tool_calls[0].arguments == {"a": "A"}
    finally:
        FreeCAD.closeDocument(reopened.Name)


def test_a_long_conversation_keeps_the_newest_and_a_broken_one_reads_empty():
    conv = Conversation(entries=[Entry("user", "x" * 1000) for _ in range(50)],
                        messages=[Message("user", "x" * 1000) for _ in range(50)])
    text = conv.dumps(max_chars=10_000)
    assert len(text) <= 10_000
    assert Conversation.from_dict(__import__("json").loads(text)).entries

    class Doc:
        Meta = {META_KEY: "{not json"}

    assert load_from_document(Doc()).entries == []


def test_the_trace_keeps_a_result_in_full_up_to_the_configured_limit():
    import json
    import tomllib
    from types import SimpleNamespace as Step

    from freecad_spatial import RESOURCES
    from freecad_spatial.spatial_tools.chat.trace_view import TraceBuilder, detail_chars, pretty

    with open(RESOURCES / "chat.toml", "rb") as fh:
        assert detail_chars() == tomllib.load(fh)["trace"]["detail_chars"]
    builder = TraceBuilder()
    content = json.dumps({"features": [{"id": i, "kind": "hole", "diameter": 6.6} for i in range(40)]})
    builder.add(Step(kind="action", tool="find_features", call_id="c1", arguments={"object": "A"}, raw_arguments=""))
    item = builder.add(Step(kind="observation", call_id="c1", ok=True, ms=3.0, content=content))
    assert 400 < len(content) < detail_chars() and item.output == content  # no summary cut
    assert json.loads(pretty(item.output)) == json.loads(content) and pretty(item.output).count("\n") > 40
    huge = "x" * (detail_chars() + 50)
    builder.add(Step(kind="action", tool="find_features", call_id="c2", arguments={"object": "A"}, raw_arguments=""))
    item = builder.add(Step(kind="observation", call_id="c2", ok=True, ms=3.0, content=huge))
    assert item.output == "x" * detail_chars() + "… (50 more characters not kept)"
    assert pretty("not json") == "not json" and pretty("3") == "3"
