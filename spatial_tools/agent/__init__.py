"""The reasoning layer: agent loop, prompts, code cells. Calls tools, never FreeCAD directly."""
