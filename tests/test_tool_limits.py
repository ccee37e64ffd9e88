"""Limits on tool calls from the model and from code cells: time budgets, host files, read-only.

Real FreeCAD documents, the real registry and tools, real code-cell workers,
real files on disk (a FIFO made with os.mkfifo, a Unix socket, device and
escaping symlinks, passwd-like host files, a TOML file whose first key is a
secret); only the model's turns are scripted (agent_fakes.ScriptedBackend).
Hosts here pass the arguments on as they get them, as every host does: the
limits travel on them from the agent loop.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
from agent_fakes import ScriptedBackend, text_turn, tool_turn
from conftest import BRACKET, REGISTRY, REPO, FreeCAD, Part, add_shape

from freecad_spatial.spatial_tools.agent.loop import Agent
from freecad_spatial.spatial_tools.agent.session import Session, Settings
from freecad_spatial.spatial_tools.backends.base import ModelTurn, Usage
from freecad_spatial.spatial_tools.context import ToolContext
from freecad_spatial.spatial_tools.dfm.profiles import load_profile
from freecad_spatial.spatial_tools.tiers import Policy
from freecad_spatial.spatial_tools.tolerances.stackup import Contributor, monte_carlo

# New names are imported where used, so on the code before them each test fails on its own point.

SECRET = f"sk_live_{uuid.uuid4().hex}"  # the first key of a TOML file outside every profile folder
PASSWD_MARK = f"svc-{uuid.uuid4().hex[:10]}"
SHOP_PROFILE = '[rules."cnc.deep_hole"]\nwarn_above = 3.0\n'


# --- helpers ----------------------------------------------------------------------------------------


def calls_turn(calls):
    """One model turn with several tool calls (one failing step, not several)."""
    turns = [tool_turn(name, arguments) for name, arguments in calls]
    return ModelTurn(text="", tool_calls=[t.tool_calls[0] for t in turns], stop_reason="tool_use", usage=Usage(10, 5))


def plain_host(document, log=None):
    """A host like ask's and the chat's: hands the arguments it gets to the registry."""

    def call_tool(name, arguments):
        if log is not None:
            log.append((name, arguments))
        return REGISTRY.call(name, arguments, ToolContext(document=document))

    return call_tool


def make_agent(script, document, **kw):
    return Agent(backend=ScriptedBackend(script), call_tool=kw.pop("call_tool", None) or plain_host(document),
                 policy=Policy(), session=Session(settings=Settings.load()), **kw)


def short_cells(time_s=5.0):
    """A kernel factory for the agent: the real CellKernel with a short budget."""
    from freecad_spatial.spatial_tools.agent.cell_kernel import CellKernel
    from freecad_spatial.spatial_tools.agent.code_cell import load_config

    def factory(call_tool, selection):
        return CellKernel(call_tool, selection, config=load_config().with_budget(time_s=time_s, cpu_s=int(time_s) + 5))

    return factory


def run_cell(document, code, *, time_s=5.0, **kw):
    """One code cell from the scripted model, through the agent loop and a real worker; its result."""
    agent = make_agent([tool_turn("run_python", {"code": code}), text_turn("done")], document,
                       kernel_factory=short_cells(time_s), **kw)
    try:
        trace = agent.ask("run it")
    finally:
        agent.session.close()
    (record,) = [r for r in trace.tool_calls if r.tool == "run_python"]
    return record.result, agent


def finishes(fn, fifos=(), timeout=30.0):
    """``fn()`` in a thread; fails (after unblocking any reader of ``fifos``) when it blocks."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed back to the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        for fifo in fifos:  # a reader blocked in open() is released by a writer's open
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        thread.join(10)
        pytest.fail(f"the call was still blocked after {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def everything_sent(agent) -> str:
    """What went to the model (every request of the scripted backend), as text."""
    return json.dumps([{"system": [s.text for s in r["system"]],
                        "messages": [m.text for m in r["messages"]]} for r in agent.backend.requests])


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """The temp folder this test's cell workers get their scratch folders in (empty again when they end)."""
    import tempfile

    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def plate(doc):
    add_shape(doc, "Plate", Part.makeBox(60, 40, 10).cut(Part.makeCylinder(2, 10, FreeCAD.Vector(20, 20, 0))))
    return doc


@pytest.fixture
def host_files(tmp_path):
    """Files of the host that no model or cell may read: passwd-like, a secret TOML file, a FIFO."""
    folder = tmp_path / "host"
    folder.mkdir()
    passwd = folder / "passwd"
    passwd.write_text(f"root:x:0:0:root:/root:/bin/bash\n{PASSWD_MARK}:x:998:998::/srv:/usr/sbin/nologin\n")
    secret = folder / "secret.toml"
    secret.write_text(f'{SECRET} = "{SECRET}-value"\n[rules."cnc.deep_hole"]\nwarn_above = 2.0\n')
    fifo = folder / "pipe.toml"
    os.mkfifo(fifo)
    return {"passwd": passwd, "secret": secret, "fifo": fifo, "missing": folder / "missing.toml"}


@pytest.fixture
def shop(tmp_path, monkeypatch):
    """A profile folder the user configured (FREECAD_SPATIAL_PROFILE_DIRS) with one good profile."""
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "shop-strict.toml").write_text(SHOP_PROFILE)
    monkeypatch.setenv("FREECAD_SPATIAL_PROFILE_DIRS", str(folder))
    return folder


