from collections.abc import AsyncIterator

import pytest

from tests.faults.stack import Stack, running_stack


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """One set of processes for a module's scenarios: starting them costs more than a test."""
    async with running_stack(tmp_path_factory.mktemp("faults")) as s:
        yield s
