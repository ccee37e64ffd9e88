"""``freecad-spatial eval``: scoring, intervals, generated suites with kernel answers, the reference
agent through the real tools, and model modes through the real backends against the protocol test
servers (scripted right and wrong answers; failures recorded per item; resume; Ctrl-C)."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from itertools import islice

import pytest
from conftest import REPO, FreeCAD  # noqa: F401 - FreeCAD loaded for the generators
from key_leak import TEST_API_KEY

from freecad_spatial.spatial_tools import cli
from freecad_spatial.spatial_tools.eval import cli as eval_cli
from freecad_spatial.spatial_tools.eval.builder import Builder, BuildError
from freecad_spatial.spatial_tools.eval.cadquery_source import cadquery_python
from freecad_spatial.spatial_tools.eval.generators import _measure_questions, generate, templates
from freecad_spatial.spatial_tools.eval.items import Item, read_items, write_items
from freecad_spatial.spatial_tools.eval.model_modes import ModelConfig
from freecad_spatial.spatial_tools.eval.report import summarise
from freecad_spatial.spatial_tools.eval.results import read_results
from freecad_spatial.spatial_tools.eval.runner import run
from freecad_spatial.spatial_tools.eval.scoring import score
from freecad_spatial.spatial_tools.eval.sources import (
    housing_script,
    plate_script,
    run_freecad_script,
    run_freecad_source,
)
from freecad_spatial.spatial_tools.eval.stats import Z95, wilson
from freecad_spatial.spatial_tools.eval.suites import load, shipped_file
from freecad_spatial.spatial_tools.protocol_servers import ProtocolServer


@pytest.fixture(autouse=True)
def environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FREECAD_SPATIAL_OPENAI_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("FREECAD_SPATIAL_ANTHROPIC_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("FREECAD_SPATIAL_AUDIT_LOG", str(tmp_path / "audit.jsonl"))


def item(answer, kind="number", unit="mm", tolerance=None, choices=()):
    return Item(id="t", suite="t", source={"freecad": ""}, question="q", answer=answer, type=kind, unit=unit,
                tolerance=tolerance if tolerance is not None else {"abs": 0.01}, choices=list(choices))


# --- scoring and intervals ---------------------------------------------------------------------


def test_numbers_are_the_last_number_with_its_unit_converted():
    assert score(item(25.4), "About 1 in, i.e. ANSWER: 2.54 cm").correct
    assert score(item(25.4), "Either 3 mm or 1 in").correct
    assert not score(item(25.4), "ANSWER: 25.5 mm").correct
    assert score(item(1000.0, unit="mm3", tolerance={"rel": 0.001}), "volume: 1 cm³").correct
    assert score(item(30.0, unit="deg", tolerance={"abs": 0.1}), "ANSWER: 0.5236 rad").correct
    assert score(item(2.0), "I cannot tell").parsed is None


def test_counts_booleans_choices_refs_and_lists():
    assert score(item(3, "integer"), "I see three holes.").correct
    assert not score(item(3, "integer"), "ANSWER: 4").correct
    assert score(item(False, "boolean"), "Yes it looks through at first, but no. ANSWER: no").correct
    assert score(item("above", "choice", choices=["above", "below", "inside"]), "It is above.").correct
    assert score(item(["Part.Face3", "Part.Face7"], "ref"), "ANSWER: part.face7, Part.Face3").correct
    assert not score(item(["Part.Face3"], "ref"), "ANSWER: Part.Face3 and Part.Face4").correct
    assert score(item(["a", "b"], "list"), "ANSWER: B; a").correct


def test_benchcad_ratio_rule_scores_min_over_max():
    s = score(item(10.0, tolerance={"rule": "ratio"}), "ANSWER: 8 mm")
    assert s.score == pytest.approx(0.8) and not s.correct


def test_wilson_interval_matches_its_closed_form():
    n = 10
    assert wilson(0, n) == (0.0, pytest.approx(Z95 ** 2 / (n + Z95 ** 2)))
    assert wilson(n, n) == (pytest.approx(n / (n + Z95 ** 2)), 1.0)
    low, high = wilson(5, 10)
    half = Z95 * math.sqrt(0.25 / 10 + Z95 ** 2 / 400) / (1 + Z95 ** 2 / 10)
    assert (low, high) == (pytest.approx(0.5 - half), pytest.approx(0.5 + half))


# --- suites ------------------------------------------------------------------------------------


def test_kernel_answers_of_a_constructed_plate():
    """Measure answers read back by the kernel equal the values the plate was constructed with."""
    p = {"W": 100.0, "D": 60.0, "T": 12.0, "slots": [],
         "holes": [{"x": 20.0, "y": 10.0, "d": 6.0, "through": True},
                   {"x": 50.0, "y": 50.0, "d": 4.0, "through": False, "depth": 5.0}],
         "pockets": [{"x": 70.0, "y": 30.0, "w": 16.0, "l": 10.0, "depth": 4.0}],
         "bevel": {"leg": 6.0, "angle": 30.0}}
    shape = run_freecad_script(plate_script(p))
    q = _measure_questions(p, shape)
    rise = 6.0 * math.tan(math.radians(30))
    volume = 100 * 60 * 12 - math.pi * 9 * 12 - math.pi * 4 * 5 - 16 * 10 * 4 - 0.5 * 6 * rise * 60
    assert q["volume"][1] == pytest.approx(volume, rel=1e-9)
    assert q["hole_axis_distance"] == ({"d1": 4.0, "d2": 6.0}, pytest.approx(math.hypot(30, 40)))
    assert q["hole_to_side"][1] in (pytest.approx(10.0), pytest.approx(50.0))
    assert q["pocket_side_wall"][1] == pytest.approx(100 - 78)
    assert q["pocket_floor"][1] == pytest.approx(12 - 4)
    assert q["bevel_angle"][1] == pytest.approx(30.0)
    assert q["extent"][1] == pytest.approx({"X": 100, "Y": 60, "Z": 12}[q["extent"][0]["axis"]])


def test_stack_up_answers_of_a_constructed_housing():
    """Gap of 3 blocks (20, 25, 30 mm) in a 76 mm housing, ISO 2768-m: ±0.3 on 76, ±0.2 on each block."""
    p = {"w": 8.0, "depth": 30.0, "H": 40.0, "block_h": 20.0, "blocks": [20.0, 25.0, 30.0], "S": 76.0, "class": "m"}
    parts, meta = run_freecad_source(housing_script(p))
    assert meta == {"GeneralTolerance": "ISO 2768-mK"} and sorted(parts) == ["Block1", "Block2", "Block3", "Housing"]
    items = {i.template: i for i in islice(load("tolerance-chains"), 0, 28) if len(i.params["via"]) == 6}
    assert set(items) == {"worst_min", "worst_max", "rss_min", "rss_max"}
    doc_answer = {"worst_min": 1 - 0.9, "worst_max": 1 + 0.9, "rss_min": 1 - math.sqrt(0.21), "rss_max": 1 + math.sqrt(0.21)}
    from freecad_spatial.spatial_tools.eval.generators import _face_index
    from freecad_spatial.spatial_tools.tolerances.iso2768 import general_tolerance
    from freecad_spatial.spatial_tools.tolerances.stackup import Contributor, stack_up

    housing = parts["Housing"]
    span = housing.Faces[_face_index(housing, 84.0, -1) - 1].distToShape(housing.Faces[_face_index(housing, 8.0, 1) - 1])[0]
    tol = [general_tolerance(v, "ISO 2768-mK").tolerance for v in (span, 20, 25, 30)]
    assert span == pytest.approx(76.0) and tol == [0.3, 0.2, 0.2, 0.2]
    result = stack_up([Contributor("H", span, tol[0], tol[0], 1.0)]
                      + [Contributor(f"B{k}", v, t, t, -1.0) for k, (v, t) in enumerate(zip((20, 25, 30), tol[1:], strict=True))],
                      ["worst_case", "rss"])
    for template, expected in doc_answer.items():
        method, end = template.split("_")
        assert result["worst_case" if method == "worst" else "rss"][end] == pytest.approx(expected)


@pytest.mark.parametrize("suite", ["primitives", "measure", "relations", "dfm", "tolerance-chains"])
def test_shipped_suite_is_what_the_seeded_generator_writes(suite):
    shipped = list(read_items(shipped_file(suite)))
    assert len(shipped) >= 200 and len({i.id for i in shipped}) == len(shipped)
    assert [i.to_dict() for i in generate(suite, 4)] == [i.to_dict() for i in shipped[:4]]
    assert {i.template for i in shipped} == set(templates()[suite])  # every kind of question is there


def test_suites_command_lists_counts(capsys):
    assert cli.EXTRA_COMMANDS["eval"] == (eval_cli.configure, eval_cli.run)
    assert cli.main(["eval", "suites", "--json"]) == 0
    rows = {r["suite"]: r["items"] for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"primitives", "measure", "relations", "dfm", "tolerance-chains"}
    assert all(count >= 200 for count in rows.values())


# --- the reference agent -----------------------------------------------------------------------


def test_reference_mode_answers_through_the_tools(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    assert cli.main(["eval", "run", "primitives", "measure", "tolerance-chains", "--mode", "reference",
                     "--limit", "30", "--quiet", "--out", str(out)]) == 0
    results = read_results(out)
    assert len(results) == 90
    for suite in ("primitives", "measure", "tolerance-chains"):
        mine = [r for r in results if r.suite == suite]
        assert sum(r.correct for r in mine) / len(mine) >= 0.99, [r for r in mine if not r.correct]
        assert all(r.tool_calls for r in mine)  # answered by tool calls, never from the key
    assert cli.main(["eval", "report", str(out), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert {(r["suite"], r["mode"], r["accuracy"]) for r in rows} >= {("primitives", "reference", 1.0)}


def test_reference_is_not_told_the_answer(tmp_path):
    """A wrong answer key is caught: the reference answers from the part, so it disagrees."""
    good = next(i for i in load("primitives", 20) if i.template == "count_through_holes")
    wrong = Item(**{**good.to_dict(), "id": "wrong-key", "answer": good.answer + 1})
    suite = tmp_path / "s.jsonl"
    write_items(suite, [good, wrong])
    run(read_items(suite), ["reference"], tmp_path / "r.jsonl", progress=False)
    assert [r.correct for r in read_results(tmp_path / "r.jsonl")] == [True, False]


# --- the builder -------------------------------------------------------------------------------


def test_builder_stops_a_looping_source_and_an_allocating_one_and_goes_on(tmp_path):
    builder = Builder(tmp_path, time_s=3, memory_mib=3072)
    try:
        start = time.monotonic()
        with pytest.raises(BuildError, match="longer than 3 s"):
            builder.build({"freecad": "while True:\n    pass\n"})
        assert time.monotonic() - start < 30
        with pytest.raises(BuildError, match="memory"):
            builder.build({"freecad": "x = bytearray(16 << 30)\n"})
        with pytest.raises(BuildError, match="no shape"):
            builder.build({"freecad": "y = 1\n"})
        path = builder.build({"freecad": "result = Part.makeBox(1, 2, 3)\n"})
        doc = FreeCAD.openDocument(str(path))
        assert doc.getObject("Part").Shape.Volume == pytest.approx(6.0)
        FreeCAD.closeDocument(doc.Name)
    finally:
        builder.close()


# --- model modes against the protocol test servers ---------------------------------------------


def measure_items(n: int) -> list[Item]:
    return [i for i in load("measure", 40) if i.type == "number"][:n]


def right(i: Item) -> str:
    return f"My estimate is {i.answer:.6f} mm. ANSWER: {i.answer:.6f} {i.unit}"


def wrong(i: Item) -> str:
    return f"ANSWER: {2 * i.answer + 1:.6f} {i.unit}"


def test_scripted_model_accuracy_deltas_and_intervals_are_what_the_script_implies(tmp_path):
    items = measure_items(4)
    turns = []
    for k, i in enumerate(items):
        turns.append({"text": right(i) if k % 2 == 0 else wrong(i), "usage": {"input_tokens": 100, "output_tokens": 10}})
        if k == 0:  # tools mode: one tool call first, then the answer
            turns.append({"tool_calls": [{"name": "mass_properties", "arguments": {"object": "Part"}}],
                          "usage": {"input_tokens": 200, "output_tokens": 20}})
        turns.append({"text": right(i), "usage": {"input_tokens": 300, "output_tokens": 30}})
    with ProtocolServer(turns) as server:
        config = ModelConfig(backend="openai", model="scripted", base_url=f"{server.url}/v1", tier="local")
        summary = run(items, ["context", "tools"], tmp_path / "m.jsonl", model=config, progress=False)
        assert len(server.requests) == 9
    assert summary.done == 8 and summary.errors == 0
    results = read_results(tmp_path / "m.jsonl")
    report = summarise(results)
    rows = {r["mode"]: r for r in report["rows"]}
    assert rows["context"]["accuracy"] == 0.5 and rows["tools"]["accuracy"] == 1.0
    assert rows["context"]["ci95"] == list(wilson(2, 4)) and rows["tools"]["ci95"] == list(wilson(4, 4))
    assert rows["context"]["tokens_in_per_item"] == 100 and rows["tools"]["tokens_in_per_item"] == (500 + 900) / 4
    assert rows["tools"]["tool_calls_per_item"] == 0.25
    (delta,) = report["deltas"]
    assert delta["delta"] == 0.5 and delta["gap_closed"] == 1.0
    by_item = {(r.item, r.mode): r for r in results}
    assert by_item[(items[1].id, "context")].answer == wrong(items[1])  # the raw answer is kept
    # the context request carries the scene encoding and no tools; the tools request carries the tools
    context_body, tools_body = server.requests[0].body, server.requests[1].body
    assert not context_body.get("tools") or all(t["function"]["name"] != "mass_properties" for t in context_body["tools"])
    assert any(t["function"]["name"] == "mass_properties" for t in tools_body["tools"])


def test_broken_item_model_error_timeout_and_rate_limit_are_recorded_and_the_run_goes_on(tmp_path):
    items = measure_items(4)
    broken = Item(**{**items[0].to_dict(), "id": "broken", "source": {"freecad": "raise ValueError('no part')\n"}})
    turns = ([{"fault": {"kind": "rate_limit", "retry_after": 0.05}}] * 2
             + [{"fault": "server_error"}] * 2
             + [{"text": "thinking", "fault": {"kind": "stall", "after_events": 1, "stall_s": 8}}]
             + [{"text": right(items[3])}])
    with ProtocolServer(turns) as server:
        config = ModelConfig(backend="openai", model="scripted", base_url=f"{server.url}/v1", tier="local",
                             timeout_s=3.0, backend_settings=(("max_attempts", 2), ("base_delay_s", 0.01)))
        # 3 s per item: the retries of a loaded machine fit in it, the 8 s stall does not
        summary = run([broken, *items[:4]], ["context"], tmp_path / "e.jsonl", model=config, progress=False)
    results = {r.item: r for r in read_results(tmp_path / "e.jsonl")}
    assert summary.done == 5 and summary.errors == 4
    assert results["broken"].error_kind == "broken_item" and "no part" in results["broken"].error
    assert results[items[0].id].error_kind == "rate_limit"
    assert results[items[1].id].error_kind == "model_error"
    assert results[items[2].id].error_kind == "timeout"
    assert results[items[3].id].correct and results[items[3].id].error is None
    rows = summarise(list(results.values()))["rows"]
    assert rows[0]["accuracy"] == 0.2 and rows[0]["errors"] == {"broken_item": 1, "rate_limit": 1,
                                                                 "model_error": 1, "timeout": 1}


def test_resume_fills_only_what_is_missing(tmp_path):
    items = measure_items(4)
    out = tmp_path / "r.jsonl"
    with ProtocolServer([{"text": right(i)} for i in items]) as server:
        config = ModelConfig(backend="openai", model="scripted", base_url=f"{server.url}/v1", tier="local")
        run(items[:2], ["context"], out, model=config, progress=False)
        run(items, ["reference", "context"], out, model=config, progress=False)
        assert len(server.requests) == 4  # items 3 and 4 only, once each
    results = read_results(out)
    assert len(results) == 8 and all(r.correct for r in results)
    assert len(out.read_text().splitlines()) == 8


def test_ctrl_c_keeps_what_is_done_and_a_rerun_fills_the_rest(tmp_path):
    out = tmp_path / "c.jsonl"
    command = [sys.executable, "-m", "freecad_spatial.spatial_tools.cli", "eval", "run", "primitives",
               "--limit", "60", "--quiet", "--out", str(out)]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 3):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    kept = read_results(out)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert 3 <= len(kept) < 60
    ids = [r.item for r in kept]
    rerun = subprocess.run([*command[:-3], "--limit", str(len(kept) + 2), "--quiet", "--out", str(out)],
                           capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"2 answered, {len(kept)} already" in rerun.stderr
    after = read_results(out)
    assert [r.item for r in after][: len(ids)] == ids and len(after) == len(kept) + 2
    assert os.path.getsize(out) > 0


def test_report_formats_embed_the_chart(tmp_path):
    items = list(islice(load("primitives"), 3))
    out = tmp_path / "h.jsonl"
    run(items, ["reference"], out, progress=False)
    assert cli.main(["eval", "report", str(out), "--format", "html"]) == 0
    html = (tmp_path / "h.html").read_text()
    assert "primitives" in html and "100.0 %" in html
    pytest.importorskip("matplotlib")
    assert "data:image/png;base64," in html and (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"
    assert cli.main(["eval", "report", str(out), "--format", "md", "--out", str(tmp_path / "r.md")]) == 0
    assert "| primitives | reference | reference | 3 | 100.0 % |" in (tmp_path / "r.md").read_text()


# --- relations and dfm -------------------------------------------------------------------------


def test_relations_answers_of_a_constructed_assembly():
    """Block sits on Base, Pin sinks 3 mm into it, Cap floats 2 mm above Block."""
    from freecad_spatial.spatial_tools.eval.generators import _relation
    from freecad_spatial.spatial_tools.eval.sources import assembly_script

    spec = [{"name": "Base", "kind": "box", "size": [60.0, 40.0, 10.0], "at": [0.0, 0.0, 0.0]},
            {"name": "Block", "kind": "box", "size": [10.0, 10.0, 5.0], "at": [5.0, 5.0, 10.0]},
            {"name": "Pin", "kind": "cylinder", "r": 2.0, "h": 8.0, "at": [40.0, 20.0, 7.0]},
            {"name": "Cap", "kind": "box", "size": [10.0, 10.0, 4.0], "at": [5.0, 5.0, 17.0]}]
    shapes, _ = run_freecad_source(assembly_script(spec))
    assert _relation(shapes, "Base", "Block") == {"volume": 0.0, "distance": pytest.approx(0.0, abs=1e-9),
                                                  "touching": True}
    pin = _relation(shapes, "Base", "Pin")
    assert pin["volume"] == pytest.approx(math.pi * 4 * 3) and not pin["touching"]
    cap = _relation(shapes, "Block", "Cap")
    assert cap["distance"] == pytest.approx(2.0) and cap["volume"] == 0.0 and not cap["touching"]


def test_dfm_items_are_scored_on_rule_and_location():
    item = next(iter(load("dfm", 1)))
    rule, refs = item.answer["rule"], item.answer["refs"]
    assert rule == "cnc.deep_hole" and refs
    assert score(item, f"ANSWER: {rule} at {refs[0]}").correct
    assert not score(item, f"ANSWER: cnc.small_hole at {refs[0]}").correct  # wrong rule
    assert not score(item, f"ANSWER: {rule} at Part.Face999").correct  # wrong place
    assert not score(item, f"ANSWER: {rule}").correct  # no place


@pytest.mark.parametrize("suite", ["relations", "dfm"])
def test_reference_reaches_every_answer_of(suite, tmp_path):
    out = tmp_path / "r.jsonl"
    run(load(suite, 24), ["reference"], out, progress=False)
    results = read_results(out)
    assert len(results) == 24 and all(r.correct for r in results), [r for r in results if not r.correct]


# --- code and cells modes ----------------------------------------------------------------------


def test_code_mode_sends_the_source_and_no_tools(tmp_path):
    (i,) = measure_items(1)
    with ProtocolServer([{"text": right(i)}]) as server:
        config = ModelConfig(backend="openai", model="scripted", base_url=f"{server.url}/v1", tier="local")
        run([i], ["code"], tmp_path / "c.jsonl", model=config, progress=False)
        body = json.dumps(server.requests[0].body)
    assert "Part.makeBox" in body and "mass_properties" not in body
    assert read_results(tmp_path / "c.jsonl")[0].correct


def test_cells_mode_runs_the_models_cell_in_the_kernel(tmp_path):
    from freecad_spatial.spatial_tools.agent.cell_kernel import cells_unavailable_reason

    if cells_unavailable_reason():
        pytest.skip(cells_unavailable_reason())
    i = next(x for x in load("measure", 40) if x.template == "volume")
    cell = "print('V=%.3f' % tools.mass_properties(object='Part')['volume'])"
    turns = [{"tool_calls": [{"name": "run_python", "arguments": {"code": cell}}]}, {"text": right(i)}]
    with ProtocolServer(turns) as server:
        config = ModelConfig(backend="openai", model="scripted", base_url=f"{server.url}/v1", tier="local")
        run([i], ["cells"], tmp_path / "k.jsonl", model=config, progress=False)
        assert len(server.requests) == 2
        second = json.dumps(server.requests[1].body)
    assert f"V={i.answer:.3f}" in second  # the cell ran against the built part
    (r,) = read_results(tmp_path / "k.jsonl")
    assert r.correct and r.tool_calls == ["run_python"] and r.steps == 2


# --- BenchCAD CodeQA import --------------------------------------------------------------------

BENCHCAD = REPO / "tests" / "data" / "benchcad" / "records.jsonl"


def test_benchcad_records_become_items_with_its_type_aware_rule(tmp_path, capsys):
    out = tmp_path / "bc.jsonl"
    assert cli.main(["eval", "import-benchcad", str(BENCHCAD), "--out", str(out)]) == 0
    items = {i.id: i for i in read_items(out)}
    assert list(items) == ["plate_0001-q0", "plate_0001-q1", "plate_0001-q2", "block_0002-q0", "block_0002-q1"]
    count, dim, boolean = items["plate_0001-q0"], items["plate_0001-q1"], items["block_0002-q1"]
    assert "hole(4)" in count.source["cadquery"] and "box(20, 10, 5)" in items["block_0002-q0"].source["cadquery"]
    assert (count.type, count.tolerance) == ("integer", {}) and (dim.type, dim.tolerance) == ("number", {"rule": "ratio"})
    # BenchCAD's own examples (CodeQA/tests/test_qa_score.py): 8 vs 10 -> 0.8, counts exact, 0 == 0 for booleans
    assert score(Item(**{**dim.to_dict(), "answer": 10.0}), "ANSWER: 8").score == 0.8
    assert score(Item(**{**dim.to_dict(), "answer": 8.0}), "ANSWER: 10").score == 0.8
    assert score(dim, "ANSWER: -1").score == 0.0
    assert score(count, "ANSWER: 4").correct and not score(count, "ANSWER: 5").correct
    assert score(boolean, "ANSWER: 0").correct


def test_benchcad_code_path_may_not_leave_its_folder(tmp_path):
    bad = tmp_path / "records.jsonl"
    bad.write_text(json.dumps({"record_id": "x", "code_path": "../../etc/passwd", "qa_pairs": []}) + "\n")
    assert cli.main(["eval", "import-benchcad", str(bad), "--out", str(tmp_path / "o.jsonl")]) == 2


def test_benchcad_items_run_in_the_builders_child(tmp_path):
    """The records' CadQuery programs are built (in the CadQuery Python) and the model, asked in `context`
    mode with the built part's encoding, is scored with BenchCAD's rule. No CadQuery Python fails here
    loudly: ./setup.sh test creates .venv-cadquery on every supported FreeCAD."""
    from freecad_spatial.spatial_tools.eval.benchcad import convert

    cadquery_python()  # CadQueryMissing says how to install it
    items = list(convert(BENCHCAD))
    turns = [{"text": "ANSWER: 4"}, {"text": "ANSWER: 5 mm"}, {"text": "ANSWER: 4"}, {"text": "ANSWER: 20"},
             {"text": "ANSWER: 0"}]
    with ProtocolServer(turns) as server:
        config = ModelConfig(backend="openai", model="scripted", base_url=f"{server.url}/v1", tier="local")
        run(items, ["context"], tmp_path / "b.jsonl", model=config, progress=False)
        first = json.dumps(server.requests[0].body)
    results = {r.item: r for r in read_results(tmp_path / "b.jsonl")}
    assert [r.error for r in results.values()] == [None] * 5
    assert "Part" in first  # the built plate's encoding went with the question
    assert results["plate_0001-q1"].score == pytest.approx(round(5 / 6, 4))
    assert sum(r.score for r in results.values()) == pytest.approx(4 + round(5 / 6, 4))


PLATE_CQ = (REPO / "tests" / "data" / "benchcad" / "codes" / "plate_0001.py").read_text()


def test_a_cadquery_source_is_built_in_its_own_python_into_the_constructed_part(tmp_path):
    """The 40 x 30 x 6 plate with four 4 mm holes, built by CadQuery in .venv-cadquery and read by FreeCAD:
    its volume, extents and holes are the constructed ones; the program ran in the CadQuery Python, not
    this one, and saw none of this process's environment."""
    python = cadquery_python()
    builder = Builder(tmp_path, time_s=120)
    try:
        doc = FreeCAD.openDocument(str(builder.build({"cadquery": PLATE_CQ})))
        shape = doc.getObject("Part").Shape
        assert shape.Volume == pytest.approx(40 * 30 * 6 - 4 * math.pi * 2**2 * 6, rel=1e-9)
        box = shape.BoundBox
        assert (box.XLength, box.YLength, box.ZLength) == (pytest.approx(40), pytest.approx(30), pytest.approx(6))
        holes = [f for f in shape.Faces if f.Surface.__class__.__name__ == "Cylinder"]
        assert sorted(round(f.Surface.Radius, 9) for f in holes) == [2.0] * 4
        FreeCAD.closeDocument(doc.Name)
        with pytest.raises(BuildError) as where:
            builder.build({"cadquery": "import os, sys\nraise RuntimeError(sys.executable + ' ' + ' '.join(sorted(os.environ)))\n"})
        assert python in str(where.value) and "API_KEY" not in str(where.value)
        with pytest.raises(BuildError, match="a int, not a shape"):
            builder.build({"cadquery": "result = 1\n"})
        with pytest.raises(BuildError, match="no `result`"):
            builder.build({"cadquery": "y = cq.Workplane('XY')\n"})
    finally:
        builder.close()


