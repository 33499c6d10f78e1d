"""Helpers shared by unit and integration tests (importable as ``helpers`` under pytest)."""
