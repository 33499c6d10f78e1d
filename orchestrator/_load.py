"""Find a user's team from a ``module:attribute`` or ``path/to/file.py:attribute`` reference."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from pathlib import Path
from types import ModuleType

from orchestrator._team import Team
from orchestrator.errors import TeamDefinitionError

__all__ = ["load_team"]


def _module(reference: str, where: str) -> ModuleType:
    if where.endswith(".py") or os.sep in where:
        path = Path(where)
        if not path.is_file():
            raise TeamDefinitionError(f"{reference!r}: no such file {where!r}")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise TeamDefinitionError(f"{reference!r}: cannot import {where!r}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        return module
    # Like `python -m`, the working directory is importable.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(where)
    except ModuleNotFoundError as exc:
        raise TeamDefinitionError(f"{reference!r}: cannot import module {where!r} ({exc})") from exc
    return module


def _send_by_value(module: ModuleType) -> None:
    """Pickle the user's module by value, so Ray actors need not import it by name.

    A team file is rarely importable on a worker (its directory is not on the worker's path);
    its agents, models and tools travel to their actors inside the pickle instead.
    """
    if "site-packages" in (module.__file__ or "site-packages"):
        return  # an installed package is importable on every worker
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(module)


def load_team(reference: str, *, for_ray: bool = False) -> Team:
    """Load ``module:attr`` (or ``file.py:attr``); ``attr`` is a Team or a function making one.

    With ``for_ray``, the module is pickled by value for the agents' actors.

    Raises:
        TeamDefinitionError: The reference is malformed, or does not lead to a Team.
    """
    where, sep, attribute = reference.rpartition(":")
    if not sep or not where or not attribute:
        raise TeamDefinitionError(
            f"expected module:team or path/to/file.py:team, got {reference!r}"
        )
    module = _module(reference, where)
    if for_ray:
        _send_by_value(module)
    if not hasattr(module, attribute):
        raise TeamDefinitionError(f"{reference!r}: module {where!r} has no {attribute!r}")
    found = getattr(module, attribute)
    if callable(found) and not isinstance(found, Team) and not isinstance(found, type):
        try:
            needs = [
                p
                for p in inspect.signature(found).parameters.values()
                if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            ]
        except (TypeError, ValueError):
            needs = []
        if needs:
            raise TeamDefinitionError(
                f"{reference!r} is a function taking arguments, not an orchestrator.Team; "
                "point at a Team or a function of no arguments that returns one"
            )
        found = found()
    if not isinstance(found, Team):
        raise TeamDefinitionError(
            f"{reference!r} is a {type(found).__name__}, not an orchestrator.Team"
        )
    return found
