"""Errors raised by :mod:`orchestrator`.

Every error derives from :class:`memory.errors.ColonyError`. The tree::

    ColonyError
    ├── InvalidInputError (ValueError)        a caller passed a bad value
    │   └── TeamDefinitionError               a Team, flow or placement is malformed
    ├── RunStateError                         a run cannot do what was asked in its state
    │                                         (resume an unknown or finished thread, ...)
    └── AgentStepError                        an agent failed inside a run (after retries)

Messages name what was wrong, the offending value, and what to do about it.
"""

from __future__ import annotations

from memory.errors import ColonyError, InvalidInputError

__all__ = ["AgentStepError", "RunStateError", "TeamDefinitionError"]


class TeamDefinitionError(InvalidInputError):
    """A :class:`~orchestrator.Team`, its flow or its placement hints are malformed."""


class RunStateError(ColonyError):
    """The run is not in a state that allows the request (e.g. resuming an unknown thread)."""


class AgentStepError(ColonyError):
    """An agent's step failed after its retries; the cause is chained."""