CONTRIBUTORS_20 = [{"name": f"c{i}", "nominal": 10.0, "plus": 0.1, "minus": 0.1, "direction": 1} for i in range(20)]


# --- 3. tool calls inherit the deadline ---------------------------------------------------------------


def test_monte_carlo_arguments_are_capped_for_every_caller():
    """200 contributors x 5,000,000 samples ran 52 s; now it is refused at once, saying what fits."""
    many = [dict(c, name=f"c{i}") for i, c in enumerate(CONTRIBUTORS_20 * 10)]
    started = time.monotonic()
    envelope = REGISTRY.call("stack_up", {"contributors": many, "methods": ["monte_carlo"], "samples": 5_000_000},
                             ToolContext())
    assert time.monotonic() - started < 5
    assert envelope["error"]["code"] == "bad_arguments"
    assert "1,000,000,000 draws" in envelope["error"]["message"] and "at most 100,000 samples" in envelope["error"]["message"]
    too_many = [dict(c, name=f"n{i}") for i, c in enumerate(CONTRIBUTORS_20 * 26)][:501]  # tool_limits.toml: 500
    envelope = REGISTRY.call("stack_up", {"contributors": too_many}, ToolContext())
    assert envelope["error"]["code"] == "bad_arguments" and "at most 500 items" in envelope["error"]["message"]
    # Within the caps, without a deadline (a user's own call), it runs as before.
    fine = REGISTRY.call("stack_up", {"contributors": many, "methods": ["monte_carlo"], "samples": 100_000}, ToolContext())
    assert fine["ok"] and fine["result"]["monte_carlo"]["samples"] == 100_000


def test_a_monte_carlo_run_its_budget_cannot_cover_is_refused_before_it_starts():
    arguments = {"contributors": CONTRIBUTORS_20, "methods": ["monte_carlo"], "samples": 1_000_000}
    started = time.monotonic()
    envelope = REGISTRY.call("stack_up", arguments, ToolContext(deadline=time.monotonic() + 0.3))
    assert time.monotonic() - started < 0.3  # refused, not run: 20 x 1,000,000 draws take longer than that
    error = envelope["error"]
    assert error["code"] == "deadline_exceeded" and "Monte Carlo not started" in error["message"]
    assert "samples fit" in error["message"]


