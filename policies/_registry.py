"""Policies by name, for the CLI and benchmarks.

Built in: ``add-all``, ``heuristic`` and ``llm`` (which needs ``complete=``, a function
prompt -> reply). Other policies plug in with :func:`register_policy`. The learned policy
registers itself under ``learned`` when its module (``policies._learned``) is imported, which
:func:`make_policy` does on first use; its factory takes ``checkpoint=`` and receives the path
when :func:`make_policy` is given the path of an existing file.

:func:`scoped_policies` swaps in factories for the current context only (the CLI uses it to
hand a configured model to code that builds policies by name).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from memory import MemoryPolicy
from memory.errors import InvalidInputError
from policies._baselines import AddAllPolicy, HeuristicPolicy
from policies._llm import LLMPolicy

PolicyFactory = Callable[..., MemoryPolicy]

LEARNED = "learned"


def _llm(complete: Callable[[str], str] | None = None, **options: Any) -> MemoryPolicy:
    if complete is None:
        raise InvalidInputError(
            "the llm policy needs a model: make_policy('llm', complete=fn) with fn(prompt) -> "
            "reply; the colony CLI builds one from COLONY_OPENAI_BASE_URL (or OPENAI_BASE_URL), "
            "OPENAI_API_KEY and COLONY_MODEL"
        )
    return LLMPolicy(complete, **options)


_BUILTIN: dict[str, PolicyFactory] = {
    "add-all": AddAllPolicy,
    "heuristic": HeuristicPolicy,
    "llm": _llm,
}
# Policies that need no options, listed by available_policies().
_READY = ("add-all", "heuristic")
_REGISTERED: dict[str, PolicyFactory] = {}
# Names whose module registers them on import.
_LAZY_MODULES = {LEARNED: "policies._learned"}
_SCOPED: ContextVar[Mapping[str, PolicyFactory] | None] = ContextVar(
    "colony_scoped_policies", default=None
)


def register_policy(name: str, factory: PolicyFactory, *, replace: bool = False) -> None:
    """Make ``make_policy(name, **options)`` call ``factory(**options)``.

    Raises:
        InvalidInputError: ``name`` is empty, built in, or taken (and ``replace`` is false).
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"a policy name must be a non-empty string, got {name!r}")
    if name in _BUILTIN:
        raise InvalidInputError(f"{name!r} is a built-in policy; register under another name")
    if name in _REGISTERED and not replace:
        raise InvalidInputError(
            f"a policy is already registered as {name!r}; pass replace=True to replace it"
        )
    if not callable(factory):
        raise InvalidInputError(f"the factory for {name!r} must be callable, got {factory!r}")
    _REGISTERED[name] = factory


@contextmanager
def scoped_policies(factories: Mapping[str, PolicyFactory]) -> Iterator[None]:
    """Within the block (and this context only), ``make_policy`` prefers ``factories``."""
    token = _SCOPED.set({**(_SCOPED.get() or {}), **factories})
    try:
        yield
    finally:
        _SCOPED.reset(token)


def available_policies() -> list[str]:
    """Names :func:`make_policy` builds without options (``llm`` needs ``complete=``)."""
    return sorted({*_READY, *_REGISTERED})


def make_policy(name: str, /, **options: Any) -> MemoryPolicy:
    """Build a policy by name, or a learned policy from the path of a checkpoint file.

    Args:
        name: ``add-all``, ``heuristic``, ``llm``, ``learned``, a registered name, or the
            path of a checkpoint of the learned policy.
        options: Passed to the policy's factory (``complete=`` for ``llm``).

    Raises:
        InvalidInputError: The name is unknown, the learned policy is not available, or the
            factory rejects the options.
    """
    factory = _factory(name)
    if factory is not None:
        return factory(**options)
    if _looks_like_path(name):
        if not Path(name).is_file():
            raise InvalidInputError(
                f"no checkpoint file at {name!r}; give the path of a learned policy's checkpoint "
                f"or one of {_choices()}"
            )
        return _learned_factory(name)(checkpoint=Path(name), **options)
    if name in _LAZY_MODULES:
        return _learned_factory(name)(**options)
    raise InvalidInputError(f"unknown memory policy {name!r}; choose one of {_choices()}")


def _factory(name: str) -> PolicyFactory | None:
    scoped = _SCOPED.get() or {}
    return scoped.get(name) or _BUILTIN.get(name) or _REGISTERED.get(name)


def _learned_factory(asked: str) -> PolicyFactory:
    factory = _factory(LEARNED)
    if factory is not None:
        return factory
    module = _LAZY_MODULES[LEARNED]
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        raise InvalidInputError(
            f"policy {asked!r} needs the learned policy, which is not installed: {module} is "
            f"missing (it registers itself with policies.register_policy({LEARNED!r}, factory))"
        ) from None
    factory = _factory(LEARNED)
    if factory is None:
        raise InvalidInputError(
            f"policy {asked!r} needs the learned policy, but importing {module} did not call "
            f"policies.register_policy({LEARNED!r}, factory)"
        )
    return factory


def _looks_like_path(name: str) -> bool:
    return "/" in name or "\\" in name or Path(name).suffix != "" or Path(name).is_file()


def _choices() -> str:
    names = sorted({*_BUILTIN, *_REGISTERED, *_LAZY_MODULES})
    return ", ".join(names) + " (or a checkpoint file path)"
