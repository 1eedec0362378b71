"""Sandbox sessions: test phones joined to a project through the shared sandbox number."""
