"""Colony's shared hierarchical memory (being built)."""
