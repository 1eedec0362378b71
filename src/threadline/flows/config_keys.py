"""Which keys a node's ``config`` may hold: a misspelt key is refused, not ignored.

The valid keys of a node type are its config model's fields (and their aliases). The
builder SDK also emits keys Threadline does not use (a template's ``template_params``, read as
``parameters``; the CTA and WhatsApp-Flows fields of interactive messages): they are listed
here by node type, from the SDK's own serializers, and accepted without effect.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import AliasChoices

from threadline.flows.node_configs import NODE_CONFIGS, NodeConfig

#: Keys the builder SDK emits that Threadline accepts and does not use, per node type.
SDK_ONLY_KEYS: Mapping[str, frozenset[str]] = {
    "send_template": frozenset({"template_params"}),
    "send_interactive": frozenset(
        {
            "header_type",
            "header_media_url",
            "cta_display_text",
            "cta_url",
            "flow_id",
            "flow_cta",
            "flow_token",
        }
    ),
}

#: Other spellings a config model reads itself (``set_variable``'s single-variable form).
ALTERNATE_KEYS: Mapping[str, frozenset[str]] = {
    "set_variable": frozenset({"variable", "value"}),
}


def _model_keys(model: type[NodeConfig]) -> set[str]:
    keys = set()
    for name, info in model.model_fields.items():
        keys.add(name)
        if isinstance(info.validation_alias, AliasChoices):
            keys.update(c for c in info.validation_alias.choices if isinstance(c, str))
        elif isinstance(info.validation_alias, str):
            keys.add(info.validation_alias)
    return keys


def valid_keys(node_type: str) -> list[str]:
    """The keys a ``node_type`` config uses, sorted (what an error message lists)."""
    return sorted(_model_keys(NODE_CONFIGS[node_type]) | ALTERNATE_KEYS.get(node_type, set()))


def accepted_keys(node_type: str) -> frozenset[str]:
    """Every key a ``node_type`` config may hold: the used ones and the SDK's unused ones."""
    return frozenset(valid_keys(node_type)) | SDK_ONLY_KEYS.get(node_type, frozenset())


def unknown_keys(node_type: str, config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(key, message)`` for each key of ``config`` its node type does not know."""
    accepted = accepted_keys(node_type)
    valid = valid_keys(node_type)
    for key in config:
        if key in accepted:
            continue
        text = str(key)
        closest = difflib.get_close_matches(text, valid, n=1, cutoff=0.5)
        hint = f"did you mean {closest[0]!r}? " if closest else ""
        listed = ", ".join(valid) if valid else "none (this node type takes no settings)"
        yield text, f"unknown key {text!r} for a {node_type} node; {hint}valid keys: {listed}"
