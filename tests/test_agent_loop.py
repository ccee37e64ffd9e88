"""The agent loop with a scripted model: budgets, failures, findings, summaries, cancel, tiers.

Tools run for real through REGISTRY.call on FreeCAD documents the tests build;
only the model is scripted (agent_fakes.ScriptedBackend).
"""

from __future__ import annotations

import json

import jsonschema
import pytest
from agent_fakes import ScriptedBackend, last_tool_result, text_turn, tool_turn
from conftest import REGISTRY, FreeCAD, Part, add_shape

from freecad_spatial.spatial_tools.agent import prompts
from freecad_spatial.spatial_tools.agent.findings import validate_findings, validate_submission
from freecad_spatial.spatial_tools.agent.loop import Agent
from freecad_spatial.spatial_tools.agent.session import Session, Settings
from freecad_spatial.spatial_tools.agent.steps import (
    ActionStep,
    FinalAnswerStep,
    FindingsStep,
    ModelCallStep,
    ObservationStep,
    PlanningStep,
)
from freecad_spatial.spatial_tools.agent.summarise import (
    compact_messages,
    message_tokens,
    summarise,
)
from freecad_spatial.spatial_tools.backends.base import CancelToken, Message, ToolCall
from freecad_spatial.spatial_tools.backends.errors import Redirected, ServerError
from freecad_spatial.spatial_tools.context import ToolContext
from freecad_spatial.spatial_tools.dfm.finding import Finding
from freecad_spatial.spatial_tools.tiers import Policy, TierRefused
from freecad_spatial.spatial_tools.tokens import estimate_tokens


def host_call_tool(document, log=None):
    def call_tool(name, arguments):
        if log is not None:
            log.append((name, arguments))
        return REGISTRY.call(name, arguments, ToolContext(document=document))

    return call_tool


def make_agent(backend, document=None, *, policy=None, settings=None, call_tool=None, **kw):
    session = Session(settings=settings or Settings.load())
    return Agent(backend=backend, call_tool=call_tool or host_call_tool(document), policy=policy or Policy(),
                 session=session, **kw)


@pytest.fixture
def box(doc):
    """A 10 x 20 x 30 box: volume 6000 mm³."""
    return add_shape(doc, "Box", Part.makeBox(10, 20, 30))


def answer_with_volume(messages, tools):
    return text_turn(f"The box's volume is {last_tool_result(messages)['volume']:.1f} mm³.")


# --- the ordinary path ---------------------------------------------------------------


def test_tool_call_then_answer_from_its_result(doc, box):
    backend = ScriptedBackend([tool_turn("mass_properties", {"object": "Box"}, text="I will measure it."),
                               answer_with_volume])
    steps = []
    agent = make_agent(backend, doc, on_step=steps.append, document_context=lambda budget: '{"objects": ["Box"]}')
    trace = agent.ask("What is the volume of Box?")
    assert trace.answer == "The box's volume is 6000.0 mm³."
    assert trace.stop_reason == "end_turn" and not trace.forced
    assert trace.model_calls == 2
    assert trace.tool_calls[0].result["volume"] == pytest.approx(6000.0)
    assert trace.tool_calls[0].ok and trace.tool_calls[0].ms >= 0
    assert trace.usage.input_tokens == 20 and trace.usage.output_tokens == 10
    kinds = [type(s) for s in steps]
    assert kinds == [ModelCallStep, PlanningStep, ActionStep, ObservationStep, ModelCallStep, FinalAnswerStep]
    # The model saw named sections, the document last, and a tier-filtered tool list with submit_findings.
    system = backend.requests[0]["system"]
    assert [s.name for s in system[:-1]] == [n for n in prompts.section_names() if n != "code" or agent._has_kernel()]
    assert system[-1].name == "document" and '"Box"' in system[-1].text
    names = [t["name"] for t in backend.requests[0]["tools"]]
    assert "mass_properties" in names and "submit_findings" in names
    # The second request carries the tool result, correctly paired with its call.
    second = backend.requests[1]["messages"]
    assert second[-1].role == "tool" and second[-1].tool_call_id == second[-2].tool_calls[0].id
    # The newest message is a caching breakpoint in the request, not in the stored conversation.
    assert second[-1].cache and not any(m.cache for m in second[:-1])
    assert not any(m.cache for m in agent.session.messages)
    assert json.dumps(trace.to_dict())  # the --json trace is serialisable


