"""The MemoryService as a Ray actor, and a client with the same API.

Ray is imported only here, at the edge. The actor owns the DuckDB file (one writer process);
every other actor holds a :class:`RemoteMemory` built from its handle. The actor is threaded
(``max_concurrency``) so concurrent writers' operations are group-committed together.
"""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from collections.abc import Collection, Sequence
from typing import Any, cast

from memory._access import AccessRules, Principal
from memory._retrieval import RetrievalWeights
from memory._types import MemoryPolicy, MemoryRecord, NewMemory
from memory.errors import MemoryIdTakenError
from telemetry import Wire, attached, carrier, collect_for_relay, outgoing, relay, to_relay

__all__ = ["MemoryServiceActor", "RemoteMemory", "start_memory_actor"]


class MemoryServiceActor:
    """Actor body: opens the store inside the actor process and serves it."""

    def __init__(
        self,
        path: str,
        embedder: str | None = None,
        policy: MemoryPolicy | None = None,
        rules: AccessRules | None = None,
        weights: RetrievalWeights | None = None,
        relay: Collection[str] = (),
    ) -> None:
        from memory._embedding import default_embedder
        from memory._service import MemoryService

        if relay:
            collect_for_relay(relay)

        self._service = MemoryService.open(
            path, embedder=default_embedder(embedder), policy=policy, rules=rules, weights=weights
        )

    def call(
        self,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        trace: dict[str, str] | None = None,
    ) -> Any:
        """Invoke a public service method by name, in the caller's trace (``trace``)."""
        if method.startswith("_") or method in {"open", "store"}:
            raise AttributeError(f"MemoryService has no remote method {method!r}")
        with attached(trace):
            return getattr(self._service, method)(*args, **kwargs)

    def call_relay(
        self,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        trace: dict[str, str] | None = None,
    ) -> tuple[Any, list[Wire]]:
        """:meth:`call`, and the spans and measurements made here since the last reply."""
        result = self.call(method, args, kwargs, trace)
        return result, outgoing()

    def pid(self) -> int:
        """The actor's process id (tests kill it by PID)."""
        return os.getpid()

    def close(self) -> None:
        """Close the store so the file can be reopened elsewhere."""
        self._service.close()


# Reads are retried when the actor dies under them; so are adds, under ids the client picks
# first: a retried add whose first try was committed finds its id taken, and reads it back.
_RETRIED_READS = frozenset(
    {"get", "history", "versions", "search", "search_vector", "list_namespaces", "stats"}
)
RETRY_ENV = "COLONY_MEMORY_RETRY_S"
"""How long a client keeps retrying while the memory actor restarts (seconds, default 60)."""


