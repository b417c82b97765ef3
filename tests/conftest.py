"""Fixtures shared by every test: the async backend and cheap, fixed settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from usermgmt import Settings

TEST_SECRET = "test-signing-secret-of-at-least-32-bytes!"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Run async tests on asyncio, the loop the service runs on in production."""
    return "asyncio"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Defaults, but with argon2 at its cheapest, a fixed secret and a private data dir."""
    return Settings(
        jwt_secret=TEST_SECRET,
        argon2_time_cost=1,
        argon2_memory_cost=8,
        argon2_parallelism=1,
        data_dir=tmp_path / "data",
    )


pytest_plugins = ["tests.mailserver"]  # the in-process SMTP server's fixtures
