"""Sandbox sessions: a test phone joins a project by sending a code to the sandbox number."""