def test_step_budget_stops_and_forces_a_final_answer(doc, box):
    backend = ScriptedBackend([tool_turn("mass_properties", {"object": "Box"}),
                               tool_turn("mass_properties", {"object": "Box"}),
                               tool_turn("mass_properties", {"object": "Box"}),
                               text_turn("Forced: 6000 mm³.")])
    agent = make_agent(backend, doc, settings=Settings.load({"step_budget": 3}))
    trace = agent.ask("Volume?")
    assert trace.stop_reason == "budget" and trace.forced
    assert trace.model_calls == 4 and len(trace.tool_calls) == 3
    assert trace.answer == "Forced: 6000 mm³."
    last = backend.requests[-1]
    assert last["tools"] == []  # the last call offers no tools
    assert [m.role for m in last["messages"]] == ["user"]
    prompt = last["messages"][0].text
    assert "step budget of 3" in prompt and "Volume?" in prompt and "6000" in prompt
    assert isinstance(trace.steps[-1], FinalAnswerStep) and trace.steps[-1].forced


def test_repeated_failures_stop_early(doc, box):
    backend = ScriptedBackend([tool_turn("mass_properties", {"object": "Nope"}), text_turn("cannot tell")])
    backend.script = [tool_turn("mass_properties", {"object": "Nope"})] * 3 + [text_turn("I could not measure it.")]
    agent = make_agent(backend, doc, settings=Settings.load({"max_consecutive_failures": 3, "step_budget": 30}))
    trace = agent.ask("Volume of Nope?")
    assert trace.stop_reason == "failures" and trace.forced
    assert trace.model_calls == 4
    assert all(not c.ok for c in trace.tool_calls)
    assert "3 steps in a row failed" in backend.requests[-1]["messages"][0].text
    assert "Nope" in backend.requests[-1]["messages"][0].text  # the errors are part of the evidence


def test_a_success_resets_the_failure_count(doc, box):
    bad, good = tool_turn("mass_properties", {"object": "Nope"}), tool_turn("mass_properties", {"object": "Box"})
    backend = ScriptedBackend([bad, bad, good, bad, bad, text_turn("done")])
    trace = make_agent(backend, doc, settings=Settings.load({"max_consecutive_failures": 3})).ask("q")
    assert trace.stop_reason == "end_turn" and trace.model_calls == 6


def test_bad_argument_json_is_an_error_result_never_empty_arguments(doc, box):
    log = []
    broken = tool_turn("mass_properties", None, raw='{"object": "Box"')
    backend = ScriptedBackend([broken, text_turn("sorry")])
    trace = make_agent(backend, doc, call_tool=host_call_tool(doc, log)).ask("q")
    assert log == []  # the tool never ran, not even with {}
    result = backend.requests[1]["messages"][-1]
    assert result.role == "tool" and result.is_error
    assert "not valid JSON" in result.text and '{\\"object\\": \\"Box\\"' in result.text
    assert "Expecting ',' delimiter at character 16" in result.text
    assert not trace.tool_calls[0].ok


def test_unknown_and_tier_hidden_tools_are_error_results(doc, box):
    class RawSpec:
        name, raw_geometry = "dump_mesh", True

        def anthropic(self):
            return {"name": self.name, "description": "mesh", "input_schema": {"type": "object"}}

    log = []
    specs = [REGISTRY.get("mass_properties"), RawSpec()]
    backend = ScriptedBackend([tool_turn("dump_mesh", {}), tool_turn("rm_rf", {}), text_turn("ok")])
    agent = make_agent(backend, doc, policy=Policy(allow_raw_geometry=False), tools=specs,
                       call_tool=host_call_tool(doc, log))
    trace = agent.ask("q")
    assert "dump_mesh" not in [t["name"] for t in backend.requests[0]["tools"]]
    assert log == []
    assert [c.ok for c in trace.tool_calls] == [False, False]
    assert "no tool named 'dump_mesh'" in backend.requests[1]["messages"][-1].text


# --- findings ------------------------------------------------------------------------------

