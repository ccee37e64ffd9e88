"""Placeholder until the tool lands; the registry test fails while it registers nothing."""
