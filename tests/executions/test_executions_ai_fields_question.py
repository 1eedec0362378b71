"""The question a send node's AI fields put to the model, and how its answer is read."""

from __future__ import annotations

from typing import Any

from threadline.executions.ai_fields import WRITE_TOOL, answer, model_request
from threadline.llm.types import ModelReply, ToolCall, Usage

REQUEST: dict[str, Any] = {
    "provider_model_name": "m",
    "fields": [
        {"path": "parameters.1", "prompt": "the order id", "max_length": 1024},
        {"path": "parameters.due date", "prompt": "the day it arrives", "max_length": 1024},
    ],
    "last_user_input": "where is it?",
    "variables": {"name": "Ana"},
}


def _reply(arguments: dict[str, str]) -> ModelReply:
    call = ToolCall(id="c1", name=WRITE_TOOL, arguments=arguments)
    return ModelReply(text="", tool_calls=(call,), model="m", usage=Usage(3, 4))


def test_a_path_no_provider_accepts_as_a_property_is_offered_under_a_plain_name() -> None:
    question = model_request(REQUEST)
    [tool] = question.tools
    assert list(tool.parameters["properties"]) == ["parameters.1", "field_2"]
    assert tool.parameters["required"] == ["parameters.1", "field_2"]
    assert tool.parameters["properties"]["field_2"]["description"] == "the day it arrives"
    assert question.tool_choice == "required"
    assert "- field_2 (at most 1024 characters): the day it arrives" in question.system


def test_the_answer_is_read_back_by_field_path() -> None:
    result = answer(_reply({"parameters.1": "A-7", "field_2": "Friday"}), REQUEST)
    assert result.ok
    assert result.body["values"] == {"parameters.1": "A-7", "parameters.due date": "Friday"}
    assert "text" not in result.body
