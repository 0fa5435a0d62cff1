"""Experiment files (YAML or JSON): the guide's contract, shared by `openai-monitor experiment run` and the
Experiments page.

    name: support-tone            prompts: ["You are terse.", ""]     user: "Explain {topic}."
    vars: {topic: [a, b]}         models: [gpt-4o-mini]               params: {temperature: 0}
    stream, repeats, concurrency (optional)      asserts: [{type: contains, value: "x"}, {type: judge, …}]

`load` validates everything and raises ExperimentFileError with one line saying what is wrong and where;
`save` writes YAML for .yaml/.yml and JSON otherwise, atomically.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..files import atomic_text_file
from .runner import ExperimentSpec

MAX_FILE_BYTES = 5 * 2**20


class ExperimentFileError(ValueError):
    """The file can't be used; the message is one line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextAssert(_Strict):
    type: Literal["contains", "not_contains", "equals", "regex"]
    value: str
    label: str | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


class JsonAssert(_Strict):
    type: Literal["is_json"]
    label: str | None = None


class SchemaAssert(_Strict):
    type: Literal["json_schema"]
    value: dict[str, Any]
    label: str | None = None


class LimitAssert(_Strict):
    type: Literal["max_latency_ms", "max_cost_usd"]
    value: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    label: str | None = None


class JudgeAssert(_Strict):
    type: Literal["judge"]
    rubric: Annotated[str, Field(min_length=1)]
    model: str | None = None                                   # default: the cell's model
    scale: Literal["pass_fail", "score"] | None = None         # default: from the rubric's wording
    min_score: Annotated[float, Field(ge=1, le=5)] | None = None   # a 1–5 score passes at this (default 4)
    label: str | None = None


Assert = Annotated[Union[TextAssert, JsonAssert, SchemaAssert, LimitAssert, JudgeAssert], Field(discriminator="type")]
Value = Union[str, int, float, bool]


class ExperimentFile(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    stream: Annotated[str, Field(min_length=1, max_length=400)] = "experiments"
    prompts: list[str] = [""]
    user: Annotated[str, Field(min_length=1)]
    vars: dict[str, list[Value]] = {}
    models: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    params: dict[str, Any] = {}
    repeats: Annotated[int, Field(ge=1, le=1000)] = 1
    concurrency: Annotated[int, Field(ge=1, le=64)] = 4
    asserts: list[Assert] = []


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"] if not str(p).endswith("Assert") and p not in
                     ("contains", "not_contains", "equals", "regex", "is_json", "json_schema", "max_latency_ms",
                      "max_cost_usd", "judge"))
    return f"{where or 'file'}: {err['msg']}"


def parse(text: str, name: str = "experiment file") -> ExperimentSpec:
    """An ExperimentSpec from YAML or JSON text (JSON is YAML too); ExperimentFileError when unusable."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ExperimentFileError(f"{name} is not valid YAML or JSON{where}: "
                                  f"{getattr(exc, 'problem', None) or exc}".splitlines()[0]) from None
    if not isinstance(data, dict):
        raise ExperimentFileError(f"{name} is not an experiment file (expected a mapping with name, user, models)")
    try:
        model = ExperimentFile.model_validate(data)
    except ValidationError as exc:
        raise ExperimentFileError(f"{name}: {_first_error(exc)}".splitlines()[0]) from None
    taken = [k for k in ("model", "messages", "stream", "monitor_attributes") if k in model.params]
    if taken:
        why = "experiments wait for whole replies" if taken[0] == "stream" else "the experiment sets it"
        raise ExperimentFileError(f"{name}: params.{taken[0]}: not allowed here ({why})")
    spec = to_spec(model)
    problems = spec.problems()
    if problems:
        raise ExperimentFileError(f"{name}: {problems[0]}")
    return spec


def load(path: str | os.PathLike) -> ExperimentSpec:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ExperimentFileError(f"{path.name} is over {MAX_FILE_BYTES // 2**20} MB; not an experiment file")
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ExperimentFileError(f"{path.name} is not UTF-8 text") from None
    except OSError as exc:
        raise ExperimentFileError(f"can't read {path}: {exc.strerror or exc}") from None
    return parse(text, path.name)


def to_spec(f: ExperimentFile) -> ExperimentSpec:
    return ExperimentSpec(
        name=f.name, template=f.user, system_prompts=list(f.prompts),
        values={k: [_text(v) for v in vs] for k, vs in f.vars.items()}, models=list(f.models),
        repeats=f.repeats, params=dict(f.params), asserts=[a.model_dump(exclude_none=True) for a in f.asserts],
        concurrency=f.concurrency, stream=f.stream)


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_dict(spec: ExperimentSpec) -> dict[str, Any]:
    """The file's content for a spec, keys in the contract's order (validated, so it loads back)."""
    data: dict[str, Any] = {"name": spec.name, "stream": spec.stream, "prompts": list(spec.system_prompts or [""]),
                            "user": spec.template, "vars": {k: list(v) for k, v in spec.values.items()},
                            "models": list(spec.models)}
    if spec.params:
        data["params"] = dict(spec.params)
    data["repeats"] = spec.repeats
    data["concurrency"] = spec.concurrency
    if spec.asserts:
        data["asserts"] = [dict(a) for a in spec.asserts]
    try:
        ExperimentFile.model_validate(data)
    except ValidationError as exc:
        raise ExperimentFileError(f"can't save: {_first_error(exc)}".splitlines()[0]) from None
    return data


def dumps(spec: ExperimentSpec, fmt: str = "yaml") -> str:
    data = to_dict(spec)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def save(spec: ExperimentSpec, path: str | os.PathLike) -> None:
    """YAML for .yaml/.yml, JSON for anything else; written atomically."""
    path = Path(path)
    text = dumps(spec, "yaml" if path.suffix.lower() in (".yaml", ".yml") else "json")
    with atomic_text_file(path) as f:
        f.write(text)
