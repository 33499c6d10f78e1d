"""Policies by name, for the CLI and benchmarks."""

from __future__ import annotations

from collections.abc import Callable

from memory import MemoryPolicy
from memory.errors import InvalidInputError
from policies._baselines import AddAllPolicy, HeuristicPolicy

_FACTORIES: dict[str, Callable[[], MemoryPolicy]] = {
    "add-all": AddAllPolicy,
    "heuristic": HeuristicPolicy,
}


def available_policies() -> list[str]:
    """Names accepted by :func:`make_policy`."""
    return sorted(_FACTORIES)


def make_policy(name: str) -> MemoryPolicy:
    """Build a policy by name (``add-all``, ``heuristic``)."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise InvalidInputError(
            f"unknown memory policy {name!r}; choose one of {', '.join(available_policies())}"
        ) from None
    return factory()
