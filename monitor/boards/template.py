"""The "OpenAI Monitor Board" template (resources/templates/openai_monitor.json), for any stream."""
from __future__ import annotations

import json
from typing import Any

from ..paths import resource_path
from .spec import BoardSpec

TEMPLATE_NAME = "OpenAI Monitor Board"
TEMPLATE_FILE = ("templates", "openai_monitor.json")


def template_data() -> dict[str, Any]:
    """The template as a dict, without `stream` (and with the template's generic name)."""
    return json.loads(resource_path(*TEMPLATE_FILE).read_text(encoding="utf-8"))


def template_spec(stream: str, name: str | None = None) -> BoardSpec:
    """A validated BoardSpec of the template over `stream` (not saved; see repository.new_template_board)."""
    data = template_data()
    data["stream"] = stream
    data["name"] = name or default_board_name(stream)
    return BoardSpec.model_validate(data)


def default_board_name(stream: str) -> str:
    return f"{TEMPLATE_NAME} · {stream}"[:120]
