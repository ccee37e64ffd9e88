"""One module per tool; importing a module registers its tool (see registry.BUILTIN_TOOL_MODULES)."""