GOOD_FINDING = {"rule": "cnc.deep_hole", "severity": "warning", "message": "Hole is 12.5×D deep",
                "object": "Plate", "elements": ["Plate.Face7"], "location": [20.0, 20.0, 35.0],
                "measured": 12.5, "limit": 10.0, "unit": "ratio", "suggestion": "shorten it"}


def test_submitted_findings_are_validated(doc, box):
    bad = dict(GOOD_FINDING, severity="critical")
    backend = ScriptedBackend([tool_turn("submit_findings", {"answer": "One deep hole.", "findings": [bad]}),
                               tool_turn("submit_findings", {"answer": "One deep hole.", "findings": [GOOD_FINDING]})])
    steps = []
    trace = make_agent(backend, doc, on_step=steps.append).ask("Check the holes")
    rejection = backend.requests[1]["messages"][-1]
    assert rejection.is_error
    assert "findings[0].severity" in rejection.text and "'critical' is not one of" in rejection.text
    assert trace.stop_reason == "submitted" and trace.answer == "One deep hole."
    # Recorded in the project's finding format (dfm.finding.Finding.to_dict): what run_dfm returns.
    assert trace.findings == [dict(GOOD_FINDING, elements=["Face7"], related=[])]
    assert [s.findings for s in steps if isinstance(s, FindingsStep)] == [trace.findings]
    jsonschema.validate(trace.findings, REGISTRY.get("run_dfm").result_schema["properties"]["findings"])
    assert Finding.from_dict(trace.findings[0]).refs == ["Plate.Face7"]


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"severity": "critical"}, "severity"),
        ({"limit": "N/A"}, "limit"),
        ({"rule": "Deep Hole"}, "dotted rule id"),
        ({"message": "  "}, "message: is empty"),
        ({"sevrity": "error"}, "unknown field 'sevrity'"),
        ({"location": [1.0, 2.0]}, "location"),
        ({"elements": ["Face0"]}, "not an element name"),
        ({"elements": ["Other.Face2"]}, "not an element of object 'Plate'"),
        ({"measured": float("inf")}, "finite"),
        ({"rule": "cnc2.deep_hole"}, "dotted rule id"),  # the project's rule-id format, not a looser one
        ({"related": "Pin.Face3"}, "related"),
    ],
)
def test_bad_findings_are_rejected_with_a_message(change, problem):
    clean, problems = validate_findings([GOOD_FINDING, dict(GOOD_FINDING, **change)])
    assert clean == []
    assert any(problem in p and p.startswith("findings[1]") for p in problems), problems


def test_minimal_finding_and_submission():
    clean, problems = validate_findings([{"rule": "gdt.position", "severity": "info", "message": "ok"}])
    assert problems == [] and clean == [{"rule": "gdt.position", "severity": "info", "message": "ok", "object": None,
                                         "elements": [], "location": None, "measured": None, "limit": None,
                                         "unit": None, "suggestion": None, "related": []}]
    assert validate_submission({"answer": "", "findings": []})[2] == ["submit_findings.answer: is empty"]
    assert validate_submission({"findings": []})[2]


# --- code cells -------------------------------------------------------------------------------


class RecordingKernel:
    """Stands in for CellKernel's interface: run(code) -> {ok, stdout, value, error, submitted, tool_calls}."""

    def __init__(self, call_tool, selection):
        self.call_tool, self.selection, self.cells = call_tool, selection, []

    def run(self, code, selection=None):
        self.cells.append(code)
        volume = self.call_tool("mass_properties", {"object": "Box"})["result"]["volume"]
        submitted = {"answer": f"{volume:.0f} mm³", "findings": []} if "submit" in code else None
        return {"ok": True, "stdout": f"{volume}\n", "value": None, "error": None, "submitted": submitted,
                "tool_calls": [{"name": "mass_properties"}]}


def test_run_python_forwards_to_one_kernel_per_conversation(doc, box):
    kernels = []

    def factory(call_tool, selection):
        kernels.append(RecordingKernel(call_tool, selection))
        return kernels[-1]

    backend = ScriptedBackend([tool_turn("run_python", {"code": "print(1)"}),
                               tool_turn("run_python", {"code": "submit('x', [])"})])
    agent = make_agent(backend, doc, kernel_factory=factory, selection=lambda: [{"ref": "Box.Face1", "picked_point": None}])
    trace = agent.ask("q")
    assert len(kernels) == 1 and kernels[0].cells == ["print(1)", "submit('x', [])"]
    assert kernels[0].selection == [{"ref": "Box.Face1", "picked_point": None}]
    assert "run_python" in [t["name"] for t in backend.requests[0]["tools"]]
    assert json.loads(backend.requests[1]["messages"][-1].text)["stdout"] == "6000.0\n"
    assert trace.stop_reason == "submitted" and trace.answer == "6000 mm³"


