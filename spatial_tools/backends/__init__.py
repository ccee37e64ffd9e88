"""Model backends behind one interface (base.Backend): Anthropic Messages and OpenAI-compatible."""
