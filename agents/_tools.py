"""Tools: plain Python functions described to a model by a JSON schema of their arguments.

The schema comes from the type hints (through pydantic) and the Google-style docstring; the same
hints validate the arguments a model sends before the function runs.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from pydantic import TypeAdapter, ValidationError
from pydantic.errors import PydanticUserError

from agents._memory_view import AgentMemory
from agents.errors import ToolArgumentError, ToolDefinitionError

__all__ = ["ToolSpec", "tool"]

# OpenAI-compatible endpoints reject other tool names.
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Returns|Return|Yields|Raises|Examples?|Notes?|Attributes"
    r"|See Also|Warnings?):\s*$"
)
_ARG_LINE = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its description and its ``Args`` entries."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    description: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    args_indent = 0
    for line in lines:
        header = _SECTION.match(line.strip()) if not line.startswith(" ") else None
        if header:
            section = header.group(1)
            current = None
            continue
        if section is None:
            description.append(line.strip())
        elif section in ("Args", "Arguments", "Parameters") and line.strip():
            # An entry sits one indent level in; deeper lines continue the previous entry.
            indent = len(line) - len(line.lstrip())
            entry = _ARG_LINE.match(line.strip())
            if entry and (current is None or indent <= args_indent):
                current = entry.group(1).lstrip("*")
                args_indent = indent
                args[current] = entry.group(2).strip()
            elif current is not None:
                args[current] = f"{args[current]} {line.strip()}".strip()
    text = " ".join(" ".join(description).split())
    return text, args


def _check_name(tool_name: object) -> str:
    if not isinstance(tool_name, str) or not _NAME.match(tool_name):
        raise ToolDefinitionError(
            f"tool name {tool_name!r} must be 1-64 letters, digits, '_' or '-'; "
            "pass name=... to choose one"
        )
    return tool_name


def _schema_check(
    tool_name: str, parameters: Mapping[str, Any]
) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """The default argument check of a schema tool: required present, no unknown ones."""
    required = [str(r) for r in parameters.get("required", ())]
    properties = parameters.get("properties") or {}
    closed = parameters.get("additionalProperties") is False

    def check(arguments: Mapping[str, Any]) -> dict[str, Any]:
        if closed:
            for key in arguments:
                if key not in properties:
                    raise ToolArgumentError(
                        tool_name,
                        str(key),
                        arguments[key],
                        f"unknown argument; expected one of {sorted(properties)}",
                    )
        for key in required:
            if key not in arguments:
                raise ToolArgumentError(tool_name, key, None, "missing required argument")
        return dict(arguments)

    return check


@dataclass(frozen=True)
class _Param:
    name: str
    adapter: TypeAdapter[Any]
    required: bool


@dataclass(frozen=True)
class ToolSpec:
    """A function a model may call, with the JSON schema of its arguments.

    Attributes:
        name: The name the model uses.
        description: What the tool does, for the model.
        parameters: JSON schema (an object) of the arguments.
        fn: The function that runs.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    fn: Callable[..., Any] = field(repr=False, compare=False)
    _params: tuple[_Param, ...] = field(default=(), repr=False, compare=False)
    # Parameters the host fills in (annotated AgentMemory); hidden from the model.
    injected: tuple[str, ...] = field(default=(), compare=False)
    _check: Callable[[Mapping[str, Any]], dict[str, Any]] | None = field(
        default=None, repr=False, compare=False
    )

    @classmethod
    def from_function(
        cls,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> ToolSpec:
        """Describe ``fn`` as a tool from its type hints and Google-style docstring.

        Args:
            fn: A synchronous function whose parameters all have type hints.
            name: Tool name; defaults to ``fn.__name__``.
            description: Tool description; defaults to the docstring's description.

        Raises:
            ToolDefinitionError: ``fn`` is not callable, is async, takes ``*args``/``**kwargs``,
                lacks a hint, or has a hint with no JSON schema.
        """
        if not callable(fn):
            raise ToolDefinitionError(f"a tool must be a function, got {fn!r}")
        tool_name = _check_name(name if name is not None else getattr(fn, "__name__", ""))
        if inspect.iscoroutinefunction(fn):
            raise ToolDefinitionError(f"tool {tool_name!r}: async functions are not supported")
        doc_text, doc_args = _parse_docstring(inspect.getdoc(fn))
        try:
            hints = get_type_hints(fn)
        except Exception as exc:  # unresolvable forward references surface as many types
            raise ToolDefinitionError(
                f"tool {tool_name!r}: cannot resolve its type hints ({exc})"
            ) from exc
        properties: dict[str, Any] = {}
        required: list[str] = []
        params: list[_Param] = []
        injected: list[str] = []
        for param in inspect.signature(fn).parameters.values():
            if hints.get(param.name) is AgentMemory:
                injected.append(param.name)
                continue
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise ToolDefinitionError(
                    f"tool {tool_name!r}: *args/**kwargs ({param.name!r}) cannot be described "
                    "to a model; list the arguments explicitly"
                )
            if param.kind is param.POSITIONAL_ONLY:
                raise ToolDefinitionError(
                    f"tool {tool_name!r}: positional-only argument {param.name!r} cannot be "
                    "passed by name"
                )
            if param.name not in hints:
                raise ToolDefinitionError(
                    f"tool {tool_name!r}: argument {param.name!r} has no type hint; add one"
                )
            try:
                adapter: TypeAdapter[Any] = TypeAdapter(hints[param.name])
                schema = adapter.json_schema()
            except (PydanticUserError, TypeError, ValueError) as exc:
                raise ToolDefinitionError(
                    f"tool {tool_name!r}: argument {param.name!r} has type "
                    f"{hints[param.name]!r}, which has no JSON schema ({exc})"
                ) from exc
            if param.name in doc_args:
                schema["description"] = doc_args[param.name]
            has_default = param.default is not param.empty
            if has_default:
                try:
                    json.dumps(param.default)
                    schema["default"] = param.default
                except TypeError:
                    pass  # a default JSON cannot show is still applied when the model omits it
            else:
                required.append(param.name)
            properties[param.name] = schema
            params.append(_Param(param.name, adapter, not has_default))
        parameters: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }
        return cls(
            name=tool_name,
            description=description if description is not None else doc_text,
            parameters=parameters,
            fn=fn,
            _params=tuple(params),
            injected=tuple(injected),
        )

    @classmethod
    def from_schema(
        cls,
        name: str,
        description: str,
        parameters: Mapping[str, Any],
        fn: Callable[..., Any],
        *,
        check: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None,
    ) -> ToolSpec:
        """Describe a function whose arguments already have a JSON schema.

        Args:
            name: Tool name.
            description: What the tool does, for the model.
            parameters: JSON schema (``"type": "object"``) of the arguments.
            fn: Called with the checked arguments as keywords.
            check: Checks the model's arguments and returns those to pass to ``fn``, raising
                :class:`ToolArgumentError` when they do not fit. By default only the
                schema's required and (with ``additionalProperties: false``) unknown
                arguments are checked; ``fn`` must validate the values itself.

        Raises:
            ToolDefinitionError: ``name`` is not a valid tool name, ``parameters`` is not an
                object schema, or ``fn`` or ``check`` is not callable.
        """
        tool_name = _check_name(name)
        if not isinstance(parameters, Mapping) or parameters.get("type") != "object":
            raise ToolDefinitionError(
                f"tool {tool_name!r}: parameters must be a JSON schema with "
                f'"type": "object", got {parameters!r}'
            )
        if not callable(fn) or (check is not None and not callable(check)):
            raise ToolDefinitionError(
                f"tool {tool_name!r}: fn and check must be callables, got {fn!r} and {check!r}"
            )
        if not isinstance(description, str):
            raise ToolDefinitionError(
                f"tool {tool_name!r}: description must be a str, got {description!r}"
            )
        schema = dict(parameters)
        return cls(
            name=tool_name,
            description=description,
            parameters=schema,
            fn=fn,
            _check=check if check is not None else _schema_check(tool_name, schema),
        )

    def validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``arguments`` against the tool's hints (or its schema check) and return them.

        Raises:
            ToolArgumentError: Arguments are not an object, an argument is unknown or missing,
                or a value does not fit its hint.
        """
        if not isinstance(arguments, Mapping):
            raise ToolArgumentError(self.name, None, arguments, "expected a JSON object")
        if self._check is not None:
            return self._check(arguments)
        known = {p.name for p in self._params}
        for key in arguments:
            if key not in known:
                raise ToolArgumentError(
                    self.name,
                    str(key),
                    arguments[key],
                    f"unknown argument; expected one of {sorted(known)}",
                )
        converted: dict[str, Any] = {}
        for param in self._params:
            if param.name not in arguments:
                if param.required:
                    raise ToolArgumentError(
                        self.name, param.name, None, "missing required argument"
                    )
                continue
            value = arguments[param.name]
            try:
                converted[param.name] = param.adapter.validate_python(value)
            except ValidationError as exc:
                reason = "; ".join(str(e["msg"]) for e in exc.errors()[:3])
                raise ToolArgumentError(self.name, param.name, value, reason) from None
        return converted

    def call(self, arguments: Mapping[str, Any], *, memory: AgentMemory | None = None) -> Any:
        """Validate ``arguments`` and run the tool with them.

        Args:
            arguments: The model's arguments.
            memory: Passed to the parameters annotated ``AgentMemory``.

        Raises:
            ToolArgumentError: The arguments do not fit the tool (nothing is run).
            ToolDefinitionError: The tool needs shared memory and none was given.
        """
        kwargs = self.validate(arguments)
        if self.injected:
            if memory is None:
                raise ToolDefinitionError(
                    f"tool {self.name!r} takes shared memory ({', '.join(self.injected)}) but "
                    "its agent has none; give the team a memory"
                )
            kwargs.update(dict.fromkeys(self.injected, memory))
        return self.fn(**kwargs)

    def to_openai(self) -> dict[str, Any]:
        """The tool in the OpenAI chat-completions ``tools`` format."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


def tool(fn: Callable[..., Any]) -> ToolSpec:
    """Decorator: describe ``fn`` as a tool (see :meth:`ToolSpec.from_function`)."""
    return ToolSpec.from_function(fn)
