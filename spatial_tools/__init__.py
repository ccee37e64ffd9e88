"""The headless core: tool schema, kernel adapters, CLI. No Qt, no FreeCADGui."""