class RemoteMemory:
    """Client of a MemoryService actor; methods mirror :class:`MemoryService`.

    When the actor dies (it restarts from its DuckDB file), reads and adds are retried until
    it is back, for up to :data:`RETRY_ENV` seconds: an add is sent with an id the client
    chose, so one that was committed before the crash is not written twice. Updates and
    deletes are not retried (their compare-and-set cannot tell a first try that went through
    from another writer's): the error reaches the caller, who rereads and decides.
    """

    def __init__(self, handle: Any, *, relay: Collection[str] = ()) -> None:
        self.handle = handle
        self.relay = frozenset(relay)  # what the actor sends home with its replies

    def _call(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        import ray

        if not self.relay:
            return ray.get(self.handle.call.remote(method, args, kwargs, carrier()))
        result, telemetry = ray.get(self.handle.call_relay.remote(method, args, kwargs, carrier()))
        relay(telemetry)
        return result

    def _retrying(
        self,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        retried: list[bool] | None = None,
    ) -> Any:
        """:meth:`_call`, again while the actor is down (see the class docstring); appends
        to ``retried`` before each new try."""
        from ray.exceptions import ActorUnavailableError, RayActorError

        deadline = time.monotonic() + float(os.environ.get(RETRY_ENV, "60"))
        pause = 0.1
        while True:
            try:
                return self._call(method, args, kwargs)
            except (RayActorError, ActorUnavailableError):
                if time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)
                pause = min(2.0, pause * 2)
                if retried is not None:
                    retried.append(True)

    def add(self, text: str, **kwargs: Any) -> MemoryRecord:
        """:meth:`MemoryService.add`, retried under an id chosen here."""
        memory_id = kwargs.get("memory_id") or uuid.uuid4().hex
        principal = kwargs.get("principal")
        try:
            return cast(
                MemoryRecord,
                self._retrying("add", (text,), {**kwargs, "memory_id": memory_id}),
            )
        except MemoryIdTakenError:
            if kwargs.get("memory_id"):
                raise  # the caller's own id: not ours to explain away
            # A try before the actor died was committed: that is this add.
            return cast(MemoryRecord, self._retrying("get", (memory_id,), {"principal": principal}))

    def add_many(
        self, memories: Sequence[NewMemory], *, principal: Principal, origin: str | None = None
    ) -> list[MemoryRecord]:
        """:meth:`MemoryService.add_many`, retried under ids chosen here unless given (one
        transaction: a retry finds all of them taken, or none)."""
        return self._adding("add_many", memories, {"principal": principal, "origin": origin})

    def write(
        self, *, principal: Principal, memories: Sequence[NewMemory] = (), **kwargs: Any
    ) -> list[MemoryRecord]:
        """:meth:`MemoryService.write`; retried, like :meth:`add_many`, when it adds memories.

        The adds are sent under ids chosen here unless given, and the whole call is one
        transaction: a retry that finds them taken proves an earlier try committed, credits
        and all, so nothing is applied twice. The records are then read back, as they are
        now. A call that adds nothing is not retried (a credit alone cannot tell a first try
        that went through from another writer's).
        """
        kwargs["principal"] = principal
        if not memories:
            return cast(
                list[MemoryRecord], self._call("write", (), {**kwargs, "memories": memories})
            )
        return self._adding("write", memories, kwargs, also=list(kwargs.get("credits") or {}))

    def _adding(
        self,
        method: str,
        memories: Sequence[NewMemory],
        kwargs: dict[str, Any],
        also: Sequence[str] = (),
    ) -> list[MemoryRecord]:
        """``method`` with ``memories`` under ids chosen here (or by the caller), retried
        while the actor is down; when a retry finds them taken, the records (and ``also``'s)
        as they are now."""
        if not isinstance(memories, list | tuple) or not all(
            isinstance(m, NewMemory) for m in memories
        ):  # not a batch of memories: the service refuses it, by name
            return cast(
                list[MemoryRecord], self._call(method, (), {**kwargs, "memories": memories})
            )
        named = [m if m.id else dataclasses.replace(m, id=uuid.uuid4().hex) for m in memories]
        retried: list[bool] = []
        try:
            return cast(
                list[MemoryRecord],
                self._retrying(method, (), {**kwargs, "memories": named}, retried),
            )
        except MemoryIdTakenError:
            if not retried:
                raise  # taken before any try of ours: not ours to explain away
            principal = kwargs["principal"]
            return [
                cast(MemoryRecord, self._retrying("get", (i,), {"principal": principal}))
                for i in [*(m.id for m in named), *also]
            ]

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)
        retried = method in _RETRIED_READS

        def call(*args: Any, **kwargs: Any) -> Any:
            if retried:
                return self._retrying(method, args, kwargs)
            return self._call(method, args, kwargs)

        call.__name__ = method
        return call

    def __reduce__(self) -> tuple[Any, ...]:
        # Handles are serialisable, so clients can be passed to other actors.
        return (_remote_memory, (self.handle, self.relay))


def _remote_memory(handle: Any, relay: frozenset[str]) -> RemoteMemory:
    return RemoteMemory(handle, relay=relay)


def start_memory_actor(
    path: str | os.PathLike[str],
    *,
    embedder: str | None = None,
    policy: MemoryPolicy | None = None,
    rules: AccessRules | None = None,
    weights: RetrievalWeights | None = None,
    name: str | None = None,
    max_concurrency: int = 16,
    resources: dict[str, float] | None = None,
    label_selector: dict[str, str] | None = None,
    max_restarts: int = -1,
    relay: Collection[str] | None = None,
) -> RemoteMemory:
    """Start the MemoryService actor for ``path`` on the current Ray cluster.

    It reserves no CPU (I/O-bound) and restarts after a crash, reopening its file. Its spans
    and metrics come back with its replies as ``relay`` says (``spans``, ``metrics``; by
    default what this process exports, see :func:`telemetry.to_relay`).

    Ray must be running in this process (``orchestrator.init_ray()``, which keeps every Ray
    process on 127.0.0.1, or ``ray.init()``): Ray's own start on first use would bind every
    interface unless the environment said otherwise.
    """
    relaying = to_relay() if relay is None else frozenset(relay)
    import ray

    if not ray.is_initialized():
        raise RuntimeError(
            f"no Ray in this process to start the memory actor for {os.fspath(path)!r} on: "
            "call orchestrator.init_ray() first (a local Ray on 127.0.0.1, or address= a "
            "cluster's), or ray.init()"
        )
    actor_cls = ray.remote(MemoryServiceActor)
    options: dict[str, Any] = {
        "num_cpus": 0,
        "max_concurrency": max_concurrency,
        "max_restarts": max_restarts,
        "max_task_retries": 0,
    }
    if name is not None:
        options["name"] = name
    if resources:
        options["resources"] = resources
    if label_selector:
        options["label_selector"] = label_selector
    handle = actor_cls.options(**options).remote(
        os.fspath(path), embedder, policy, rules, weights, relaying
    )
    return RemoteMemory(handle, relay=relaying)