def test_a_cadquery_program_gets_the_builders_time_and_memory_limits(tmp_path):
    """The CadQuery Python runs in the builder child's process group under its address-space cap: a loop
    is killed with the child, an allocation beyond the cap fails, and the next build works."""
    cadquery_python()
    pid_file = tmp_path / "pid"
    builder = Builder(tmp_path / "parts", time_s=20)
    try:
        with pytest.raises(BuildError, match="longer than 20 s"):
            builder.build({"cadquery": f"import os\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
                                       "while True:\n    pass\n"})
        pid = int(pid_file.read_text())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _running(pid):
            time.sleep(0.1)
        assert not _running(pid), "the CadQuery program outlived its builder"
        with pytest.raises(BuildError, match="out of memory"):
            builder.build({"cadquery": "x = bytearray(16 << 30)\n"})
        path = builder.build({"cadquery": "result = cq.Workplane('XY').box(20, 10, 5)\n"})
        doc = FreeCAD.openDocument(str(path))
        assert doc.getObject("Part").Shape.Volume == pytest.approx(1000.0)
        FreeCAD.closeDocument(doc.Name)
    finally:
        builder.close()


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie left to a non-reaping init is gone
    except FileNotFoundError:
        return False


def test_without_a_cadquery_python_each_cadquery_item_says_how_to_install_it(tmp_path, monkeypatch):
    no_cadquery = tmp_path / "python"  # a Python that cannot import cadquery: no site-packages at all
    no_cadquery.write_text(f"#!/bin/sh\nexec {sys.executable} -S \"$@\"\n")
    no_cadquery.chmod(0o755)
    items = [Item(id="a", suite="t", source={"cadquery": "result = cq.Workplane('XY').box(1, 1, 1)\n"},
                  question="q", answer=1.0, type="number", unit="mm3", tolerance={"rel": 0.01}),
             Item(id="b", suite="t", source={"freecad": "result = Part.makeBox(1, 2, 3)\n"},
                  question="q", answer=6.0, type="number", unit="mm3", tolerance={"rel": 0.01})]
    errors = {}
    for python in (tmp_path / "nowhere", no_cadquery):
        monkeypatch.setenv("FREECAD_SPATIAL_CADQUERY_PYTHON", str(python))
        with ProtocolServer({"turns": [{"text": "ANSWER: 6 mm3"}], "loop": True}) as server:
            config = ModelConfig(backend="openai", model="scripted", base_url=f"{server.url}/v1", tier="local")
            run(items, ["context"], tmp_path / f"{python.name}.jsonl", model=config, progress=False)
        a, b = read_results(tmp_path / f"{python.name}.jsonl")
        assert a.error_kind == "broken_item" and "CadQuery is not installed" in a.error and "./setup.sh cadquery" in a.error
        assert b.error is None and b.correct  # the run went on
        errors[python.name] = a.error
    assert "is not an executable Python" in errors["nowhere"] and "No module named 'cadquery'" in errors["python"]


