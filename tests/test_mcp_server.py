"""The Spatial MCP server through the official SDK's real client (issue 15).

The server runs as a user starts it (``freecad-spatial mcp``, a separate
process), and ``ClientSession`` talks to it over ``stdio_client`` or the
Streamable HTTP client. Each registry tool is called once on a sample part
and its structured result compared with the ``tool`` command's; resources,
prompts, bad arguments, a client that goes away mid-call, the bearer token,
the loopback rule, the tier refusal of an export-controlled part (audited,
0 bytes) and a code cell in the chat's sandbox.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from conftest import REPO, FreeCAD, Part

mcp = pytest.importorskip("mcp", reason="the mcp extra is not installed")
import anyio  # noqa: E402
import httpx2  # noqa: E402
from mcp import ClientSession, StdioServerParameters, stdio_client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from freecad_spatial.spatial_tools.backends.base import split_images  # noqa: E402
from freecad_spatial.spatial_tools.classification import set_classification  # noqa: E402
from freecad_spatial.spatial_tools.registry import load_builtin_tools  # noqa: E402

EXE = str(Path(sys.executable).with_name("freecad-spatial"))
STEP = REPO / "resources" / "samples" / "plate_with_holes.step"

pytestmark = pytest.mark.slow

# One call of each registry tool on the sample (a plate with holes and a pin through one of them).
CALLS = {
    "check_gdt": {},
    "import_pmi": {"file": "supplier.stp", "object": "Plate"},  # a NIST AP242 file beside the sample: its GD&T listed
    "check_interference": {"a": "Plate", "b": "Pin"},
    "find_features": {"object": "Plate"},
    "fit": {"diameter": 10, "hole": "H7", "shaft": "g6"},
    "general_tolerance": {"nominal": 25, "class": "m"},
    "get_selection": {},
    "mass_properties": {"object": "Plate"},
    "measure_angle": {"a": "Plate.Face1", "b": "Plate.Face3"},
    "measure_distance": {"a": "Plate.Face7", "b": "Plate.Face8"},
    "measure_thickness": {"at": "Plate.Face1"},
    "query_feature_tree": {"depth": 1},
    "run_dfm": {"process": "cnc-3axis"},
    "select_region": {"object": "Plate", "filter": {"surface_type": "cylinder"}},
    "stack_up": {"contributors": [{"name": "A", "nominal": 10, "plus": 0.3, "minus": 0.3, "direction": 1},
                                  {"name": "B", "nominal": 4, "plus": 0.2, "minus": 0, "direction": -1}]},
    "suggest_gdt": {"object": "Plate"},
    "render_view": {"view": "top", "width": 200, "height": 150, "highlight": ["Plate.Face7"]},
}


def _save(path: Path, name: str, classification: str | None = None) -> Path:
    doc = FreeCAD.newDocument(name)
    plate = doc.addObject("Part::Feature", "Plate")
    plate.Shape = Part.read(str(STEP))
    pin = doc.addObject("Part::Feature", "Pin")
    pin.Shape = Part.makeCylinder(2.5, 16, FreeCAD.Vector(50, 30, -5))
    if classification:
        set_classification(doc, classification)
    doc.recompute()
    doc.saveAs(str(path))
    FreeCAD.closeDocument(doc.Name)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("mcp")
    plates = FreeCAD.newDocument("McpPlates")  # two plates of 400 holes: measure_distance takes minutes
    holes = [Part.makeCylinder(1.5 + 0.1 * ((20 * i + j) % 7), 15, FreeCAD.Vector(10 + 10 * i, 10 + 10 * j, 5))
             for i in range(20) for j in range(20)]
    shape = Part.makeBox(210, 210, 20).cut(holes)
    plates.addObject("Part::Feature", "Plate").Shape = shape
    plates.addObject("Part::Feature", "Plate2").Shape = shape.translated(FreeCAD.Vector(100, 0, 0))
    plates.saveAs(str(d / "slow.FCStd"))
    FreeCAD.closeDocument(plates.Name)
    shutil.copy(Path(__file__).parent / "data" / "corpora" / "nist-pmi" / "step" / "nist_ctc_01_asme1_ap242-e1.stp",
                d / "supplier.stp")
    return {"sample": _save(d / "sample.FCStd", "McpSample"),
            "secret": _save(d / "secret.FCStd", "McpSecret", "export-controlled"),
            "slow": d / "slow.FCStd", "dir": d}


def _env(tmp_path: Path) -> dict:
    return {**os.environ, "FREECAD_SPATIAL_AUDIT_LOG": str(tmp_path / "audit.jsonl")}


@asynccontextmanager
async def stdio_session(tmp_path: Path, *args: str):
    params = StdioServerParameters(command=EXE, args=["mcp", *args], env=_env(tmp_path))
    with open(tmp_path / "server-stderr.txt", "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


def run(fn, *args):
    return anyio.run(fn, *args)


def audit(tmp_path: Path) -> list[dict]:
    path = tmp_path / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def cli_result(name: str, arguments: dict, doc: Path) -> dict:
    proc = subprocess.run([EXE, "tool", name, "--doc", str(doc), "--args", json.dumps(arguments)],
                          capture_output=True, text=True, timeout=300, cwd=doc.parent)  # a file named as the user would
    return json.loads(proc.stdout)


# --- stdio -----------------------------------------------------------------------------------


def test_every_registry_tool_is_listed_with_its_schemas(tmp_path, files):
    async def scenario():
        async with stdio_session(tmp_path, "--doc", str(files["sample"]), "--tier", "local") as session:
            return (await session.list_tools()).tools

    tools = {t.name: t for t in run(scenario)}
    registry = load_builtin_tools()
    assert set(registry.names()) <= set(tools)
    assert {"open_document", "list_documents", "close_document", "submit_findings"} <= set(tools)
    for spec in registry.specs():
        listed = tools[spec.name]
        assert listed.description == spec.description
        expected = json.loads(json.dumps(spec.input_schema))
        if spec.needs_document:
            assert listed.input_schema["properties"].pop("document")["type"] == "string"
        assert listed.input_schema == expected, spec.name
        assert listed.output_schema["type"] == "object"
        if spec.result_schema.get("type") == "object":
            assert listed.output_schema == spec.result_schema


def test_each_tool_over_stdio_gives_the_cli_result(tmp_path, files):
    async def scenario():
        out = {}
        async with stdio_session(tmp_path, "--doc", str(files["sample"]), "--tier", "local") as session:
            for name, arguments in CALLS.items():
                out[name] = await session.call_tool(name, arguments)
        return out

    results = run(scenario)
    assert set(results) == set(load_builtin_tools().names()), "every tool is called once"
    for name, result in results.items():
        expected = cli_result(name, CALLS[name], files["sample"])
        assert expected["ok"], (name, expected)
        assert not result.is_error, (name, result.content)
        structured = result.structured_content
        # A render's PNG comes as an image content block, not inside the JSON (split_images).
        shown, images = split_images(expected["result"])
        value = structured if isinstance(expected["result"], dict) else structured["result"]
        assert value == shown, name
        assert json.loads(result.content[0].text) == shown, name  # the text form, older clients
        assert [(c.data, c.mime_type) for c in result.content[1:]] == [(i.data, i.media_type) for i in images], name
    # The hole distance a new user asks for: two Ø holes' centres on the plate.
    distance = results["measure_distance"].structured_content
    assert distance["center_distance"] > 0 and distance["axis_distance"] == pytest.approx(distance["center_distance"])
    # Every answer was audited as what left for the client's model.
    records = audit(tmp_path)
    assert {r["tools"][0] for r in records} >= set(CALLS)
    assert all(r["backend"] == "mcp" and r["host"] == "mcp-stdio" and r["bytes"] > 0 for r in records)


def test_bad_arguments_are_an_error_result_and_the_server_goes_on(tmp_path, files):
    async def scenario():
        async with stdio_session(tmp_path, "--doc", str(files["sample"])) as session:
            bad = await session.call_tool("mass_properties", {"object": 5})
            missing = await session.call_tool("measure_distance", {"a": "Plate.Face7"})
            unknown = await session.call_tool("no_such_tool", {})
            no_doc = await session.call_tool("mass_properties", {"object": "Plate", "document": "Nope"})
            good = await session.call_tool("mass_properties", {"object": "Plate"})
            return bad, missing, unknown, no_doc, good

    bad, missing, unknown, no_doc, good = run(scenario)
    for result, code in ((bad, "bad_arguments"), (missing, "bad_arguments"), (unknown, "unknown_tool"),
                         (no_doc, "no_document")):
        assert result.is_error
        assert result.structured_content["error"]["code"] == code, result.structured_content
    assert "expected string" in bad.content[0].text
    assert not good.is_error and good.structured_content["volume"] > 0


def test_documents_open_list_close_and_names_pick_one(tmp_path, files):
    async def scenario():
        async with stdio_session(tmp_path, "--doc", str(files["sample"]), "--tier", "local") as session:
            opened = await session.call_tool("open_document", {"path": str(STEP)})
            listed = await session.call_tool("list_documents", {})
            unnamed = await session.call_tool("mass_properties", {"object": "Plate"})
            named = await session.call_tool("mass_properties", {"object": "Part",
                                                                "document": opened.structured_content["name"]})
            closed = await session.call_tool("close_document", {"document": str(STEP)})
            after = await session.call_tool("list_documents", {})
            single = await session.call_tool("mass_properties", {"object": "Plate"})
            return opened, listed, unnamed, named, closed, after, single

    opened, listed, unnamed, named, closed, after, single = run(scenario)
    assert opened.structured_content["path"] == str(STEP.resolve())
    assert len(listed.structured_content["documents"]) == 2
    assert unnamed.is_error and "several documents are open" in unnamed.structured_content["error"]["message"]
    assert named.structured_content["bbox"]["size"] == [100.0, 60.0, 6.0]
    assert closed.structured_content["closed"] == opened.structured_content["name"]
    assert [d["path"] for d in after.structured_content["documents"]] == [str(files["sample"].resolve())]
    assert not single.is_error


def test_scene_and_findings_resources_and_review_prompts(tmp_path, files):
    finding = {"rule": "cnc.deep_hole", "severity": "warning", "message": "Hole deeper than 4×D",
               "object": "Plate", "elements": ["Face7"], "measured": 6.0, "limit": 4.0, "unit": "xD"}

    async def scenario():
        async with stdio_session(tmp_path, "--doc", str(files["sample"]), "--tier", "local") as session:
            resources = (await session.list_resources()).resources
            scene_uri = next(str(r.uri) for r in resources if str(r.uri).endswith("/scene"))
            findings_uri = next(str(r.uri) for r in resources if str(r.uri).endswith("/findings"))
            scene = (await session.read_resource(scene_uri)).contents[0].text
            before = (await session.read_resource(findings_uri)).contents[0].text
            submitted = await session.call_tool("submit_findings", {"findings": [finding]})
            rejected = await session.call_tool("submit_findings", {"findings": [{**finding, "severity": "fatal"}]})
            after = (await session.read_resource(findings_uri)).contents[0].text
            prompts = (await session.list_prompts()).prompts
            dfm = await session.get_prompt("dfm_review", {"document": "McpSample", "process": "sheet-metal"})
            gdt = await session.get_prompt("gdt_review", {"document": "sample"})
            return scene, before, submitted, rejected, after, prompts, dfm, gdt

    scene, before, submitted, rejected, after, prompts, dfm, gdt = run(scenario)
    encoded = subprocess.run([EXE, "encode", str(files["sample"]), "--budget", "6000"], capture_output=True,
                             text=True, timeout=120).stdout
    assert json.loads(scene)["tree"] == json.loads(encoded)["tree"]  # the canonical JSON the chat sends
    assert json.loads(before) == []
    assert not submitted.is_error and len(submitted.structured_content["added"]) == 1
    assert rejected.is_error and "severity" in rejected.structured_content["error"]["message"]
    [stored] = json.loads(after)
    assert (stored["rule"], stored["elements"], stored["status"]["state"]) == ("cnc.deep_hole", ["Face7"], "open")
    assert {p.name for p in prompts} == {"dfm_review", "gdt_review"}
    assert "sheet-metal" in dfm.messages[0].content.text and "McpSample" in dfm.messages[0].content.text
    assert "check_gdt" in gdt.messages[0].content.text


def test_a_cancelled_call_is_killed_and_the_server_answers_the_next(tmp_path, files):
    async def scenario():
        async with stdio_session(tmp_path, "--doc", str(files["slow"]), "--tier", "local") as session:
            started = time.monotonic()
            with anyio.move_on_after(2.0):
                await session.call_tool("measure_distance", {"a": "Plate", "b": "Plate2"})
            gave_up = time.monotonic() - started
            started = time.monotonic()
            after = await session.call_tool("mass_properties", {"object": "Plate"})
            return gave_up, after, time.monotonic() - started

    gave_up, after, took = run(scenario)
    assert gave_up < 5
    assert not after.is_error and after.structured_content["volume"] > 0
    assert took < 30, "the cancelled call's child no longer holds the server"


# --- tiers -------------------------------------------------------------------------------------


def test_an_export_controlled_part_gets_nothing_in_the_cloud_tier(tmp_path, files):
    async def scenario():
        async with stdio_session(tmp_path, "--doc", str(files["secret"]), "--tier", "cloud") as session:
            tool = await session.call_tool("measure_distance", {"a": "Plate.Face7", "b": "Plate.Face8"})
            listed = await session.call_tool("list_documents", {})
            try:
                await session.read_resource("spatial://documents/secret/scene")
                scene = None
            except mcp.MCPError as exc:
                scene = exc
            fit = await session.call_tool("fit", CALLS["fit"])  # reads no document: still served
            return tool, listed, scene, fit

    tool, listed, scene, fit = run(scenario)
    assert tool.is_error and tool.structured_content["error"]["code"] == "tier_refused"
    assert "export-controlled" in tool.content[0].text and "point_a" not in tool.content[0].text
    assert listed.structured_content["documents"][0]["served"] is False
    assert listed.structured_content["documents"][0]["path"] == ""  # withheld: folder names can carry it too
    assert str(files["secret"]) not in json.dumps(listed.structured_content)
    assert scene is not None and "local tier" in scene.message
    assert not fit.is_error
    refusals = [r for r in audit(tmp_path) if r.get("refused")]
    assert [r["tools"] for r in refusals] == [["measure_distance"], ["resource:scene"]]
    assert all(r["bytes"] == 0 and r["classification"] == "export-controlled" and r["tier"] == "local"
               for r in refusals)
    # Nothing the refused calls would have returned is in the log either (only sizes and hashes).
    assert all("point_a" not in json.dumps(r) and "center" not in json.dumps(r) for r in refusals)


def test_the_same_part_is_served_in_the_local_tier(tmp_path, files):
    async def scenario():
        async with stdio_session(tmp_path, "--doc", str(files["secret"]), "--tier", "local") as session:
            return await session.call_tool("measure_distance", {"a": "Plate.Face7", "b": "Plate.Face8"})

    result = run(scenario)
    assert not result.is_error and result.structured_content["center_distance"] > 0
    [record] = audit(tmp_path)
    assert record["tier"] == "local" and record["bytes"] > 0 and "refused" not in record


def test_cloud_tier_without_raw_geometry_offers_no_raw_geometry_tool(tmp_path, files):
    async def scenario():
        async with stdio_session(tmp_path, "--doc", str(files["sample"]), "--tier", "cloud",
                                 "--no-raw-geometry") as session:
            names = {t.name for t in (await session.list_tools()).tools}
            return names, await session.call_tool("measure_distance", {"a": "Plate.Face7", "b": "Plate.Face8"})

    names, result = run(scenario)
    raw = {s.name for s in load_builtin_tools().specs() if s.raw_geometry}
    assert raw and not raw & names
    assert result.is_error and result.structured_content["error"]["code"] == "unknown_tool"


# --- code cells --------------------------------------------------------------------------------


def test_run_python_runs_in_the_chat_sandbox(tmp_path, files):
    from freecad_spatial.spatial_tools.agent.cell_kernel import cells_unavailable_reason

    if reason := cells_unavailable_reason():
        pytest.skip(reason)

    async def scenario():
        async with stdio_session(tmp_path, "--doc", str(files["sample"]), "--tier", "local") as session:
            cell = await session.call_tool("run_python", {"code": (
                "r = tools.mass_properties(object='Plate')\nprint(round(r['volume']))")})
            escape = await session.call_tool("run_python", {"code": "open('/etc/passwd').read()"})
            return cell, escape

    cell, escape = run(scenario)
    assert not cell.is_error, cell.content
    volume = cli_result("mass_properties", {"object": "Plate"}, files["sample"])["result"]["volume"]
    assert cell.structured_content["stdout"].strip() == str(round(volume))
    assert escape.is_error and "open" in escape.content[0].text


# --- Streamable HTTP ---------------------------------------------------------------------------


@pytest.fixture
def http_server(tmp_path, files):
    proc = subprocess.Popen([EXE, "mcp", "--http", "127.0.0.1:0", "--doc", str(files["sample"]),
                             "--doc", str(files["slow"]), "--tier", "local"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path))
    url = token = None
    end = time.monotonic() + 120
    lines = []
    while (url is None or token is None) and time.monotonic() < end:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if m := re.match(r"freecad-spatial MCP server: (\S+)", line):
            url = m[1]
        if m := re.match(r"bearer token: (\S+)", line):
            token = m[1]
    assert url and token, "".join(lines)
    yield url, token, proc
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@asynccontextmanager
async def http_session(url: str, token: str):
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        async with streamable_http_client(url, http_client=client) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


def test_http_serves_the_same_tools_with_the_token(http_server, files):
    url, token, proc = http_server

    async def scenario():
        async with http_session(url, token) as session:
            names = {t.name for t in (await session.list_tools()).tools}
            result = await session.call_tool("measure_distance", {**CALLS["measure_distance"], "document": "sample"})
            return names, result

    names, result = run(scenario)
    assert set(load_builtin_tools().names()) <= names
    expected = cli_result("measure_distance", CALLS["measure_distance"], files["sample"])["result"]
    assert result.structured_content == expected
    assert url.startswith("http://127.0.0.1:")
    no_token = httpx2.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    wrong = httpx2.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                        headers={"Authorization": "Bearer " + "x" * len(token)})
    assert (no_token.status_code, wrong.status_code) == (401, 401)


def test_http_client_that_disconnects_mid_call_leaves_the_server_healthy(http_server):
    url, token, proc = http_server

    async def disconnecting():
        async with http_session(url, token) as session:
            with anyio.move_on_after(2.0):
                await session.call_tool("measure_distance", {"a": "Plate", "b": "Plate2", "document": "slow"})

    async def next_client():
        async with http_session(url, token) as session:
            started = time.monotonic()
            result = await session.call_tool("mass_properties", {"object": "Plate", "document": "sample"})
            return result, time.monotonic() - started

    run(disconnecting)
    result, took = run(next_client)
    assert proc.poll() is None
    assert not result.is_error and result.structured_content["volume"] > 0
    assert took < 30


def test_http_refuses_a_non_loopback_address_without_allow_remote(tmp_path):
    proc = subprocess.run([EXE, "mcp", "--http", "0.0.0.0:8799"], capture_output=True, text=True, timeout=120,
                          env=_env(tmp_path))
    assert proc.returncode == 2
    assert "--allow-remote" in proc.stderr and "Traceback" not in proc.stderr


def test_an_unreadable_doc_at_start_is_a_one_line_reason(tmp_path):
    proc = subprocess.run([EXE, "mcp", "--doc", str(tmp_path / "missing.step")], capture_output=True, text=True,
                          timeout=120, env=_env(tmp_path), stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == f"freecad-spatial: {tmp_path / 'missing.step'}: no such file"


def test_connect_forwards_stdio_to_the_http_server(tmp_path, http_server, files):
    """The line for clients that start stdio servers only (Claude Desktop) to reach FreeCAD's live session."""
    url, token, proc = http_server

    async def scenario():
        params = StdioServerParameters(command=EXE, args=["mcp", "--connect", url],
                                       env={**_env(tmp_path), "FREECAD_SPATIAL_MCP_TOKEN": token})
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                names = {t.name for t in (await session.list_tools()).tools}
                result = await session.call_tool("measure_distance", {**CALLS["measure_distance"], "document": "sample"})
                bad = await session.call_tool("mass_properties", {"object": 5, "document": "sample"})
                return names, result, bad

    names, result, bad = run(scenario)
    assert set(load_builtin_tools().names()) <= names
    assert result.structured_content == cli_result("measure_distance", CALLS["measure_distance"], files["sample"])["result"]
    assert bad.is_error and bad.structured_content["error"]["code"] == "bad_arguments"