def test_no_run_python_where_cells_cannot_be_isolated(doc, box, monkeypatch):
    """Off Linux the worker's isolation layers do not exist: the model is not offered cells at all."""
    backend = ScriptedBackend([text_turn("no cells here")])
    assert "run_python" in [t["name"] for t in make_agent(backend, doc).tool_definitions()]
    monkeypatch.setattr("sys.platform", "darwin")
    assert "run_python" not in [t["name"] for t in make_agent(backend, doc).tool_definitions()]


def test_cells_run_in_the_real_kernel_and_keep_their_namespace(doc, box):
    log = []
    backend = ScriptedBackend([
        tool_turn("run_python", {"code": "v = tools.mass_properties(object='Box')['volume']\nprint(v)"}),
        tool_turn("run_python", {"code": "submit(f'{v:.0f} mm³', [])"}),
    ])
    agent = make_agent(backend, doc, call_tool=host_call_tool(doc, log))
    try:
        trace = agent.ask("Volume of Box?")
    finally:
        agent.session.close()
    first = json.loads(backend.requests[1]["messages"][-1].text)
    assert first["ok"] and first["stdout"].strip() == "6000.0"
    assert log == [("mass_properties", {"object": "Box"})]  # the cell's tool call ran on the host
    assert trace.stop_reason == "submitted" and trace.answer == "6000 mm³"
    assert trace.tool_calls[0].result["tool_calls"][0]["name"] == "mass_properties"


def test_cells_cannot_reach_tools_the_tier_hides(doc, box):
    log = []
    raw = [s.name for s in REGISTRY.specs() if s.raw_geometry]
    assert raw
    backend = ScriptedBackend([tool_turn("run_python", {"code": f"print(tools.{raw[0]}(a='Box', b='Box'))"}),
                               text_turn("no")])
    agent = make_agent(backend, doc, policy=Policy(allow_raw_geometry=False), call_tool=host_call_tool(doc, log))
    try:
        trace = agent.ask("q")
    finally:
        agent.session.close()
    assert not trace.tool_calls[0].ok and log == []
    assert f"no tool named '{raw[0]}'" in trace.tool_calls[0].result["error"]["message"]
    assert raw[0] not in [t["name"] for t in backend.requests[0]["tools"]]


# --- context ---------------------------------------------------------------------------------


def test_large_results_are_summarised_before_reentering_context(doc):
    huge = {"ok": True, "result": {"features": [{"kind": "hole", "faces": [f"P.Face{i}"], "diameter": 4.0 + i}
                                                for i in range(3000)]}}
    backend = ScriptedBackend([tool_turn("mass_properties", {"object": "P"}), text_turn("many holes")])
    settings = Settings.load({"tool_result_budget_tokens": 300})
    steps = []
    trace = make_agent(backend, doc, settings=settings, call_tool=lambda n, a: huge, on_step=steps.append).ask("q")
    seen = backend.requests[1]["messages"][-1].text
    assert estimate_tokens(seen) <= 300
    body = json.loads(seen)
    assert "summarised" in body and body["result"]["features"][0]["diameter"] == 4.0
    assert any("2990 more (3000 in total)" in str(x) or "more (3000 in total)" in str(x) for x in body["result"]["features"])
    assert [s.summarised for s in steps if isinstance(s, ObservationStep)] == [True]
    assert len(trace.tool_calls[0].result["features"]) == 3000  # the trace keeps everything


def test_summarise_keeps_small_results_verbatim_and_fits_any_shape():
    text, shortened = summarise({"distance": 12.345678901}, 100)
    assert not shortened and json.loads(text) == {"distance": 12.345678901}
    for value in ["0123456789" * 5000, {"deep": [[[[[[[[["x"] * 50] * 50]]]]]]]}]:
        text, shortened = summarise(value, 200)
        assert shortened and estimate_tokens(text) <= 200 and "summarised" in json.loads(text)