def test_monte_carlo_stops_between_chunks_once_the_deadline_passes_and_keeps_seeded_results():
    import numpy

    from freecad_spatial.spatial_tools.context import tool_limits
    from freecad_spatial.spatial_tools.errors import DeadlineExceeded

    chain = [Contributor(f"c{i}", 10.0, 0.1, 0.1, 1.0, distribution="uniform" if i % 2 else "normal")
             for i in range(200)]
    with pytest.raises(DeadlineExceeded) as stopped:
        monte_carlo(chain, 1_000_000, seed=3, deadline=time.monotonic() + 0.02)  # 2e8 draws: seconds of work
    drawn = int(str(stopped.value).split("stopped after ")[1].split(" of")[0])
    assert drawn < 200 and "of 200 contributors" in str(stopped.value)
    # Drawing in chunks gives the numbers of one unchunked draw per contributor (same seed, same result).
    few = chain[:3]
    samples = 2 * int(tool_limits()["stack_up"]["chunk_samples"]) + 17
    rng = numpy.random.default_rng(11)
    expected = numpy.zeros(samples)
    for c in few:
        expected += c.direction * (rng.normal(c.mean, c.std, samples) if c.distribution == "normal"
                                   else rng.uniform(c.lower, c.upper, samples))
    assert numpy.array_equal(monte_carlo(few, samples, seed=11, deadline=time.monotonic() + 600), expected)


def test_a_call_is_not_started_when_its_budget_is_spent(plate):
    from freecad_spatial.spatial_tools.context import CallLimits, ToolArguments

    spent = ToolContext(document=plate, deadline=time.monotonic() - 1)
    envelope = REGISTRY.call("measure_distance", {"a": "Plate.Face1", "b": "Plate.Face2"}, spent)
    assert envelope["error"]["code"] == "deadline_exceeded" and "not started" in envelope["error"]["message"]
    # run_dfm needs more than the generic minimum to be worth starting (tool_limits.toml).
    short = ToolContext(document=plate, deadline=time.monotonic() + 0.3)
    assert REGISTRY.call("run_dfm", {"process": "cnc-3axis"}, short)["error"]["code"] == "deadline_exceeded"
    # The limits on the arguments count too, and the tighter deadline wins.
    late = ToolArguments({"a": "Plate.Face1", "b": "Plate.Face2"}, CallLimits(deadline=time.monotonic() - 1))
    assert REGISTRY.call("measure_distance", late, ToolContext(document=plate))["error"]["code"] == "deadline_exceeded"


def test_the_models_own_tool_call_runs_under_its_budget():
    arguments = {"contributors": CONTRIBUTORS_20, "methods": ["monte_carlo"], "samples": 1_000_000}
    agent = make_agent([tool_turn("stack_up", arguments), text_turn("too slow")], None, tool_time_s=0.3)
    trace = agent.ask("stack it up")
    (record,) = trace.tool_calls
    assert not record.ok and record.result["code"] == "deadline_exceeded"
    assert record.ms < 2000  # refused before it started; the full run takes more than a second


def test_a_cells_tool_calls_end_with_the_cells_budget(doc, scratch):
    """Each Monte Carlo call of this cell takes about 0.6 s; a 5 s cell may not run them past its budget."""
    code = (f"C = {CONTRIBUTORS_20!r}\n"
            "codes = []\n"
            "for i in range(40):\n"
            "    try:\n"
            "        tools.stack_up(contributors=C, methods=['monte_carlo'], samples=1000000, seed=i)\n"
            "        codes.append('ok')\n"
            "    except ToolFailed as e:\n"
            "        codes.append(e.code)\n"
            "        break\n"
            "print(codes)\n")
    result, _ = run_cell(doc, code, time_s=5.0)
    assert result["error"] is None, result["error"]  # the cell finished inside its budget: it was not killed
    codes = eval(result["stdout"].strip())  # noqa: S307 - the list the cell printed
    assert codes[-1] == "deadline_exceeded" and len(codes) < 40
    assert list(scratch.iterdir()) == []  # the worker's scratch folder went with it


# --- 4. tools read no host files ----------------------------------------------------------------------


def test_the_model_cannot_read_host_files_through_run_dfm(plate, host_files):
    names = [str(host_files["secret"]), str(host_files["passwd"]), "/etc/passwd", "/etc/shadow",
             str(host_files["missing"]), "../../../../../../etc/passwd", str(host_files["fifo"])]
    script = [calls_turn([("run_dfm", {"process": "cnc-3axis", "profile": name}) for name in names]), text_turn("done")]
    agent = make_agent(script, plate)
    trace = finishes(lambda: agent.ask("check it with my profile"), fifos=[host_files["fifo"]])
    results = [r.result for r in trace.tool_calls]
    assert [r["code"] for r in results] == ["not_permitted"] * len(names), results
    # An existing file and a missing one get the same answer: no oracle for what exists on the host.
    messages = {r["message"].replace(repr(name), "<name>") for r, name in zip(results, names, strict=True)}
    assert len(messages) == 1, messages
    sent = everything_sent(agent) + json.dumps(trace.to_dict(), default=str)
    assert SECRET not in sent and PASSWD_MARK not in sent and "root:x:0:0" not in sent


