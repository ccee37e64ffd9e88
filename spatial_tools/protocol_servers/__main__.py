"""Runs a protocol test server until interrupted (a model-free demo endpoint).

Without ``--script`` it replays the built-in demo (resources/protocol_demo.json)
in a loop, so ``freecad-spatial ask FILE "question" --base-url URL`` works
against it with no model and no script to write.
"""

from __future__ import annotations

import argparse
import sys
import threading

from freecad_spatial import RESOURCES

from .script import Script
from .server import ProtocolServer

DEMO_SCRIPT = RESOURCES / "protocol_demo.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m freecad_spatial.spatial_tools.protocol_servers",
        description="Serve scripted model turns over the Anthropic Messages and OpenAI chat-completions wire formats.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: an ephemeral one)")
    parser.add_argument("--script", default=str(DEMO_SCRIPT),
                        help="JSON file: a list of turns or {turns, loop} (default: the built-in demo, looping)")
    parser.add_argument("--loop", action="store_true", help="start the script again when it runs out")
    parser.add_argument("--require-key", default=None, help="answer 401 unless this key is sent")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    try:
        script = Script.load(args.script)
    except (OSError, ValueError, TypeError) as exc:
        print(f"cannot read the script {args.script}: {exc}", file=sys.stderr)
        return 2
    script.loop = script.loop or args.loop
    server = ProtocolServer(script, host=args.host, port=args.port, require_key=args.require_key, verbose=args.verbose)
    server.start()
    print(f"Anthropic Messages:     POST {server.url}/v1/messages (base_url {server.url})", flush=True)
    print(f"OpenAI chat completions: POST {server.url}/v1/chat/completions (base_url {server.url}/v1)", flush=True)
    print(f"{len(script.turns)} scripted turns{' (looping)' if script.loop else ''}; Ctrl-C stops.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
