"""Colony package (being built)."""
