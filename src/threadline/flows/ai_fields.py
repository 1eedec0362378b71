"""AI fields: values of a send node that the node's model writes when the node runs.

The builder SDK puts the marker ``{"$ai": {}}`` where the value goes and the field's prompt
in ``ai_field_config``, keyed by the field's dotted path (``message``, ``body_text``,
``parameters.2``); a template's parameters are keyed under both of their names,
``parameters.2`` and ``template_params.2``. This module finds the markers in a raw config
and lists every problem of a node's AI fields at once (:func:`ai_field_problems`); the
send nodes' config models build on its parsed types (:class:`AIField`, the text fields
that may be one, :class:`AIFieldsConfig`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, TypeAlias

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

AI_MARKER = "$ai"
CONFIG_KEY = "ai_field_config"
MODEL_KEY = "provider_model_name"
PROMPT_MODE = "prompt"
#: The name template parameters are known by; ``template_params`` is the SDK's alias.
PARAMETERS = "parameters"
_PARAMETER_NAMES = (PARAMETERS, "template_params")

#: The fields that may be AI fields, per node type (templates: any parameter value).
AI_FIELD_SLOTS: Mapping[str, tuple[str, ...]] = {
    "send_text": ("message",),
    "send_interactive": ("body_text", "header_text", "footer_text"),
    "send_template": _PARAMETER_NAMES,
}

Path = tuple[str | int, ...]


class _Config(BaseModel):
    # As the node configs' (``node_configs._Config``).
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


def is_marker(value: Any) -> bool:
    """Whether ``value`` is the SDK's AI-field marker ``{"$ai": {...}}``."""
    return isinstance(value, Mapping) and AI_MARKER in value


def marker_paths(value: Any, path: Path = ()) -> Iterator[Path]:
    """Where the markers are inside ``value`` (``ai_field_config`` itself is not searched)."""
    if is_marker(value):
        yield path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not (path == () and key == CONFIG_KEY):
                yield from marker_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from marker_paths(item, (*path, index))


def dotted(path: Path) -> str:
    """The ``ai_field_config`` key of a field: ``("parameters", 2)`` → ``parameters.2``."""
    return ".".join(str(part) for part in path)


def canonical(key: str) -> str:
    """A key with a template's ``template_params`` prefix spelt ``parameters``."""
    head, dot, rest = key.partition(".")
    return f"{PARAMETERS}.{rest}" if dot and head in _PARAMETER_NAMES else key


def takes_marker(node_type: str, path: Path) -> bool:
    """Whether the field at ``path`` of a ``node_type`` config may be an AI field."""
    slots = AI_FIELD_SLOTS.get(node_type, ())
    if node_type == "send_template":
        return len(path) >= 2 and path[0] in slots
    return len(path) == 1 and path[0] in slots


def _where_allowed(node_type: str) -> str:
    if node_type not in AI_FIELD_SLOTS:
        return (
            f"a {node_type} node takes no AI fields (they are for send_text, "
            "send_interactive and send_template)"
        )
    if node_type == "send_template":
        return "cannot be an AI field; in a send_template node only parameter values can"
    return f"cannot be an AI field; a {node_type} node's AI fields: " + ", ".join(
        AI_FIELD_SLOTS[node_type]
    )


def _entry_problems(key: str, entry: Any) -> Iterator[tuple[Path, str]]:
    where: Path = (CONFIG_KEY, key)
    if not isinstance(entry, Mapping):
        yield where, 'must be an object {"mode": "prompt", "prompt": "..."}'
        return
    if entry.get("mode", PROMPT_MODE) != PROMPT_MODE:
        yield (*where, "mode"), f"must be {PROMPT_MODE!r} (the only mode), not {entry['mode']!r}"
    prompt = entry.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        yield (*where, "prompt"), "must be a non-empty text telling the model what to write"


def _entries(config: Mapping[str, Any]) -> tuple[Mapping[str, Any], list[tuple[Path, str]]]:
    entries = config.get(CONFIG_KEY, {})
    if isinstance(entries, Mapping):
        return entries, []
    return {}, [((CONFIG_KEY,), "must be an object: field path → {mode, prompt}")]


