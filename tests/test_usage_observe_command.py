"""The ``observe`` subcommand: JSON contract, text table, principal map, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leastpriv_ci.cli import main
from tests.usage_helpers import USAGE, expected


def test_json_output_is_the_design_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["observe", "--traces", str(USAGE / "node_v3.json"), "--format", "json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == 1
    assert set(doc) == {"schema", "principals", "warnings"}
    rows = {
        arn: {(a["action"], a["resource"], a["count"], a["denied"], a["resource_known"])
              for a in body["accesses"]}
        for arn, body in doc["principals"].items()
    }
    assert rows == expected(USAGE / "node_v3.expected.json")
    (body,) = doc["principals"].values()
    assert body["role"] is None
    assert body["traces"] == 1


def test_principal_map_file_names_the_principal(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["observe", "--traces", str(USAGE / "java_v1.json"), "--principal-map",
                 str(USAGE / "java_v1.principal_map.json"), "--format", "json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    role = "arn:aws:iam::777788889999:role/inventory"
    assert doc["principals"][role]["role"] == role


def test_text_output_is_a_table_per_principal(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["observe", "--traces", str(USAGE / "go_v2.json")]) == 0
    out = capsys.readouterr().out
    assert "arn:aws:lambda:us-east-1:565656565656:function:scheduler — 1 traces" in out
    assert "[DENIED, resource not in trace]" in out
    assert "unknown-service" in out


def test_times_past_any_date_are_shown_as_numbers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a hostile or corrupt export: no datetime holds these, and the text output said so
    # with a traceback (exit 4)
    segment = {"id": "s1", "name": "f", "origin": "AWS::Lambda::Function",
               "start_time": 2.2e15, "end_time": 1e300,
               "aws": {"function_arn": "arn:aws:lambda:us-east-1:123456789012:function:f"}}
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"Traces": [{"Id": "1-x", "Segments": [
        {"Id": "s1", "Document": json.dumps(segment)}]}]}))
    assert main(["observe", "--traces", str(path)]) == 0
    out = capsys.readouterr().out
    assert ("1 traces, 1 principals, 2200000000000000.0 (epoch seconds, no date) to 1e+300 "
            "(epoch seconds, no date)") in out


@pytest.mark.parametrize(("content", "message"), [
    ("{oops", "principal map is not valid JSON"),
    ('["a"]', "must be a JSON object"),
    ('{"web": "not-an-arn"}', "not an ARN"),
])
def test_bad_principal_map_exits_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    bad = tmp_path / "map.json"
    bad.write_text(content)
    code = main(["observe", "--traces", str(USAGE / "java_v1.json"), "--principal-map", str(bad)])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert str(bad) in err


def test_input_without_traces_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text('{"Traces": []}')
    assert main(["observe", "--traces", str(empty)]) == 2
    assert "no traces found" in capsys.readouterr().err


def test_file_that_is_not_json_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{definitely not json")
    assert main(["observe", "--traces", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err
    assert "Traceback" not in err


def test_a_trace_file_without_traces_says_how_to_pass_it(
    capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(USAGE / "go_v2.json")
    with pytest.raises(SystemExit) as exited:
        main(["observe", path])
    assert exited.value.code == 2
    assert f"trace files go after --traces: --traces {path}" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # an unknown option gets argparse's message alone
        main(["observe", "--bogus"])
    err = capsys.readouterr().err
    assert "trace files go after" not in err
    # with the command's own usage, not the top level's
    assert err.startswith("usage: leastpriv-ci observe [-h] [--traces FILE]")
    assert "leastpriv-ci observe: error: unrecognized arguments: --bogus" in err


@pytest.mark.parametrize(("command", "gates"),
                         [("observe", False), ("explain", False), ("generate", False),
                          ("scan", True), ("demo", True)])
def test_only_commands_with_a_gate_list_its_exit_code(
        command: str, gates: bool, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    assert ("1  the gate failed" in out) is gates
    assert "2  usage, configuration or input error" in out


def test_calls_iam_does_not_authorize_against_the_caller_are_not_use(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GetCallerIdentity needs no permission, a web-identity role is assumed on its trust
    # policy alone; AssumeRole is the identity policy's to allow.
    calls = [("STS", {"operation": "GetCallerIdentity"}),
             ("sts", {"operation": "AssumeRoleWithWebIdentity",
                      "role_arn": "arn:aws:iam::123456789012:role/y"}),
             ("STS", {"operation": "AssumeRole", "role_arn": "arn:aws:iam::123456789012:role/z"})]
    document = {
        "id": "a" * 16, "name": "orders", "origin": "AWS::Lambda::Function",
        "start_time": 1.7e9, "end_time": 1.7e9 + 1,
        "aws": {"function_arn": "arn:aws:lambda:us-east-1:123456789012:function:orders"},
        "subsegments": [{"id": f"{n + 1:016x}", "name": name, "namespace": "aws",
                         "start_time": 1.7e9, "aws": {"region": "us-east-1", **call}}
                        for n, (name, call) in enumerate(calls)]}
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"Traces": [{"Id": "1-5f000000-" + "0" * 24, "Segments": [
        {"Id": document["id"], "Document": json.dumps(document)}]}]}))
    assert main(["observe", "--traces", str(path), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    [usage] = out["principals"].values()
    assert [(a["action"], a["resource"]) for a in usage["accesses"]] == [
        ("sts:AssumeRole", "arn:aws:iam::123456789012:role/z")]
    [notice] = [w for w in out["warnings"] if w["code"] == "needs-no-permission"]
    assert sorted(notice["examples"]) == ["sts:AssumeRoleWithWebIdentity",
                                          "sts:GetCallerIdentity"]


def test_a_denial_by_a_policy_outside_the_role_shows_in_text_and_json(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    function = "arn:aws:lambda:us-east-1:123456789012:function:orders"
    queue = "arn:aws:sqs:us-east-1:123456789012:jobs"
    message = ("User: arn:aws:sts::123456789012:assumed-role/orders/orders is not authorized "
               f"to perform: sqs:SendMessage on resource: {queue} because no VPC endpoint "
               "policy allows the sqs:SendMessage action")
    document = {"id": "a" * 16, "name": "orders", "start_time": 1.7e9, "end_time": 1.7e9 + 1,
                "origin": "AWS::Lambda::Function", "aws": {"function_arn": function},
                "subsegments": [{"id": "b" * 16, "name": "SQS", "namespace": "aws",
                                 "start_time": 1.7e9, "end_time": 1.7e9 + 0.1, "error": True,
                                 "aws": {"operation": "SendMessage", "region": "us-east-1",
                                         "queue_url": "https://sqs.us-east-1.amazonaws.com/"
                                                      "123456789012/jobs"},
                                 "cause": {"exceptions": [{"type": "AccessDenied",
                                                           "message": message}]}}]}
    traces = tmp_path / "traces.json"
    traces.write_text(json.dumps({"Traces": [{"Id": "1-5f000000-000000000000000000000001",
                                              "Segments": [{"Id": "a" * 16,
                                                            "Document": json.dumps(document)}]}]}))
    assert main(["observe", "--traces", str(traces)]) == 0
    out = capsys.readouterr().out
    assert f"{queue}  [DENIED: no VPC endpoint policy allows it]" in out
    assert "denied-outside-role" in out
    assert main(["observe", "--traces", str(traces), "--format", "json"]) == 0
    [access] = json.loads(capsys.readouterr().out)["principals"][function]["accesses"]
    assert (access["action"], access["denied"], access["refused_by"]) == (
        "sqs:SendMessage", True, ["no VPC endpoint policy allows it"])