def test_connect_without_a_server_answers_how_to_start_it(tmp_path):
    async def scenario():
        params = StdioServerParameters(command=EXE, args=["mcp", "--connect", "http://127.0.0.1:9/mcp"],
                                       env=_env(tmp_path))
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                first = await session.call_tool("mass_properties", {"object": "Plate"})
                second = await session.call_tool("mass_properties", {"object": "Plate"})
                return first, second

    first, second = run(scenario)
    for result in (first, second):  # the proxy stays up and tries again
        assert result.is_error and "Serve the open documents over MCP" in result.content[0].text


def test_the_address_rules():
    from freecad_spatial.spatial_tools.mcp.server import check_address, parse_address

    assert parse_address("127.0.0.1:8765") == ("127.0.0.1", 8765)
    assert parse_address("[::1]:9000") == ("::1", 9000)
    for host in ("127.0.0.1", "127.3.4.5", "localhost", "::1"):
        check_address(host, allow_remote=False)
    for host in ("0.0.0.0", "192.168.1.20", "example.org", "::"):
        with pytest.raises(ValueError, match="--allow-remote"):
            check_address(host, allow_remote=False)
        check_address(host, allow_remote=True)
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_address("127.0.0.1")


def test_a_port_in_use_is_said_not_hung():
    import socket

    from freecad_spatial.spatial_tools.mcp.server import HttpServer, build_server
    from freecad_spatial.spatial_tools.mcp.service import SpatialService

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        server = HttpServer(build_server(SpatialService()), "127.0.0.1", taken.getsockname()[1])
        started = time.monotonic()
        with pytest.raises(OSError, match="could not listen"):
            server.start()
        assert time.monotonic() - started < 10
    finally:
        taken.close()
