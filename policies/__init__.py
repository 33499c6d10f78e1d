"""Memory-manager policies: decide ADD / UPDATE / DELETE / NOOP for each candidate memory."""

from policies._baselines import AddAllPolicy, HeuristicPolicy
from policies._registry import available_policies, make_policy

__all__ = ["AddAllPolicy", "HeuristicPolicy", "available_policies", "make_policy"]
