"""The demo's scenarios: what staging runs, and which template the pull request proposes."""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from leastpriv_ci.demo.invoke import Staging
from leastpriv_ci.demo.recording import LambdaTracer
from leastpriv_ci.demo.staging import deploy
from leastpriv_ci.emulator import Emulator
from leastpriv_ci.errors import UserError

STACK_NAME = "notes-app-staging"


@dataclass(frozen=True)
class Scenario:
    """Staging is deployed from ``deployed``; the pull request proposes ``proposed``."""

    name: str
    title: str
    deployed: str  # template path, relative to the app folder
    proposed: str


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("baseline", "the app as it is: five functions share a dynamodb:* role",
                 "template.yaml", "template.yaml"),
        Scenario("narrowed", "a pull request narrows the table policy too far",
                 "template.yaml", "scenarios/narrowed.yaml"),
        Scenario("notify", "a pull request adds SNS notifications without sns:Publish",
                 "scenarios/notify.yaml", "scenarios/notify.yaml"),
    )
}


@dataclass(frozen=True)
class StagingRun:
    """What one scenario's integration-test run left behind on the emulator."""

    scenario: Scenario
    proposed_template: Path
    invocations: int
    failures: tuple[str, ...]
    documents: int
    started: float
    ended: float


def find_app(app: Path | None) -> Path:
    """The notes-app folder: as given, else in the working tree or beside the package."""
    candidates = [app] if app else [
        Path.cwd() / "examples" / "notes-app",
        Path(__file__).resolve().parents[2] / "examples" / "notes-app",
    ]
    for candidate in candidates:
        if candidate is not None and (candidate / "template.yaml").is_file():
            return candidate
    raise UserError(
        "cannot find the notes-app example (examples/notes-app/template.yaml); run the demo "
        "from a clone of leastpriv-ci or pass --app DIR"
    )


def _integration_tests(app: Path) -> ModuleType:
    path = app / "integration_tests.py"
    spec = importlib.util.spec_from_file_location("notes_app_integration_tests", path)
    if spec is None or spec.loader is None:
        raise UserError(f"{path}: cannot load the app's integration tests")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_staging(scenario: Scenario, app: Path, emulator: Emulator,
                tracer: LambdaTracer) -> StagingRun:
    """Deploy the scenario's staging, run the integration tests traced, send the traces."""
    emulator.reset()
    started = time.time()
    deployment = deploy(app / scenario.deployed, emulator, STACK_NAME)
    staging = Staging(emulator, deployment, app / "src", tracer)
    suite = _integration_tests(app).run(staging.invoke)
    documents = tracer.flush(emulator.client("xray"))
    return StagingRun(
        scenario=scenario,
        proposed_template=app / scenario.proposed,
        invocations=suite.calls,
        failures=tuple(suite.failures),
        documents=documents,
        started=started,
        ended=time.time(),
    )
