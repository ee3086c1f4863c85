"""Calls that may pass a role to the service they call (ECS RunTask, EventBridge Scheduler
CreateSchedule, ...): iam:PassRole is a possible access of the caller, on a role the trace
does not name. A role's PassRole grant is then excess only with that caveat, and the
proposal keeps it as declared; without such a call, it is plain excess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leastpriv_ci.analysis.generate import generate
from leastpriv_ci.cli import main
from leastpriv_ci.traces import RawTrace
from leastpriv_ci.usage import observe
from tests.usage_helpers import (
    aws_call,
    lambda_document,
    refused,
    scan_case,
    scan_folder,
    write_scan_case,
)

ACCOUNT = "111122223333"
FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:launcher"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/launcher"
TASK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/report-task"
MACHINE = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:reports"
TRACE_ID = "1-5f000000-000000000000000000000001"


RUN_TASK = aws_call("c1", "ECS", "RunTask", cluster="reports")
SCHEDULE = aws_call("c2", "Scheduler", "CreateSchedule")
START = aws_call("c3", "SFN", "StartExecution", state_machine_arn=MACHINE)


def _document(*calls: dict[str, object]) -> dict[str, object]:
    return lambda_document(FUNCTION, *calls)


def test_calls_that_may_pass_a_role_may_need_pass_role_on_a_role_they_do_not_name() -> None:
    trace = RawTrace(TRACE_ID, (json.dumps(_document(RUN_TASK, SCHEDULE, START)),), "t#1")
    usage = observe([trace]).principals[FUNCTION]
    assert {a.action for a in usage.accesses} == {
        "ecs:RunTask", "scheduler:CreateSchedule", "states:StartExecution"}
    # StartExecution passes no role: two calls may
    assert [(a.action, a.resource, a.resource_known, a.count) for a in usage.possible] == [
        ("iam:PassRole", "*", False, 2)]


def test_a_run_task_refused_for_pass_role_is_a_denial_of_it_on_the_named_role() -> None:
    call = refused(RUN_TASK, "AccessDeniedException", "iam:PassRole", TASK_ROLE,
                   f"arn:aws:sts::{ACCOUNT}:assumed-role/launcher/launcher")
    trace = RawTrace(TRACE_ID, (json.dumps(_document(call)),), "t#1")
    usage = observe([trace]).principals[FUNCTION]
    assert ("iam:PassRole", TASK_ROLE, True) in {
        (a.action, a.resource, a.denied) for a in usage.accesses}


def test_a_proposal_from_usage_alone_names_the_pass_role_it_cannot_grant() -> None:
    trace = RawTrace(TRACE_ID, (json.dumps(_document(RUN_TASK, START)),), "t#1")
    (proposal,) = generate(observe([trace])).values()
    assert "iam:PassRole" not in json.dumps(proposal.document)
    (note,) = [n for n in proposal.notes if "iam:PassRole" in n]
    assert note.startswith("leaves out `iam:PassRole`: traced calls may need them")


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return scan_folder(tmp_path, monkeypatch, {"launcher": ROLE})


def _scan(checkout: Path, capsys: pytest.CaptureFixture[str],
          *calls: dict[str, object]) -> tuple[int, dict[str, object]]:
    write_scan_case(checkout, TRACE_ID, _document(*calls), ROLE, [
        {"Effect": "Allow", "Action": ["ecs:RunTask", "states:StartExecution"],
         "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": TASK_ROLE,
         "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}])
    code, report, err = scan_case(capsys)
    assert code in (0, 1), err
    return code, report


def _pass_role(report: dict[str, object]) -> dict[str, object]:
    (finding,) = [f for f in report["findings"]  # type: ignore[attr-defined]
                  if f["action"] == "iam:PassRole"]
    return finding  # type: ignore[no-any-return]


def test_a_pass_role_grant_a_run_task_may_need_is_excess_with_a_caveat_and_kept(
        checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, report = _scan(checkout, capsys, RUN_TASK, START)
    finding = _pass_role(report)
    assert finding["resource"] == TASK_ROLE and finding["only_possibly_needed"] is True
    assert "fails_gate" not in finding
    assert "a role it passes" in finding["message"] and "the roles they pass" in finding["fix"]
    (proposal,) = report["proposals"].values()  # type: ignore[union-attr]
    kept = [s for s in proposal["Statement"] if s["Action"] == "iam:PassRole"]
    assert kept == [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": TASK_ROLE,
                     "Condition": {"StringEquals": {
                         "iam:PassedToService": "ecs-tasks.amazonaws.com"}}}]


def test_without_a_call_that_may_pass_a_role_the_pass_role_grant_fails_the_gate(
        checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _scan(checkout, capsys, START)
    assert code == 1
    assert _pass_role(report)["fails_gate"] is True
    (proposal,) = report["proposals"].values()  # type: ignore[union-attr]
    assert "iam:PassRole" not in json.dumps(proposal)


def test_pass_role_on_every_role_for_one_service_is_kept_with_its_condition(
        checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The usual way PassRole is written: on "*", limited by iam:PassedToService. The
    # proposal must not drop the condition (that would pass any role to any service)
    only_ecs = {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    write_scan_case(checkout, TRACE_ID, _document(RUN_TASK), ROLE, [
        {"Effect": "Allow", "Action": "ecs:RunTask", "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": only_ecs}])
    main(["scan", "--traces", "traces.json", "--policy-paths", "role.json",
          "--principal-map", "map.json", "--format", "json"])
    (proposal,) = json.loads(capsys.readouterr().out)["proposals"].values()
    kept = [s for s in proposal["Statement"] if s["Action"] == "iam:PassRole"]
    assert kept == [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
                     "Condition": only_ecs}]


def test_with_the_role_s_denies_left_out_pass_role_keeps_its_condition(
        checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A TLS-only Deny and one too large to copy: neither is written into the proposal,
    # and the TLS one, decided for traced calls, must not make the grants undecided
    only_ecs = {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    tls = {"Effect": "Deny", "Action": "*", "Resource": "*",
           "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    large = {"Effect": "Deny", "Action": "s3:DeleteObject",
             "Resource": [f"arn:aws:s3:::protected-bucket-{i:04d}/*" for i in range(90)]}
    write_scan_case(checkout, TRACE_ID, _document(RUN_TASK), ROLE, [
        {"Effect": "Allow", "Action": "ecs:RunTask", "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": only_ecs},
        tls, large])
    _, report, _ = scan_case(capsys)
    (proposal,) = report["proposals"].values()
    assert "Deny" not in json.dumps(proposal)  # both left out, as the test needs
    kept = [s for s in proposal["Statement"] if s["Action"] == "iam:PassRole"]
    assert kept == [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
                     "Condition": only_ecs}]
    (notes,) = report["proposal_notes"].values()
    assert not [n for n in notes if "does not repeat" in n]


@pytest.mark.parametrize(("name", "operation", "action"), [
    ("MediaConvert", "CreateJob", "mediaconvert:CreateJob"),  # Node's serviceId
    ("textract", "StartDocumentAnalysis", "textract:StartDocumentAnalysis"),  # Python's
    ("AWSCodeBuild", "StartBuild", "codebuild:StartBuild"),  # Java v1's client
])
def test_run_time_calls_found_in_botocore_s_models_may_pass_a_role(
        name: str, operation: str, action: str) -> None:
    # Jobs an app starts with a role of its own (a MediaConvert job's Role, a Textract
    # notification channel's RoleArn, a build's serviceRoleOverride)
    call = aws_call("c9", name, operation)
    trace = RawTrace(TRACE_ID, (json.dumps(_document(call)),), "t#1")
    usage = observe([trace]).principals[FUNCTION]
    assert [a.action for a in usage.accesses] == [action]
    assert [(a.action, a.resource, a.count) for a in usage.possible] == [
        ("iam:PassRole", "*", 1)]


@pytest.mark.parametrize(("operation", "passes"), [
    ("PutBucketReplication", True), ("SetBucketReplicationConfiguration", True),  # Java v1
    ("DeleteBucketReplication", False)])
def test_of_the_calls_authorized_as_one_action_only_those_naming_a_role_may_pass_one(
        operation: str, passes: bool) -> None:
    # All three are s3:PutReplicationConfiguration; the delete names no role
    call = aws_call("c9", "S3", operation, bucket_name="orders")
    trace = RawTrace(TRACE_ID, (json.dumps(_document(call)),), "t#1")
    usage = observe([trace]).principals[FUNCTION]
    assert [a.action for a in usage.accesses] == ["s3:PutReplicationConfiguration"]
    assert [a.action for a in usage.possible] == (["iam:PassRole"] if passes else [])


def test_cloud_control_calls_are_cloudformation_s_and_may_pass_a_role() -> None:
    call = aws_call("c9", "CloudControl", "CreateResource")
    trace = RawTrace(TRACE_ID, (json.dumps(_document(call)),), "t#1")
    usage = observe([trace]).principals[FUNCTION]
    assert [a.action for a in usage.accesses] == ["cloudformation:CreateResource"]
    assert [a.action for a in usage.possible] == ["iam:PassRole"]


def test_a_pass_role_grant_a_media_convert_job_may_need_is_not_plain_excess(
        checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_scan_case(checkout, TRACE_ID, _document(aws_call("c9", "MediaConvert", "CreateJob")),
                    ROLE, [
        {"Effect": "Allow", "Action": "mediaconvert:CreateJob", "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": TASK_ROLE}])
    _, report, _ = scan_case(capsys)
    finding = _pass_role(report)
    assert finding["only_possibly_needed"] is True and "fails_gate" not in finding
