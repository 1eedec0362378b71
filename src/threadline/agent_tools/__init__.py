"""The external tools of agents: webhook requests, knowledge bases and MCP servers.

Library code the agent runtime's jobs call: each function takes its tool's config (as
the agent graph stores it), the model's arguments, and an injected client or session,
and answers a :class:`~threadline.agent_tools.result.ToolResult` the runtime feeds back
to the model. No FastAPI here, and no transaction is committed.
"""