def test_code_mode_sends_the_source_and_builds_nothing(tmp_path):
    """`code` gives the model only the source: the item is not built (a source that cannot build is no
    broken item there), while `context` on the same item needs the part and says why it has none."""
    i = Item(id="c", suite="t", source={"cadquery": "raise SystemExit('never run')\n"}, question="How long?",
             answer=20.0, type="number", unit="mm", tolerance={"abs": 0.01})
    with ProtocolServer({"turns": [{"text": "ANSWER: 20 mm"}], "loop": True}) as server:
        config = ModelConfig(backend="openai", model="scripted", base_url=f"{server.url}/v1", tier="local")
        run([i], ["code", "context"], tmp_path / "c.jsonl", model=config, progress=False, cache_dir=tmp_path / "parts")
        assert len(server.requests) == 1 and "never run" in json.dumps(server.requests[0].body)
    results = {r.mode: r for r in read_results(tmp_path / "c.jsonl")}
    code, context = results["code"], results["context"]
    assert (code.mode, code.error, code.correct) == ("code", None, True)
    assert context.mode == "context" and context.error_kind == "broken_item"
    run([i], ["code"], tmp_path / "only.jsonl", model=config, progress=False, cache_dir=tmp_path / "only")
    assert not (tmp_path / "only").exists()  # the builder never started


