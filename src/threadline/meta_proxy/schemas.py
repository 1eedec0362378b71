"""The proxy's request bodies (its answers are Graph-shaped dicts built by presenters)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from threadline.contacts.schemas import ContactUpdateFields


class ConversationPatch(BaseModel):
    """``PATCH conversations/{id}``: ``{"status": "ended" | "active"}``."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["active", "ended"]


class ContactPatch(BaseModel):
    """``PATCH {phone_number_id}/contacts/{wa_id}``: the fields the Kapso clients send."""

    model_config = ConfigDict(extra="forbid")

    profile_name: str | None = Field(default=None, max_length=200)
    display_name: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] | None = None

    def fields(self) -> ContactUpdateFields:
        """The contacts service's update (one name: ``display_name`` if no profile name)."""
        values: dict[str, Any] = {}
        name = self.profile_name if self.profile_name is not None else self.display_name
        if name is not None:
            values["profile_name"] = name
        if self.metadata is not None:
            values["metadata"] = self.metadata
        return ContactUpdateFields(**values)


class GraphErrorBody(BaseModel):
    """Graph's error object."""

    message: str = Field(examples=["(#100) to is required: the recipient's phone number"])
    type: str = Field(examples=["OAuthException"])
    code: int = Field(examples=[100])
    error_subcode: int | None = None
    error_data: dict[str, Any] | None = None
    fbtrace_id: str


class GraphErrorOut(BaseModel):
    """Every error of the proxy: Graph's envelope (bad input is a 400, never a 422)."""

    error: GraphErrorBody


#: The proxy's documented error answers (``4XX`` also stands in for FastAPI's 422).
GRAPH_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": GraphErrorOut,
        "description": "Graph's error envelope: code 100 bad "
        "input or an object the key cannot see (subcode 33), 190 a bad API key, "
        "131047 outside the 24-hour window",
    },
    "5XX": {
        "model": GraphErrorOut,
        "description": "Graph's envelope: the Graph API behind the number failed (media)",
    },
}