def test_context_is_compacted_under_budget_without_orphaning_tool_results():
    messages = [Message("user", "first question")]
    for i in range(20):
        call = ToolCall(id=f"c{i}", name="mass_properties", arguments={"object": "Box"})
        messages += [Message("assistant", "", tool_calls=[call]), Message("tool", "x" * 2000, tool_call_id=f"c{i}")]
    messages += [Message("assistant", "answer one"), Message("user", "second question")]
    call = ToolCall(id="last", name="mass_properties", arguments={"object": "Box"})
    messages += [Message("assistant", "", tool_calls=[call]), Message("tool", "y" * 2000, tool_call_id="last")]
    budget = 3000
    assert sum(message_tokens(m) for m in messages) > budget
    out = compact_messages(messages, budget)
    assert sum(message_tokens(m) for m in out) <= budget
    assert out[-1].text == "y" * 2000  # the latest observation is kept whole
    assert any("elided" in m.text for m in out if m.role == "tool")
    ids = {c.id for m in out for c in m.tool_calls}
    assert all(m.tool_call_id in ids for m in out if m.role == "tool")
    assert out[0].role == "user"
    # Tighter still: whole earlier exchanges go, cutting at a question.
    tight = compact_messages(messages, 700)
    assert tight[0].text == "second question" and tight[-1].tool_call_id == "last"


# --- cancel, errors, tiers ----------------------------------------------------------------------


def test_cancel_before_any_call_sends_nothing(doc):
    backend = ScriptedBackend([text_turn("x")])
    token = CancelToken()
    token.cancel()
    trace = make_agent(backend, doc).ask("q", cancel=token)
    assert trace.stop_reason == "cancelled" and backend.requests == []


def test_cancel_during_tools_skips_the_rest_and_stops(doc, box):
    token = CancelToken()

    def call_tool(name, arguments):
        token.cancel()
        return REGISTRY.call(name, arguments, ToolContext(document=doc))

    two = tool_turn("mass_properties", {"object": "Box"})
    two.tool_calls.append(ToolCall(id="second", name="mass_properties", arguments={"object": "Box"}))
    backend = ScriptedBackend([two, text_turn("never")])
    agent = make_agent(backend, doc, call_tool=call_tool)
    trace = agent.ask("q", cancel=token)
    assert trace.stop_reason == "cancelled" and len(backend.requests) == 1 and len(trace.tool_calls) == 1
    assistant, first, skipped = agent.session.messages[-3:]
    assert [c.id for c in assistant.tool_calls] == [first.tool_call_id, skipped.tool_call_id]
    assert not first.is_error and skipped.is_error  # every call keeps a result


def test_backend_failure_is_reported_not_raised(doc):
    class Failing(ScriptedBackend):
        def complete(self, *a, **kw):
            raise ServerError("server error (HTTP 500)", provider="openai", endpoint="127.0.0.1")

    trace = make_agent(Failing([])).ask("q")
    assert trace.stop_reason == "error" and "HTTP 500" in trace.error and "HTTP 500" in trace.answer


def test_tier_refusal_sends_zero_requests(doc):
    backend = ScriptedBackend([text_turn("x")], base_url="http://10.0.0.5:8000/v1")
    with pytest.raises(TierRefused, match="local tier"):
        make_agent(backend, doc, policy=Policy(user_tier="local")).ask("q")
    cloud = ScriptedBackend([text_turn("x")], name="anthropic", base_url="https://api.anthropic.com")
    with pytest.raises(TierRefused, match="export-controlled"):
        make_agent(cloud, doc, policy=Policy(classification="export-controlled")).ask("q")
    assert backend.requests == [] and cloud.requests == []


def test_redirect_outside_the_tier_is_a_refusal(doc):
    class Redirecting(ScriptedBackend):
        def complete(self, *a, **kw):
            self.requests.append(a)
            raise Redirected("redirected", location="https://evil.example.com/v1/chat/completions")

    backend = Redirecting([])
    with pytest.raises(TierRefused, match="refused redirect.*evil.example.com"):
        make_agent(backend, doc, policy=Policy(user_tier="local")).ask("q")
    assert len(backend.requests) == 1