def test_code_mode_is_classified_by_the_markings_of_its_source():
    """With no part to classify, the source is what is sent: an ITAR marking in it makes the request
    export-controlled (local tier only), as it would on the part."""
    from freecad_spatial.spatial_tools.eval.model_modes import request_classification

    plain = Item(id="plain", suite="t", source={"freecad": "result = Part.makeBox(20, 1, 1)\n"}, question="How long?",
                 answer=20.0, type="number", unit="mm", tolerance={"abs": 0.01})
    marked = Item(**{**plain.to_dict(), "source": {"cadquery": "# ITAR controlled bracket\nresult = cq.Workplane()\n"}})
    assert request_classification(plain, None) == "unrestricted"
    assert request_classification(marked, None) == "export-controlled"


def test_jobs_answer_several_items_at_once(tmp_path):
    items = measure_items(6)
    turns = {"turns": [{"text": "ANSWER: 1 mm", "delay_s": 0.05}], "loop": True}
    with ProtocolServer(turns) as server:
        config = ModelConfig(backend="openai", model="scripted", base_url=f"{server.url}/v1", tier="local")
        summary = run(items, ["reference", "context"], tmp_path / "j.jsonl", model=config, jobs=3, progress=False)
        assert len(server.requests) == 6
    results = read_results(tmp_path / "j.jsonl")
    assert summary.done == 12 and summary.errors == 0 and len(results) == 12
    assert all(r.correct for r in results if r.mode == "reference")
    assert {r.item for r in results if r.mode == "context"} == {i.id for i in items}