def _alias_problems(entries: Mapping[str, Any]) -> Iterator[tuple[Path, str]]:
    """A template parameter's entries under its two names must agree."""
    seen: dict[str, str] = {}
    for key, entry in entries.items():
        first = seen.setdefault(canonical(key), key)
        if first != key and entries[first] != entry:
            yield (CONFIG_KEY, key), f"differs from ai_field_config[{first!r}]"


def _pairing_problems(
    fields: Mapping[str, Path], entries: Mapping[str, Any]
) -> Iterator[tuple[Path, str]]:
    """Each AI field has its prompt, each prompt its AI field, and each prompt is valid."""
    keys = {canonical(key) for key in entries}
    for key, path in fields.items():
        if key not in keys:
            yield path, f"is an AI field without a prompt: add ai_field_config[{key!r}]"
    for key, entry in entries.items():
        if canonical(key) not in fields:
            yield (CONFIG_KEY, key), f'no AI field at {key!r} (its value is not {{"$ai": {{}}}})'
        yield from _entry_problems(key, entry)


def ai_field_problems(node_type: str, config: Mapping[str, Any]) -> list[tuple[Path, str]]:
    """``(path, message)`` for every problem of the AI fields of one node's raw config."""
    markers = list(marker_paths(config))
    problems = [(p, _where_allowed(node_type)) for p in markers if not takes_marker(node_type, p)]
    if node_type not in AI_FIELD_SLOTS:
        return problems  # an ai_field_config there is an unknown key, reported as such
    fields = {canonical(dotted(p)): p for p in markers if takes_marker(node_type, p)}
    entries, shape = _entries(config)
    problems += [*shape, *_pairing_problems(fields, entries), *_alias_problems(entries)]
    if fields and config.get(MODEL_KEY) in (None, ""):
        problems.append(((MODEL_KEY,), "is required with AI fields (the model that writes them)"))
    return problems


# The parsed side


class AIField(_Config):
    """A value the node's model writes when the node runs: the SDK's ``{"$ai": {}}``."""

    spec: dict[str, Any] = Field(default_factory=dict, alias=AI_MARKER)


class AIPrompt(_Config):
    """One ``ai_field_config`` entry: what the model is asked to write in a field.

    Read leniently: the rules (``mode`` is ``prompt``, a non-empty prompt) are checked
    when a definition is saved (:func:`ai_field_problems`).
    """

    mode: str = "prompt"
    prompt: str = ""


#: Tags of the plain and AI members of a field that may be an AI field; they appear in a
#: validation error's location, which :func:`.definition_checks.format_path` leaves out.
TEXT_TAG, AI_TAG = "[text]", "[ai field]"


def _ai_tag(value: Any) -> str:
    return AI_TAG if is_marker(value) else TEXT_TAG


_AIMember: TypeAlias = Annotated[AIField, Tag(AI_TAG)]
MessageText: TypeAlias = Annotated[
    Annotated[str, Field(min_length=1, max_length=4096), Tag(TEXT_TAG)] | _AIMember,
    Discriminator(_ai_tag),
]
BodyText: TypeAlias = Annotated[
    Annotated[str, Field(min_length=1, max_length=1024), Tag(TEXT_TAG)] | _AIMember,
    Discriminator(_ai_tag),
]
ShortText: TypeAlias = Annotated[
    Annotated[str, Field(max_length=60), Tag(TEXT_TAG)] | _AIMember, Discriminator(_ai_tag)
]


class AIFieldsConfig(_Config):
    """A send node's config, some of whose fields may be AI fields."""

    provider_model_name: str | None = None
    ai_field_config: dict[str, AIPrompt] = Field(default_factory=dict)

    @property
    def ai_field_paths(self) -> list[str]:
        """The dotted paths of this config's AI fields, in order."""
        return []

    @property
    def ai_fields(self) -> dict[str, str]:
        """Each AI field's dotted path → its prompt."""
        prompts = {canonical(key): entry.prompt for key, entry in self.ai_field_config.items()}
        return {path: prompts.get(path, "") for path in self.ai_field_paths}