def test_a_session_continues_with_a_fresh_budget(doc, box):
    backend = ScriptedBackend([tool_turn("mass_properties", {"object": "Box"}), text_turn("6000"),
                               text_turn("Yes, the same box.")])
    agent = make_agent(backend, doc, settings=Settings.load({"step_budget": 2}))
    assert agent.ask("Volume?").answer == "6000"
    second = agent.ask("Same box?")
    assert second.answer == "Yes, the same box." and not second.forced
    assert [m.role for m in backend.requests[-1]["messages"]] == ["user", "assistant", "tool", "assistant", "user"]


# --- a real measurement -------------------------------------------------------------------------


def test_scripted_model_measures_a_distance_and_answers_with_it(doc):
    if "measure_distance" not in REGISTRY.names():
        pytest.skip("measure_distance has not landed in the registry yet")
    add_shape(doc, "A", Part.makeBox(10, 10, 10))
    add_shape(doc, "B", Part.makeBox(10, 10, 10), FreeCAD.Placement(FreeCAD.Vector(0, 0, 27.5), FreeCAD.Rotation()))

    def answer(messages, tools):
        return text_turn(f"The gap between A and B is {last_tool_result(messages)['distance']:.3f} mm.")

    backend = ScriptedBackend([tool_turn("measure_distance", {"a": "A", "b": "B"}), answer])
    trace = make_agent(backend, doc).ask("How far apart are A and B?")
    assert trace.answer == "The gap between A and B is 17.500 mm."  # 27.5 - 10, built that way
    assert trace.tool_calls[0].result["distance"] == pytest.approx(17.5, abs=1e-9)


def test_cancel_closes_a_slow_stream_of_the_real_backend(doc):
    """Through the real OpenAI-compatible backend: a cancel mid-stream ends the question at once."""
    import threading
    import time

    from freecad_spatial.spatial_tools.backends.factory import make_backend
    from freecad_spatial.spatial_tools.protocol_servers import ProtocolServer

    slow = {"text": "a very slow answer " * 20, "delay_s": 0.05}
    with ProtocolServer([slow]) as server:
        backend = make_backend("openai", {"base_url": f"{server.url}/v1", "model": "m"}, api_key="k")
        token = CancelToken()
        threading.Timer(0.3, token.cancel).start()
        started = time.monotonic()
        trace = make_agent(backend, doc, policy=Policy(user_tier="local")).ask("q", cancel=token)
        elapsed = time.monotonic() - started
        backend.close()
    assert trace.stop_reason == "cancelled" and trace.answer == ""
    assert elapsed < 3.5  # the whole stream would take over 4.7 s


# --- defaults, whole-request budget, prompts as data ---------------------------------------------


def test_the_default_step_budget_is_30(doc, box):
    assert Settings.load().step_budget == 30
    backend = ScriptedBackend([tool_turn("mass_properties", {"object": "Box"})] * 30 + [text_turn("Forced.")])
    trace = make_agent(backend, doc).ask("Volume?")
    assert trace.stop_reason == "budget" and trace.forced and trace.answer == "Forced."
    assert trace.model_calls == 31 and len(trace.tool_calls) == 30
    assert "step budget of 30" in backend.requests[-1]["messages"][0].text


def test_the_whole_request_stays_under_the_context_budget(doc):
    """System prompt, document context, tools and conversation together, at every step."""
    from freecad_spatial.spatial_tools.agent.loop import context_tokens

    document = json.dumps({"objects": [{"name": f"Part{i:03d}", "volume": 1000.0 + i} for i in range(150)]})
    result = {"ok": True, "result": {"faces": [f"Part{i:03d}.Face{j}" for i in range(20) for j in range(1, 7)]}}
    budget = 6000
    settings = Settings.load({"context_budget_tokens": budget, "tool_result_budget_tokens": 900,
                              "document_budget_tokens": 3000, "step_budget": 12})
    backend = ScriptedBackend([tool_turn("mass_properties", {"object": "Box"})] * 12 + [text_turn("done")])
    steps = []
    agent = make_agent(backend, doc, settings=settings, tools=[REGISTRY.get("mass_properties")],
                       call_tool=lambda n, a: result, document_context=lambda b: document, on_step=steps.append)
    trace = agent.ask("Which faces?")
    fixed = context_tokens(backend.requests[0]["system"], [], backend.requests[0]["tools"])
    assert fixed > 2000  # the document and the prompt take a real share of the budget
    sizes = [context_tokens(r["system"], r["messages"], r["tools"]) for r in backend.requests]
    assert max(sizes) <= budget, sizes
    assert [s.context_tokens for s in steps if isinstance(s, ModelCallStep)] == sizes  # the trace reports it
    # It took compaction to stay under: the full conversation would not fit.
    assert any("elided" in m.text for m in backend.requests[-2]["messages"] if m.role == "tool")
    assert sum(message_tokens(m) for m in agent.session.messages) + fixed > budget
    assert trace.model_calls == 13