def test_a_size_dimension_with_a_fit_tolerances_its_link(tmp_path):
    """Block2 (25 mm) toleranced h9 (0/-0.052, ISO 286 over 18 up to 30 mm) by a size dimension the
    builder adds; the others keep ISO 2768-m: the gap is 76.3-19.8-24.948-29.8 at most, 75.7-20.2-25-30.2 at least."""
    from freecad_spatial.spatial_tools.context import ToolContext
    from freecad_spatial.spatial_tools.registry import load_builtin_tools

    p = {"w": 8.0, "depth": 30.0, "H": 40.0, "block_h": 20.0, "blocks": [20.0, 25.0, 30.0], "S": 76.0, "class": "m",
         "sizes": [{"nominal": 25.0, "refs": ["Block2.Face1", "Block2.Face2"], "fit": "h9"}]}
    builder = Builder(tmp_path)
    try:
        doc = FreeCAD.openDocument(str(builder.build({"freecad": housing_script(p)})))
    finally:
        builder.close()
    try:
        chain = {"datum": "Housing.Face4", "target": "Block3.Face2",
                 "via": ["Housing.Face2", "Block1.Face1", "Block1.Face2", "Block2.Face1", "Block2.Face2", "Block3.Face1"]}
        envelope = load_builtin_tools().call("stack_up", {"chain": chain}, ToolContext(document=doc, selection=[]))
    finally:
        FreeCAD.closeDocument(doc.Name)
    assert envelope["ok"], envelope
    worst = envelope["result"]["worst_case"]
    assert worst["max"] == pytest.approx(76.3 - 19.8 - 24.948 - 29.8) and worst["min"] == pytest.approx(0.3)


