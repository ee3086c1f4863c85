"""``leastpriv-ci generate``: traces in, one policy per role or principal out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leastpriv_ci.cli import main

USAGE = Path(__file__).parent / "data" / "usage"
SHARED = USAGE  # copies of /work/shared/data/xray, the real X-Ray traces
HELLO = "arn:aws:lambda:us-east-1:112233445566:function:nodejs-test-dev-hello"
CREATE = "arn:aws:lambda:us-east-2:123456789012:function:create-func"


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main(["generate", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_per_principal_proposals_from_real_xray_traces(capsys) -> None:  # type: ignore[no-untyped-def]
    out = run_json(capsys, "--traces", str(SHARED / "seed-tool-trace1.json"),
                   "--traces", str(SHARED / "seed-tool-trace2.json"))
    assert out["schema"] == 1
    proposals = out["proposals"]
    assert set(proposals) == {HELLO, CREATE}
    create = proposals[CREATE]["Statement"]
    assert create[0] == {"Effect": "Allow", "Action": "dynamodb:PutItem",
                         "Resource": "arn:aws:dynamodb:us-east-2:123456789012:table/test_table"}
    assert {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "arn:aws:logs:us-east-2:123456789012:log-group:/aws/lambda/"
                        "create-func:*"} in create
    hello = {json.dumps(s["Action"]): s["Resource"] for s in proposals[HELLO]["Statement"]}
    assert hello[json.dumps([
        "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem",
        "dynamodb:PutItem", "dynamodb:Scan"])] == (
        "arn:aws:dynamodb:us-east-1:112233445566:table/gen-docs")
    assert any("did not name the resource" in note for note in out["notes"])


def test_per_role_when_the_principal_map_names_the_role(capsys) -> None:  # type: ignore[no-untyped-def]
    out = run_json(capsys, "--traces", str(USAGE / "java_v1.json"), "--principal-map",
                   str(USAGE / "java_v1.principal_map.json"))
    role = "arn:aws:iam::777788889999:role/inventory"
    assert list(out["proposals"]) == [role]
    actions = [s["Action"] for s in out["proposals"][role]["Statement"]]
    # the segment mapped to its role was traced: the X-Ray daemon's writes are kept
    assert actions == ["dynamodb:GetItem", "kms:Decrypt", "s3:GetObject", "s3:PutObject",
                       "sqs:DeleteMessage", "ssm:GetParameter",
                       ["xray:GetSamplingRules", "xray:GetSamplingStatisticSummaries",
                        "xray:GetSamplingTargets", "xray:PutTelemetryRecords",
                        "xray:PutTraceSegments"]]
    # the denied Decrypt is a need: included, and said so
    assert any("kms:Decrypt" in note and "denied at runtime" in note for note in out["notes"])


def test_no_platform_leaves_only_what_was_used(capsys) -> None:  # type: ignore[no-untyped-def]
    out = run_json(capsys, "--traces", str(SHARED / "seed-tool-trace2.json"),
                   "--no-platform")
    assert out["proposals"] == {CREATE: {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:PutItem",
         "Resource": "arn:aws:dynamodb:us-east-2:123456789012:table/test_table"}]}}


def test_text_format_prints_each_policy_under_its_key(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["generate", "--traces", str(SHARED / "seed-tool-trace2.json")]) == 0
    text = capsys.readouterr().out
    assert text.startswith("1 traces, 1 principals\n")
    assert f"\n{CREATE}\n{{" in text
    assert '"dynamodb:PutItem"' in text


def test_missing_trace_file_is_an_input_error(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert main(["generate", "--traces", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("leastpriv-ci: error:") and "nope.json" in err
    assert "Traceback" not in err


def test_no_traces_is_an_input_error(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    assert main(["generate", "--traces", str(empty)]) == 2
    assert "no traces found" in capsys.readouterr().err
