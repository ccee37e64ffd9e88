"""Headless logic of the chat dock: reference links, the trace view model, errors with advice,
conversation persistence. No Qt, no FreeCADGui: tested in a plain Python."""
