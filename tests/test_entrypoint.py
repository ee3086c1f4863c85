"""entrypoint.py: the runner's environment → ``leastpriv-ci scan`` arguments (and subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import entrypoint  # noqa: E402 - the repository root is not a package

EVENTS = Path(__file__).parent / "data" / "action" / "events"


def test_hyphenated_inputs_become_long_options() -> None:
    environ = {
        "INPUT_ROLE-TO-ASSUME": "arn:aws:iam::123456789012:role/reader",
        "INPUT_AWS-REGION": "eu-west-1",
        "INPUT_FAIL-ON": "missing,denied",
        "INPUT_COMMENT": "update",
        "INPUT_MAX-EXCESS": "0",
    }
    argv = entrypoint.scan_argv(environ)
    assert argv[:2] == ["scan", "--github-actions"]
    pairs = dict(zip(argv[2::2], argv[3::2], strict=True))
    assert pairs == {
        "--role-to-assume": "arn:aws:iam::123456789012:role/reader",
        "--aws-region": "eu-west-1",
        "--fail-on": "missing,denied",
        "--comment": "update",
        "--max-excess": "0",  # "0" is a value, not "unset"
    }


def test_underscore_spelling_is_accepted_and_blank_means_unset() -> None:
    environ = {"INPUT_ROLE_TO_ASSUME": "arn:aws:iam::1:role/r", "INPUT_AWS-REGION": "  ",
               "INPUT_XRAY-GROUP": ""}
    assert entrypoint.scan_argv(environ) == [
        "scan", "--github-actions", "--role-to-assume", "arn:aws:iam::1:role/r"]


def test_hyphenated_spelling_wins_over_underscore() -> None:
    environ = {"INPUT_COMPARE": "attached", "INPUT_COMMENT-KEY": "a", "INPUT_COMMENT_KEY": "b"}
    argv = entrypoint.scan_argv(environ)
    assert argv[argv.index("--comment-key") + 1] == "a"


def test_list_inputs_split_on_newlines_and_commas() -> None:
    environ = {"INPUT_TRACE-FILES": "traces/a.json\ntraces/b.json, traces/c.json\n\n",
               "INPUT_POLICY-PATHS": "template.yaml"}
    argv = entrypoint.scan_argv(environ)
    assert argv[2:] == ["--trace-files", "traces/a.json", "--trace-files", "traces/b.json",
                        "--trace-files", "traces/c.json", "--policy-paths", "template.yaml"]


def test_values_with_spaces_and_quotes_stay_one_argument() -> None:
    expression = 'annotation.stack = "app-pr-7" AND service("orders")'
    argv = entrypoint.scan_argv({"INPUT_FILTER-EXPRESSION": expression})
    assert argv[-2:] == ["--filter-expression", expression]


def test_token_moves_to_the_environment_never_argv() -> None:
    environ = {"INPUT_GITHUB-TOKEN": "ghs_secret", "INPUT_COMMENT": "update"}
    entrypoint.prepare_environment(environ)
    assert environ == {"INPUT_COMMENT": "update", "LEASTPRIV_GITHUB_TOKEN": "ghs_secret"}
    assert "ghs_secret" not in entrypoint.scan_argv(environ)


def test_workspace_defaults_to_the_runner_mount(tmp_path: Path) -> None:
    assert entrypoint.workspace({"GITHUB_WORKSPACE": str(tmp_path)}) == tmp_path
    expected = Path("/github/workspace") if Path("/github/workspace").is_dir() else None
    assert entrypoint.workspace({}) == expected


def runner_environment(tmp_path: Path, **inputs: str) -> dict[str, str]:
    """What a runner gives a container action, minus the inputs' defaults."""
    (tmp_path / "workspace").mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("INPUT_", "GITHUB_", "AWS_"))}
    env.update({
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(tmp_path / "workspace"),
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(EVENTS / "pull_request.json"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_WORKFLOW": "CI", "GITHUB_JOB": "gate", "GITHUB_RUN_ID": "42",
    })
    env.update({f"INPUT_{name.upper()}": value for name, value in inputs.items()})
    return env


def run_entrypoint(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "entrypoint.py"), *args], env=env,
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_entrypoint_with_arguments_runs_the_plain_cli(tmp_path: Path) -> None:
    result = run_entrypoint(runner_environment(tmp_path), "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: leastpriv-ci")
    assert "exit codes:" in result.stdout


def test_entrypoint_rejects_a_missing_workspace(tmp_path: Path) -> None:
    env = runner_environment(tmp_path)
    env["GITHUB_WORKSPACE"] = str(tmp_path / "nope")
    result = run_entrypoint(env)
    assert result.returncode == 2
    assert "cannot enter the workspace" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_input_error_still_sets_the_verdict_output(tmp_path: Path) -> None:
    env = runner_environment(tmp_path, **{"compare": "sideways", "github-token": "ghs_x"})
    (tmp_path / "output").write_text("earlier=1\n")
    result = run_entrypoint(env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "ghs_x" not in result.stdout + result.stderr
    text = (tmp_path / "output").read_text()
    assert text.startswith("earlier=1\nverdict<<ghadelimiter_")
    assert "\nerror\n" in text
