"""Shared fixtures: the local AWS emulator (moto server mode) and test data paths."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leastpriv_ci.emulator import Emulator, running_emulator
from tests.github_server import github  # noqa: F401 - the local GitHub server fixture

DATA = Path(__file__).parent / "data"
# Real X-Ray output (Node.js and Java Lambda functions): a copy of the steering's
# ../shared/data/xray/seed-tool-trace1.json, so that the tests need only the repository.
REAL_TRACE = DATA / "usage" / "seed-tool-trace1.json"


@pytest.fixture(scope="session")
def aws_server() -> Iterator[Emulator]:
    """One moto server for the session, on a free 127.0.0.1 port."""
    with running_emulator() as emulator:
        yield emulator


@pytest.fixture
def aws(aws_server: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The emulator, emptied before each test, with dummy credentials in the environment."""
    aws_server.reset()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", aws_server.region)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return aws_server


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS credentials anywhere boto3 looks: environment, files, instance metadata."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE",
                 "AWS_SESSION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE", "GITHUB_ACTIONS",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
