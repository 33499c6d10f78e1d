"""Private, bounded working memory for one agent."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass

from memory.errors import InvalidInputError

__all__ = ["WorkingItem", "WorkingMemory", "count_words"]


def count_words(text: str) -> int:
    """Default tokenizer: whitespace-separated words (a cheap, model-free token estimate)."""
    return len(text.split())


@dataclass(frozen=True)
class WorkingItem:
    """One entry of working memory.

    Attributes:
        text: The content.
        importance: 0..1; lower is evicted first.
        kind: A free label (``note``, ``observation``, ``tool_result``, ...).
        tokens: Cost of ``text`` under the memory's tokenizer.
        seq: Insertion order within this memory; lower is older.
    """

    text: str
    importance: float
    kind: str
    tokens: int
    seq: int


class WorkingMemory:
    """A token-bounded scratchpad that only its agent sees.

    When an addition takes the memory over budget, the least useful items are evicted —
    lowest importance first, then the oldest — and returned so the caller can spill them to
    the interaction tier. The new item competes too: one less important than everything
    held is itself returned as evicted. One owner; not thread-safe.
    """

    def __init__(
        self, budget_tokens: int, *, tokenizer: Callable[[str], int] = count_words
    ) -> None:
        """Create an empty memory.

        Args:
            budget_tokens: Most tokens held at once; a positive int.
            tokenizer: Counts the tokens of a text.

        Raises:
            InvalidInputError: ``budget_tokens`` is not a positive int or ``tokenizer`` is not
                callable.
        """
        if not isinstance(budget_tokens, int) or isinstance(budget_tokens, bool):
            raise InvalidInputError(f"budget_tokens must be an int, got {budget_tokens!r}")
        if budget_tokens <= 0:
            raise InvalidInputError(f"budget_tokens must be > 0, got {budget_tokens}")
        if not callable(tokenizer):
            raise InvalidInputError(f"tokenizer must be callable, got {tokenizer!r}")
        self._budget = budget_tokens
        self._tokenizer = tokenizer
        self._items: dict[int, WorkingItem] = {}  # by seq, oldest first
        self._queue: list[tuple[float, int]] = []  # (importance, seq): a heap, next victim first
        self._tokens = 0
        self._seq = 0

    @property
    def budget_tokens(self) -> int:
        """Most tokens held at once."""
        return self._budget

    @property
    def tokens(self) -> int:
        """Tokens held now (never above the budget)."""
        return self._tokens

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> tuple[WorkingItem, ...]:
        """Items held, oldest first."""
        return tuple(self._items.values())

    def add(
        self, text: str, *, importance: float = 0.5, kind: str = "note"
    ) -> tuple[WorkingItem, ...]:
        """Add ``text``, evicting the least useful items if the budget is exceeded.

        Args:
            text: Non-empty content.
            importance: 0..1; lower is evicted first.
            kind: Non-empty label for the item.

        Returns:
            The evicted items, least useful first (empty when nothing was evicted).

        Raises:
            InvalidInputError: Bad text, importance or kind, or a text larger than the whole
                budget. The memory is unchanged.
        """
        if not isinstance(text, str):
            raise InvalidInputError(f"text must be a str, got {type(text).__name__}")
        if not text.strip():
            raise InvalidInputError("text must not be empty or whitespace")
        if (
            not isinstance(importance, int | float)
            or isinstance(importance, bool)
            or not math.isfinite(importance)
            or not 0.0 <= importance <= 1.0
        ):
            raise InvalidInputError(f"importance must be a number in [0, 1], got {importance!r}")
        if not isinstance(kind, str) or not kind:
            raise InvalidInputError(f"kind must be a non-empty str, got {kind!r}")
        tokens = self._tokenizer(text)
        if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
            raise InvalidInputError(f"tokenizer must return an int >= 0, got {tokens!r}")
        if tokens > self._budget:
            raise InvalidInputError(
                f"an item of {tokens} tokens does not fit a working memory of "
                f"{self._budget} tokens; shorten or summarise it, or store it in shared memory"
            )
        item = WorkingItem(text, float(importance), kind, tokens, self._seq)
        self._seq += 1
        self._items[item.seq] = item
        heapq.heappush(self._queue, (item.importance, item.seq))
        self._tokens += tokens
        evicted: list[WorkingItem] = []
        while self._tokens > self._budget:
            victim = self._items.pop(heapq.heappop(self._queue)[1])
            self._tokens -= victim.tokens
            evicted.append(victim)
        return tuple(evicted)

    def clear(self) -> tuple[WorkingItem, ...]:
        """Remove and return every item, oldest first."""
        items = tuple(self._items.values())
        self._items.clear()
        self._queue.clear()
        self._tokens = 0
        return items