def test_a_suite_files_part_files_stay_in_its_folder(tmp_path, capsys):
    (tmp_path / "parts").mkdir()
    doc = FreeCAD.newDocument("SuitePart")
    doc.addObject("Part::Feature", "Part").Shape = __import__("Part").makeBox(2, 3, 4)
    doc.recompute()
    doc.saveAs(str(tmp_path / "parts" / "box.FCStd"))
    FreeCAD.closeDocument(doc.Name)
    good = Item(id="box", suite="mine", source={"fcstd": "parts/box.FCStd"}, question="Volume?", answer=24.0,
                type="number", unit="mm3", tolerance={"rel": 0.001}, template="volume")
    write_items(tmp_path / "mine.jsonl", [good])
    assert cli.main(["eval", "run", str(tmp_path / "mine.jsonl"), "--quiet", "--out", str(tmp_path / "r.jsonl")]) == 0
    assert read_results(tmp_path / "r.jsonl")[0].correct
    evil = Item(**{**good.to_dict(), "source": {"step": "../../../etc/passwd"}})
    write_items(tmp_path / "evil.jsonl", [evil])
    assert cli.main(["eval", "run", str(tmp_path / "evil.jsonl"), "--quiet", "--out", str(tmp_path / "e.jsonl")]) == 2
    assert "outside the suite's folder" in capsys.readouterr().err