def test_a_cell_cannot_read_host_files_through_run_dfm(plate, host_files, scratch):
    code = "\n".join(
        f"try:\n    tools.run_dfm(process='cnc-3axis', profile={str(path)!r})\n    print('read')\n"
        f"except ToolFailed as e:\n    print(e.code, e.message)"
        for path in (host_files["secret"], host_files["passwd"], host_files["fifo"]))
    result, agent = finishes(lambda: run_cell(plate, code), fifos=[host_files["fifo"]])
    assert result["error"] is None, result["error"]
    assert [line.split()[0] for line in result["stdout"].splitlines()] == ["not_permitted"] * 3
    assert SECRET not in result["stdout"] and PASSWD_MARK not in result["stdout"]
    assert SECRET not in everything_sent(agent)
    assert list(scratch.iterdir()) == []  # the host was never blocked: the worker ended and took its folder


def test_profiles_from_the_library_and_the_configured_folders_still_work(plate, shop):
    from freecad_spatial.spatial_tools.dfm.profiles import allowed_profile_folders

    assert str(shop) in allowed_profile_folders()
    ctx = ToolContext.for_assistant(plate)
    result = REGISTRY.call("run_dfm", {"process": "cnc-3axis", "profile": "shop-strict"}, ctx)
    assert result["ok"], result
    by_name = REGISTRY.call("run_dfm", {"process": "cnc-3axis", "profile": str(shop / "shop-strict.toml")}, ctx)
    assert by_name["ok"], by_name
    assert REGISTRY.call("run_dfm", {"process": "cnc-3axis", "profile": "cnc-3axis"}, ctx)["ok"]  # the library
    inline = {"process": "cnc-3axis", "profile": {"rules": {"cnc.deep_hole": {"warn_above": 2}}}}
    assert REGISTRY.call("run_dfm", inline, ctx)["ok"]
    unknown = REGISTRY.call("run_dfm", {"process": "cnc-3axis", "profile": "nope"}, ctx)["error"]
    assert unknown["code"] == "not_permitted" and "shop-strict" in unknown["message"]  # it lists what it may name


def test_fifos_devices_sockets_escaping_links_and_big_files_are_refused_without_blocking(plate, shop, host_files):
    from freecad_spatial.spatial_tools.dfm.profiles import allowed_profile_folders

    os.mkfifo(shop / "pipe.toml")
    (shop / "zero.toml").symlink_to("/dev/zero")
    (shop / "escape.toml").symlink_to(host_files["secret"])
    (shop / "folder.toml").mkdir()
    (shop / "big.toml").write_text("# padding\n" * 40_000)
    server = socket.socket(socket.AF_UNIX)
    short = Path(f"/tmp/fs-{uuid.uuid4().hex[:8]}")  # a socket path must be short
    short.mkdir()
    try:
        server.bind(str(short / "sock.toml"))
        names = ["pipe", "zero", "folder", "big", str(short / "sock.toml"), "escape", str(shop / ".." / "host" / "secret.toml")]
        # /dev as a configured folder (odd, but it makes zero.toml a device inside the folders).
        ctx = ToolContext.for_assistant(plate, profile_folders=allowed_profile_folders([short, "/dev"]))

        def call_all():
            return [REGISTRY.call("run_dfm", {"process": "cnc-3axis", "profile": n}, ctx) for n in names]

        envelopes = finishes(call_all, fifos=[shop / "pipe.toml"])
    finally:
        server.close()
        for path in short.iterdir():
            path.unlink()
        short.rmdir()
    errors = [e.get("error") for e in envelopes]
    assert all(e is not None and e["code"] == "not_permitted" for e in errors), errors
    assert ["regular file" in e["message"] for e in errors] == [True, True, True, False, True, False, False]
    assert "larger than" in errors[3]["message"]
    assert not any(SECRET in e["message"] for e in errors)


