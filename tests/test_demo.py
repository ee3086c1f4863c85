"""The embedded staging end to end: real X-Ray SDK traces, the emulator's X-Ray API, the
SAM template as declared policy, the role as attached, the report and the gate."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
ROLE = "arn:aws:iam::123456789012:role/notes-app-staging"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/notes-staging"
FUNCTIONS = {f"arn:aws:lambda:us-east-1:123456789012:function:notes-{name}-staging"
             for name in ("create", "get", "list", "update", "delete")}

pytestmark = pytest.mark.slow


def _demo(*args: str, cwd: Path = REPO, timeout: int = 240) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [sys.executable, "-m", "leastpriv_ci", "demo", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("demo")
    result = _demo("--scenario", "all", "--format", "json", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return {name: json.loads((out / name / "report.json").read_text())
            for name in ("baseline", "narrowed", "notify")}


def _findings(report: dict[str, Any], kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["action"], f["resource"]): f for f in report["findings"] if f["kind"] == kind}


def test_baseline_reports_the_shared_dynamodb_wildcard_as_excess(
    reports: dict[str, dict[str, Any]],
) -> None:
    report = reports["baseline"]
    assert report["coverage"]["traces"] == 9
    assert set(report["coverage"]["principals"]) == FUNCTIONS
    excess = _findings(report, "excess")
    wildcard = excess[("dynamodb:*", "arn:aws:dynamodb:us-east-1:*:*")]
    assert wildcard["role"] == ROLE
    assert set(wildcard["principals"]) == FUNCTIONS
    assert wildcard["origin"]["file"] == "template.yaml"  # relative to the app, its repository
    assert wildcard["origin"]["line"] == 70  # the `- Sid: NotesTable` statement
    assert wildcard["trace_ids"]
    assert not _findings(report, "missing")
    assert not _findings(report, "denied")


def test_baseline_keeps_platform_permissions_and_advises_on_the_shared_role(
    reports: dict[str, dict[str, Any]],
) -> None:
    report = reports["baseline"]
    platform = {action for action, _ in _findings(report, "platform")}
    assert {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments"} <= platform
    assert not any(action.startswith(("logs:", "xray:"))
                   for action, _ in _findings(report, "excess"))
    assert set(report["shared_roles"][ROLE]) == FUNCTIONS


def test_baseline_proposals_are_least_privilege_per_role_and_per_function(
    reports: dict[str, dict[str, Any]],
) -> None:
    report = reports["baseline"]
    statements = report["proposals"][ROLE]["Statement"]
    granted = {(a, r) for s in statements
               for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
               for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])}
    assert ("dynamodb:PutItem", TABLE) in granted
    assert ("dynamodb:Query", f"{TABLE}/index/by-user") in granted
    assert not any(a == "dynamodb:*" or r.endswith(":*:*") for a, r in granted)
    per_function = report["principal_proposals"]
    lister = json.dumps(per_function["arn:aws:lambda:us-east-1:123456789012:function:"
                                     "notes-list-staging"])
    assert "dynamodb:Query" in lister
    assert "dynamodb:PutItem" not in lister  # the list function never writes


def test_narrowed_pull_request_misses_permissions_and_fails_the_gate(
    reports: dict[str, dict[str, Any]],
) -> None:
    report = reports["narrowed"]
    assert report["verdict"] == "fail"
    missing = _findings(report, "missing")
    assert set(missing) == {
        ("dynamodb:DeleteItem", TABLE),
        ("dynamodb:UpdateItem", TABLE),
        ("dynamodb:Query", f"{TABLE}/index/by-user"),
    }
    assert all(f["role"] == ROLE and f["trace_ids"] for f in missing.values())


def test_call_denied_at_staging_is_reported_as_denied(
    reports: dict[str, dict[str, Any]],
) -> None:
    report = reports["notify"]
    denied = _findings(report, "denied")
    topic = "arn:aws:sns:us-east-1:123456789012:notes-updates-staging"
    assert set(denied) == {("sns:Publish", topic)}
    finding = denied[("sns:Publish", topic)]
    assert finding["principals"] == [
        "arn:aws:lambda:us-east-1:123456789012:function:notes-update-staging"]
    assert report["verdict"] == "fail"


def test_gate_flag_propagates_the_scan_exit_code(tmp_path: Path) -> None:
    result = _demo("--scenario", "narrowed", "--gate", "--format", "text",
                   "--out", str(tmp_path))
    assert result.returncode == 1, result.stderr
    assert "missing" in result.stdout


def test_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _demo("--port", str(port), "--out", str(tmp_path), timeout=60)
    assert result.returncode == 2
    assert f"cannot bind 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_interrupt_stops_the_emulator(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # A Ctrl-C reaches the demo as SIGINT, which Python turns into KeyboardInterrupt only
    # when its parent left SIGINT at its default: a shell's background job (pytest run
    # with `&`) ignores it, and the demo would inherit that
    process = subprocess.Popen(
        [sys.executable, "-m", "leastpriv_ci", "demo", "--port", str(port),
         "--out", str(tmp_path)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as client:
            if client.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("the emulator never listened")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))  # the port is free again
