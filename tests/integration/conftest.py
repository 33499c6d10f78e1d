"""Fixtures that start real Ray runtimes and always stop them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def local_ray() -> Iterator[Any]:
    """A local Ray runtime on 127.0.0.1, shut down even when tests fail."""
    import ray

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"COLONY_EMBEDDER": "hash"}},
    )
    try:
        yield ray
    finally:
        ray.shutdown()
