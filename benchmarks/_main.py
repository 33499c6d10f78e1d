"""The ``python -m benchmarks.<name>`` entry point that the benchmarks share."""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any


def run_as_script(
    run: Callable[..., dict[str, Any]],
    summarize: Callable[[dict[str, Any]], str],
    description: str | None,
    argv: Sequence[str] | None = None,
) -> None:
    """Parse one option per keyword parameter of ``run`` (its default stated once, there),
    call it, print its JSON on stdout and ``summarize``'s line on stderr."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for name, parameter in inspect.signature(run).parameters.items():
        default = parameter.default
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    result = run(**vars(parser.parse_args(argv)))
    print(json.dumps(result))
    print(summarize(result), file=sys.stderr)
