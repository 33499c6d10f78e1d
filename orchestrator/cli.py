"""The ``colony`` command line (being built)."""

from __future__ import annotations


def main() -> None:
    """Entry point of the ``colony`` console script."""
    raise SystemExit("colony: the CLI is being built")
