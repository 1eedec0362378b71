"""The local model server: both model wire protocols (OpenAI chat completions, Anthropic
messages) answered by scripts, injected faults and cassettes, in its own FastAPI app."""