def test_a_profile_cannot_point_a_rule_at_a_host_file(plate, shop, host_files):
    table = shop / "drills.toml"
    table.write_text("extra = [4.0]\n[[series]]\nfrom = 1.0\nto = 10.0\nstep = 0.5\n")
    calls = [("run_dfm", {"process": "cnc-3axis", "profile": {"rules": {"cnc.nonstandard_hole": {"drill_table": name}}}})
             for name in (str(host_files["passwd"]), "/etc/passwd", str(host_files["fifo"]), "../../../etc/passwd",
                          str(table))]
    agent = make_agent([calls_turn(calls), text_turn("done")], plate)
    trace = finishes(lambda: agent.ask("check"), fifos=[host_files["fifo"]])
    codes = [r.result.get("code") if not r.ok else "ok" for r in trace.tool_calls]
    assert codes == ["not_permitted"] * 4 + ["ok"], [r.result for r in trace.tool_calls]
    assert PASSWD_MARK not in everything_sent(agent) and "root:x:0:0" not in everything_sent(agent)


def test_errors_about_a_profile_in_a_profile_folder_never_quote_it(plate, shop):
    (shop / "leaky.toml").write_text(f'{SECRET} = 1\n[rules."cnc.deep_hole"]\nwarn_above = 3.0\n')
    (shop / "binary.toml").write_bytes(b"\xff\xfe" + SECRET.encode() + b"\n")
    (shop / "broken.toml").write_text(f"{SECRET}\n")
    ctx = ToolContext.for_assistant(plate)
    for name in ("leaky", "binary", "broken"):
        error = REGISTRY.call("run_dfm", {"process": "cnc-3axis", "profile": name}, ctx)["error"]
        assert error["code"] == "bad_arguments" and name in error["message"], error
        assert SECRET not in error["message"] and "\\xff" not in error["message"], error


def test_a_user_on_the_command_line_may_still_name_any_profile_file(plate, host_files, tmp_path, capsys):
    """The restriction is for the model and cells: a user's own call and ``check --profile`` read any file."""
    mine = tmp_path / "anywhere" / "mine.toml"
    mine.parent.mkdir()
    mine.write_text(SHOP_PROFILE)
    assert load_profile("cnc-3axis", mine).sources[-1] == str(mine)
    assert REGISTRY.call("run_dfm", {"process": "cnc-3axis", "profile": str(mine)}, ToolContext(document=plate))["ok"]
    from freecad_spatial.spatial_tools import cli

    part = tmp_path / "plate.FCStd"
    plate.saveAs(str(part))
    code = cli.main(["check", str(part), "--process", "cnc-3axis", "--profile", str(mine)])
    report = json.loads(capsys.readouterr().out)
    assert code in (0, 1) and report["profile"]["sources"][-1] == str(mine)


# --- 6. cells and the model's tool calls are read-only -------------------------------------------------


def test_a_cell_cannot_change_the_document(bracket):
    objects, undo = [o.Name for o in bracket.Objects], bracket.UndoCount
    code = ("try:\n    r = tools.suggest_gdt(accept=['all'])\n    print('created', r['created'])\n"
            "except ToolFailed as e:\n    print(e.code, '|', e.message)\n"
            "print(len(tools.suggest_gdt()['suggestions']))")
    result, _ = run_cell(bracket, code, time_s=20.0)
    assert result["error"] is None, result["error"]
    first, count = result["stdout"].splitlines()
    assert first.startswith("read_only |") and "Suggest GD&T" in first
    assert int(count) >= 5  # proposing is reading: it still works
    assert [o.Name for o in bracket.Objects] == objects and bracket.UndoCount == undo


