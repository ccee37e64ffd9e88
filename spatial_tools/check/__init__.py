"""Headless batch checks (``freecad-spatial check``): worker processes, reports in four formats."""
