"""Memory-manager policies: decide ADD / UPDATE / DELETE / NOOP for each candidate memory."""

from policies._baselines import AddAllPolicy, HeuristicPolicy
from policies._llm import DEFAULT_POLICY_PROMPT, LLMPolicy
from policies._registry import (
    PolicyFactory,
    available_policies,
    make_policy,
    register_policy,
    scoped_policies,
)

__all__ = [
    "DEFAULT_POLICY_PROMPT",
    "AddAllPolicy",
    "HeuristicPolicy",
    "LLMPolicy",
    "PolicyFactory",
    "available_policies",
    "make_policy",
    "register_policy",
    "scoped_policies",
]
