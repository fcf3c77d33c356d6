from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api.authz.world import World, world


@pytest.fixture(scope="module")
async def w(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    """The tenants, built once per module."""
    async with world(dev_env, Path(tmp_path_factory.mktemp("authz"))) as built:
        yield built