def test_budget_settings_are_checked():
    with pytest.raises(ValueError, match="document_budget_tokens .* must be below context_budget_tokens"):
        Settings.load({"context_budget_tokens": 1000, "document_budget_tokens": 1000})
    with pytest.raises(ValueError, match="step_budget must be at least 1"):
        Settings.load({"step_budget": 0})


def test_the_system_prompt_is_built_from_named_sections_in_resources(tmp_path, monkeypatch):
    assert prompts.SYSTEM_FILE.parent.name == "prompts" and prompts.SYSTEM_FILE.parent.parent.name == "resources"
    text = prompts.SYSTEM_FILE.read_text(encoding="utf-8")
    edited = text.replace('order = ["role", "method", "evidence", "code", "findings", "answer"]',
                          'order = ["answer", "role"]').replace("You measure instead of guessing.", "EDITED-ROLE.")
    assert edited != text
    (tmp_path / "system.toml").write_text(edited, encoding="utf-8")
    monkeypatch.setattr(prompts, "SYSTEM_FILE", tmp_path / "system.toml")
    prompts.data.cache_clear()
    try:
        system = prompts.build_system('{"objects": 1}')
        assert [s.name for s in system] == ["answer", "role", "document"]
        assert system[1].text.endswith("EDITED-ROLE.") and system[1].cache and system[2].cache
        assert prompts.tool_description("submit_findings").startswith("Finish:")
    finally:
        monkeypatch.undo()
        prompts.data.cache_clear()
    assert prompts.section_names() == ["role", "method", "evidence", "code", "findings", "answer"]


# --- code cells through the loop, for real --------------------------------------------------------


def test_findings_submitted_from_a_cell_are_validated_too(doc, box):
    bad = "submit('one hole', [{'rule': 'cnc.deep_hole', 'severity': 'fatal', 'message': 'deep'}])"
    good = "submit('one hole', [{'rule': 'cnc.deep_hole', 'severity': 'error', 'message': 'deep', 'elements': ['Box.Face1']}])"
    backend = ScriptedBackend([tool_turn("run_python", {"code": bad}), tool_turn("run_python", {"code": good})])
    agent = make_agent(backend, doc)
    try:
        trace = agent.ask("q")
    finally:
        agent.session.close()
    rejection = backend.requests[1]["messages"][-1]
    assert rejection.is_error and "findings[0].severity" in rejection.text and "nothing was recorded" in rejection.text
    assert trace.stop_reason == "submitted" and trace.answer == "one hole"
    assert trace.findings[0]["severity"] == "error" and trace.findings[0]["object"] == "Box"
    assert agent.session.findings == trace.findings  # the headless list annotations will be made from


def test_cancel_interrupts_a_running_cell(doc):
    import threading
    import time

    backend = ScriptedBackend([tool_turn("run_python", {"code": "while True:\n    pass"}), text_turn("never")])
    agent = make_agent(backend, doc)
    token = CancelToken()
    try:
        agent.session.cell_kernel(lambda: agent._make_kernel([])).start()  # the worker is up before the clock runs
        threading.Timer(0.5, token.cancel).start()
        started = time.monotonic()
        trace = agent.ask("q", cancel=token)
        elapsed = time.monotonic() - started
    finally:
        agent.session.close()
    assert trace.stop_reason == "cancelled" and len(backend.requests) == 1
    assert elapsed < 3  # the cell's own budget is 20 s
    assert trace.tool_calls[0].result["error"]["kind"] == "interrupted"
