"""``freecad-spatial eval``: generated suites, the reference agent, model runs and their report.

What tool access adds to a model's spatial answers, measured on the same items in several modes
(context, code, tools, cells, reference); see cli.py for the command.
"""
