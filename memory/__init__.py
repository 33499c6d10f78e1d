"""Colony's shared hierarchical memory.

The :class:`MemoryService` owns a store (DuckDB by default), enforces access rules, runs
candidate memories through a :class:`MemoryPolicy`, and answers hybrid searches. Errors live
in :mod:`memory.errors`.

Each public name is imported when first read (:mod:`memory._lazy`): ``colony --help``
and the memory commands need none of LangGraph, Ray or torch.
"""

from typing import TYPE_CHECKING

from memory._lazy import lazy_exports

if TYPE_CHECKING:  # the names, for type checkers; at run time, _EXPORTS
    from memory._access import SYSTEM, AccessRules, Action, Grant, Principal, PrincipalKind
    from memory._conversation import Conversation, Question, Session, Turn
    from memory._duckdb import DuckDBStore
    from memory._duckdb_schema import ARROW_SCHEMA, load_bundled_extension
    from memory._embedding import HashEmbedder, MiniLMEmbedder, default_embedder
    from memory._english import state_slots
    from memory._extraction import (
        DEFAULT_PROMPT,
        Extractor,
        LLMExtractor,
        ModelOutputError,
        RuleExtractor,
        extract_conversation,
    )
    from memory._graph import entity_subgraph, graph_view, k_hop
    from memory._locomo import conversation_to_dict, load_locomo, normalize_evidence, write_locomo
    from memory._namespace import Namespace, validate_namespace
    from memory._ray import RemoteMemory, start_memory_actor
    from memory._retrieval import RetrievalWeights, pack_within_budget
    from memory._service import AppliedDecision, MemoryService
    from memory._slots import SLOTS, SlotModel, shipped_slot_model
    from memory._store import MemoryStore
    from memory._trust import ORIGIN_TRUST, Origin, TrustGuard, instruction_cue
    from memory._types import (
        WINDOW_KEY,
        AddOp,
        Candidate,
        ChangeInfo,
        CreditOp,
        Decision,
        DeleteOp,
        Edge,
        EdgeType,
        Embedder,
        Erasure,
        Filter,
        HistoryEntry,
        MemoryPolicy,
        MemoryRecord,
        NewMemory,
        NewTask,
        NodeKind,
        Operation,
        ScoredMemory,
        Tier,
        UpdateOp,
        WriteOp,
    )

_EXPORTS = {
    "memory._access": ("SYSTEM", "AccessRules", "Action", "Grant", "Principal", "PrincipalKind"),
    "memory._conversation": ("Conversation", "Question", "Session", "Turn"),
    "memory._duckdb": ("DuckDBStore",),
    "memory._duckdb_schema": ("ARROW_SCHEMA", "load_bundled_extension"),
    "memory._embedding": ("HashEmbedder", "MiniLMEmbedder", "default_embedder"),
    "memory._english": ("state_slots",),
    "memory._extraction": (
        "DEFAULT_PROMPT",
        "Extractor",
        "LLMExtractor",
        "ModelOutputError",
        "RuleExtractor",
        "extract_conversation",
    ),
    "memory._graph": ("entity_subgraph", "graph_view", "k_hop"),
    "memory._locomo": ("conversation_to_dict", "load_locomo", "normalize_evidence", "write_locomo"),
    "memory._namespace": ("Namespace", "validate_namespace"),
    "memory._ray": ("RemoteMemory", "start_memory_actor"),
    "memory._retrieval": ("RetrievalWeights", "pack_within_budget"),
    "memory._service": ("AppliedDecision", "MemoryService"),
    "memory._slots": ("SLOTS", "SlotModel", "shipped_slot_model"),
    "memory._store": ("MemoryStore",),
    "memory._trust": ("ORIGIN_TRUST", "Origin", "TrustGuard", "instruction_cue"),
    "memory._types": (
        "AddOp",
        "Candidate",
        "ChangeInfo",
        "CreditOp",
        "Decision",
        "DeleteOp",
        "Edge",
        "EdgeType",
        "Embedder",
        "Erasure",
        "Filter",
        "HistoryEntry",
        "MemoryPolicy",
        "MemoryRecord",
        "NewMemory",
        "NewTask",
        "NodeKind",
        "Operation",
        "ScoredMemory",
        "Tier",
        "UpdateOp",
        "WINDOW_KEY",
        "WriteOp",
    ),
}

__all__ = [
    "ARROW_SCHEMA",
    "DEFAULT_PROMPT",
    "ORIGIN_TRUST",
    "SLOTS",
    "SYSTEM",
    "WINDOW_KEY",
    "AccessRules",
    "Action",
    "AddOp",
    "AppliedDecision",
    "Candidate",
    "ChangeInfo",
    "Conversation",
    "CreditOp",
    "Decision",
    "DeleteOp",
    "DuckDBStore",
    "Edge",
    "EdgeType",
    "Embedder",
    "Erasure",
    "Extractor",
    "Filter",
    "Grant",
    "HashEmbedder",
    "HistoryEntry",
    "LLMExtractor",
    "MemoryPolicy",
    "MemoryRecord",
    "MemoryService",
    "MemoryStore",
    "MiniLMEmbedder",
    "ModelOutputError",
    "Namespace",
    "NewMemory",
    "NewTask",
    "NodeKind",
    "Operation",
    "Origin",
    "Principal",
    "PrincipalKind",
    "Question",
    "RemoteMemory",
    "RetrievalWeights",
    "RuleExtractor",
    "ScoredMemory",
    "Session",
    "SlotModel",
    "Tier",
    "TrustGuard",
    "Turn",
    "UpdateOp",
    "WriteOp",
    "conversation_to_dict",
    "default_embedder",
    "entity_subgraph",
    "extract_conversation",
    "graph_view",
    "instruction_cue",
    "k_hop",
    "load_bundled_extension",
    "load_locomo",
    "normalize_evidence",
    "pack_within_budget",
    "shipped_slot_model",
    "start_memory_actor",
    "state_slots",
    "validate_namespace",
    "write_locomo",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
del TYPE_CHECKING, lazy_exports  # not public names of the package
