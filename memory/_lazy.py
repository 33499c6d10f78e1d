"""A package's public names, imported when first used (PEP 562).

``import orchestrator`` used to import LangGraph, and ``import memory`` DuckDB, Arrow, numpy
and networkx, so ``colony --help`` took ~3 s before it printed a line. A package built with
:func:`lazy_exports` imports the module behind a name when the name is first read
(``from memory import MemoryService`` or ``memory.MemoryService``), and keeps it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, whose public names live in the
    submodules ``exports`` maps them from (``{"memory._service": ("MemoryService",)}``).

    A name that is neither exported nor a submodule raises AttributeError, so ``from package
    import _submodule`` still imports the submodule.
    """
    home = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> object:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # read once: later reads skip this hook
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *home})

    return __getattr__, __dir__
