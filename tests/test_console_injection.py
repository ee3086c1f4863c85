"""Trace and pull-request text never starts a console line: on a GitHub runner such a line
could be read as a workflow command (``::error::``, ``::add-mask::``...)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from leastpriv_ci.cli import main

DATA = Path(__file__).parent / "data"
INJECTED = "::error::injected"
HOSTILE = f"\n{INJECTED}\r\n  {INJECTED}\u2028{INJECTED}"


def _hostile_trace(path: Path) -> Path:
    """The real shared trace with every table and bucket name carrying line breaks."""
    trace = json.loads((DATA / "usage" / "seed-tool-trace1.json").read_text())
    for segment in trace["Segments"]:
        text = segment["Document"]
        for name in ("gen-docs", "xray-test-demo-test-bucket"):
            text = text.replace(f'"{name}"', json.dumps(name + HOSTILE))
        segment["Document"] = text
    path.write_text(json.dumps(trace))
    return path


def _console_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The output split where a runner splits it: at CR, LF and CRLF only (U+2028 stays
    inside a line, as in JSON strings)."""
    out, err = capsys.readouterr()
    assert out or err
    return re.split(r"\r\n|\r|\n", out + err)


def _assert_no_command_starts_a_line(lines: list[str]) -> None:
    for line in lines:
        assert not line.lstrip().startswith("::"), line
    assert any(INJECTED in line for line in lines)  # the text is shown, inside a line


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(DATA / "scan" / "role.json", tmp_path / "role.json")
    shutil.copy(DATA / "scan" / "leastpriv.yml", tmp_path / ".leastpriv.yml")
    _hostile_trace(tmp_path / "trace.json")
    monkeypatch.chdir(tmp_path)
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


@pytest.mark.parametrize("command", [
    ["observe", "--traces", "trace.json"],
    ["generate", "--traces", "trace.json"],
    ["scan", "--traces", "trace.json", "--policy-paths", "role.json"],
])
def test_trace_text_is_kept_inside_its_line(
    checkout: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    assert main(command) in (0, 1)
    _assert_no_command_starts_a_line(_console_lines(capsys))


def test_pull_request_text_in_an_error_is_kept_inside_its_line(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A policy file of the pull request whose name holds line breaks, and does not parse:
    # the error names the file.
    (checkout / "role.json").unlink()
    (checkout / f"role{HOSTILE}.json").write_text('{"Statement": [\n')
    assert main(["scan", "--traces", "trace.json", "--policy-paths", "*.json"]) == 2
    _assert_no_command_starts_a_line(_console_lines(capsys))


def test_policy_text_in_explain_is_kept_inside_its_line(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "A" + HOSTILE, "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    (checkout / "policy.json").write_text(json.dumps(policy))
    assert main(["explain", "--policy", "policy.json", "--action", "s3:GetObject",
                 "--resource", "arn:aws:s3:::b/k" + HOSTILE]) == 0
    _assert_no_command_starts_a_line(_console_lines(capsys))


def test_config_text_in_the_gate_reasons_is_kept_inside_its_line(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The config file is pull-request text: an expired ignore rule's patterns and reason
    # are echoed in the verdict's reasons, which the CLI prints to stderr.
    config = (checkout / ".leastpriv.yml").read_text()
    (checkout / ".leastpriv.yml").write_text(
        config + "ignore:\n  - action: " + json.dumps("sqs:*" + HOSTILE)
        + "\n    reason: " + json.dumps("temporary" + HOSTILE)
        + "\n    expires: '2020-01-01'\n")
    assert main(["scan", "--traces", "trace.json", "--policy-paths", "role.json",
                 "--format", "json"]) in (0, 1)
    _assert_no_command_starts_a_line(_console_lines(capsys))
