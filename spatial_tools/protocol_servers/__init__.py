"""Loopback protocol test servers: the Anthropic and OpenAI (vLLM) wire formats from scripted
turns, with per-request fault injection. For tests and for demos without a model::

    python -m freecad_spatial.spatial_tools.protocol_servers --port 8765 --script turns.json
"""

from .faults import Fault
from .script import Script, ScriptedToolCall, Turn
from .server import ProtocolServer, RecordedRequest

__all__ = ["Fault", "ProtocolServer", "RecordedRequest", "Script", "ScriptedToolCall", "Turn"]
