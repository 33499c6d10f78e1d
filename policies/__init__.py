"""Memory-manager policies: decide ADD / UPDATE / DELETE / NOOP for each candidate memory."""

from policies._baselines import AddAllPolicy, HeuristicPolicy
from policies._env import MemoryManagerEnv
from policies._features import FEATURES, K, featurize
from policies._learned import SHIPPED_CHECKPOINT, LearnedPolicy
from policies._llm import DEFAULT_POLICY_PROMPT, LLMPolicy
from policies._registry import (
    PolicyFactory,
    available_policies,
    make_policy,
    register_policy,
    scoped_policies,
)
from policies._synthetic import (
    TRAINING_EXTRACTOR,
    SyntheticSample,
    SyntheticStatement,
    synthetic_conversation,
    synthetic_conversations,
    synthetic_sample,
    write_synthetic,
)

__all__ = [
    "DEFAULT_POLICY_PROMPT",
    "FEATURES",
    "SHIPPED_CHECKPOINT",
    "TRAINING_EXTRACTOR",
    "AddAllPolicy",
    "HeuristicPolicy",
    "K",
    "LLMPolicy",
    "LearnedPolicy",
    "MemoryManagerEnv",
    "PolicyFactory",
    "SyntheticSample",
    "SyntheticStatement",
    "available_policies",
    "featurize",
    "make_policy",
    "register_policy",
    "scoped_policies",
    "synthetic_conversation",
    "synthetic_conversations",
    "synthetic_sample",
    "write_synthetic",
]
