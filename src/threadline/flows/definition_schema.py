"""The documented shape of a flow definition: one model per node type, for OpenAPI only.

A definition is validated by :func:`threadline.flows.definition.validate_definition`
(every problem at once, in Threadline's words); these models only describe it, built from
the same config models (``node_configs.py``) so that the docs cannot drift from the rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from threadline.flows.node_configs import NODE_CONFIGS


class _Doc(BaseModel):
    model_config = ConfigDict(extra="allow")


def _node_data(node_type: str) -> type[BaseModel]:
    config = NODE_CONFIGS[node_type]
    name = "".join(part.title() for part in node_type.split("_")) + "NodeData"
    model: type[BaseModel] = create_model(
        name,
        __base__=_Doc,
        __doc__=f"A ``{node_type}`` node: {(config.__doc__ or '').strip()}",
        node_type=(Literal[node_type], ...),  # type: ignore[arg-type]
        display_name=(str | None, None),
        config=(config, Field(default_factory=dict)),
    )
    return model


#: One ``data`` model per node type, told apart by ``node_type``.
NodeData: Any = Annotated[
    Union[tuple(_node_data(node_type) for node_type in NODE_CONFIGS)],  # noqa: UP007
    Field(discriminator="node_type"),
]


class PositionDoc(_Doc):
    """Where the builder draws a node; irrelevant to execution."""

    x: float
    y: float


class FlowNodeDoc(_Doc):
    """A node in the builder's shape: ``data.node_type`` selects the ``config`` model."""

    id: str = Field(examples=["ask_name"])
    type: str = "flow-node"
    position: PositionDoc | None = None
    if TYPE_CHECKING:
        data: Any
    else:
        data: NodeData


class FlowEdgeDoc(_Doc):
    """An edge; ``label`` names the exit of ``source`` it leaves by (``next`` by default)."""

    id: str | None = None
    source: str
    target: str
    label: str = "next"


class FlowDefinitionDoc(_Doc):
    """A flow graph: exactly one ``start`` node, edges between node ids."""

    nodes: list[FlowNodeDoc]
    edges: list[FlowEdgeDoc] = Field(default_factory=list)
