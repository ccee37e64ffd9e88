"""The addon and the CLI work without the optional MCP SDK; the server says what to install (issue 15)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

BLOCK = textwrap.dedent('''
    import importlib.abc, sys
    class NoMcp(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "mcp" or name.startswith("mcp."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None
    sys.meta_path.insert(0, NoMcp())
''')


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120)


def test_the_mcp_command_names_what_to_install_and_the_rest_works():
    proc = run('''
        import json, sys
        from freecad_spatial.spatial_tools import cli
        from freecad_spatial.spatial_tools.mcp import sdk_missing_reason
        import freecad_spatial.spatial_tools.mcp.service  # no SDK needed to describe the server
        status = cli.main(["mcp"])
        print(json.dumps({"status": status, "reason": sdk_missing_reason()}))
    ''')
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["status"] == 2
    assert "pip install" in out["reason"] and "mcp" in out["reason"]
    assert "MCP SDK is not installed" in proc.stderr and "Traceback" not in proc.stderr


def test_the_workbench_command_module_loads_without_the_sdk():
    proc = run('''
        from freecad_spatial.commands import serve_mcp
        print(serve_mcp.NAME, sorted(serve_mcp.Command().GetResources()))
    ''')
    assert proc.returncode == 0, proc.stderr
    assert "Spatial_ServeMCP" in proc.stdout and "MenuText" in proc.stdout
