"""The agent interpreter: a second pure interpreter beside the flow engine's."""