def test_the_models_tool_calls_are_read_only_unless_the_users_command_allows_changes(bracket):
    objects = [o.Name for o in bracket.Objects]
    script = [tool_turn("suggest_gdt", {"accept": ["all"]}), text_turn("done")]
    trace = make_agent(script, bracket).ask("add GD&T")
    assert trace.tool_calls[0].result["code"] == "read_only"
    assert [o.Name for o in bracket.Objects] == objects
    # A command that says it changes the document (may_change_document=True) may accept.
    trace = make_agent(script, bracket, may_change_document=True).ask("apply the suggested GD&T")
    assert trace.tool_calls[0].ok and len(trace.tool_calls[0].result["created"]) >= 5
    assert len(bracket.Objects) > len(objects)


def test_ask_and_the_chat_host_give_the_model_read_only_library_only_contexts(bracket, host_files, shop):
    """The hosts' own contexts hold the limits too, for arguments that arrive without them."""
    from freecad_spatial.panels.chat_host import DocumentHost

    host = DocumentHost(lambda: bracket)
    objects = [o.Name for o in bracket.Objects]
    assert host.call_tool("suggest_gdt", {"accept": ["all"]}, [])["error"]["code"] == "read_only"
    denied = host.call_tool("run_dfm", {"process": "cnc-3axis", "profile": str(host_files["secret"])}, [])
    assert denied["error"]["code"] == "not_permitted" and SECRET not in denied["error"]["message"]
    assert host.call_tool("run_dfm", {"process": "cnc-3axis", "profile": "shop-strict"}, [])["ok"]
    assert [o.Name for o in bracket.Objects] == objects
    # A cell's deadline arrives on the arguments, which the GUI's bridge hands over untouched.
    from freecad_spatial.spatial_tools.context import ToolArguments

    late = ToolArguments.for_cell({"object": "Body"}, time.monotonic())
    assert host.call_tool("mass_properties", late, [])["error"]["code"] == "deadline_exceeded"
    assert host.call_tool("mass_properties", {"object": "Body"}, [])["ok"]


def test_ask_sends_no_host_file_to_the_model_and_changes_nothing(capsys, tmp_path, host_files, monkeypatch):
    """``freecad-spatial ask`` end to end: what goes over the wire never holds a host file's content."""
    from key_leak import TEST_API_KEY

    from freecad_spatial.spatial_tools import cli
    from freecad_spatial.spatial_tools.protocol_servers import ProtocolServer

    monkeypatch.setenv("FREECAD_SPATIAL_OPENAI_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("FREECAD_SPATIAL_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "shop-strict.toml").write_text(SHOP_PROFILE)
    calls = [{"name": "run_dfm", "arguments": {"process": "cnc-3axis", "profile": str(host_files["secret"])}},
             {"name": "run_dfm", "arguments": {"process": "cnc-3axis", "profile": str(host_files["passwd"])}},
             {"name": "suggest_gdt", "arguments": {"accept": ["all"]}},
             {"name": "run_dfm", "arguments": {"process": "cnc-3axis", "profile": "shop-strict"}}]
    with ProtocolServer([{"tool_calls": calls}, "Done."]) as server:
        code = cli.main(["ask", str(BRACKET), "check it", "--backend", "openai", "--base-url", f"{server.url}/v1",
                         "--model", "m", "--tier", "local", "--profile-dir", str(mine), "--json"])
        wire = json.dumps([r.body for r in server.requests])
    trace = json.loads(capsys.readouterr().out)
    assert code == 0 and trace["answer"] == "Done."
    outcomes = [c["result"].get("code") if not c["ok"] else "ok" for c in trace["tool_calls"]]
    assert outcomes == ["not_permitted", "not_permitted", "read_only", "ok"]
    assert SECRET not in wire and PASSWD_MARK not in wire


def test_the_tools_that_can_change_the_document_are_declared():
    """A new tool that adds, removes or recomputes objects must say so (changes_document), or cells could."""
    import re

    tools_dir = REPO / "spatial_tools" / "tools"
    mutating = re.compile(r"addObject|removeObject|openTransaction|commitTransaction|\.recompute\(|accept_suggestions|"
                          r"add_findings|transaction\(")
    touching = {p.stem for p in tools_dir.glob("*.py") if mutating.search(p.read_text())}
    declared = {s.name for s in REGISTRY.specs() if getattr(s, "changes_document", None) is not None}
    assert touching <= declared == {"suggest_gdt", "import_pmi"}  # import_pmi adds objects through gdt.pmi_import
