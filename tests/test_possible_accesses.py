"""Calls whose IAM actions their request decides (DynamoDB write transactions, PartiQL):
observed as *possible* accesses, never as use or as a missing grant; an unused grant of
one is excess only with that caveat, and the proposal keeps what the role already grants.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leastpriv_ci.analysis.generate import generate
from leastpriv_ci.cli import main
from leastpriv_ci.traces import RawTrace
from leastpriv_ci.usage import observe
from tests.usage_helpers import refused, scan_case, scan_folder, write_scan_case

ACCOUNT = "111122223333"
FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/orders"
TRACE_ID = "1-5f000000-000000000000000000000001"
WRITES = ("dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:PutItem",
          "dynamodb:UpdateItem")


def _call(call_id: str, operation: str, **extra: object) -> dict[str, object]:
    return {"id": call_id, "name": "DynamoDB", "namespace": "aws", "start_time": 1.7e9,
            "end_time": 1.7e9 + 0.1, "aws": {"operation": operation, "region": "us-east-1",
                                             "account_id": ACCOUNT, **extra}}


def _document(*calls: dict[str, object]) -> dict[str, object]:
    return {"id": "a" * 16, "name": "orders", "origin": "AWS::Lambda::Function",
            "start_time": 1.7e9, "end_time": 1.7e9 + 1, "aws": {"function_arn": FUNCTION},
            "subsegments": list(calls)}


def _trace(*calls: dict[str, object]) -> RawTrace:
    return RawTrace("1-5f000000-000000000000000000000001", (json.dumps(_document(*calls)),),
                    "t.json#1")


TRANSACTION = _call("c1", "TransactWriteItems", table_names=["orders"])
GET = _call("c2", "GetItem", table_name="orders")


def test_a_write_transaction_is_possible_use_of_each_item_action_on_its_tables() -> None:
    observation = observe([_trace(TRANSACTION, GET)])
    usage = observation.principals[FUNCTION]
    assert [(a.action, a.resource) for a in usage.accesses] == [("dynamodb:GetItem", TABLE)]
    assert [(a.action, a.resource, a.count, a.denied) for a in usage.possible] == [
        (action, TABLE, 1, False) for action in WRITES]
    assert usage.possible[0].trace_ids == ("1-5f000000-000000000000000000000001",)
    assert observation.notices.count("request-dependent-operation") == 1
    body = observation.to_json()["principals"][FUNCTION]  # type: ignore[index]
    assert [a["action"] for a in body["possible"]] == list(WRITES)


def test_a_refused_transaction_whose_message_names_the_action_is_a_denial_of_it() -> None:
    call = refused(TRANSACTION, "AccessDeniedException", "dynamodb:PutItem", TABLE,
                   f"arn:aws:sts::{ACCOUNT}:assumed-role/orders/orders")
    usage = observe([_trace(call)]).principals[FUNCTION]
    assert [(a.action, a.resource, a.denied) for a in usage.accesses] == [
        ("dynamodb:PutItem", TABLE, True)]
    assert usage.possible == ()


def test_generate_keeps_every_action_a_transaction_may_need_and_says_so() -> None:
    (proposal,) = generate(observe([_trace(TRANSACTION)])).values()
    statements = proposal.document["Statement"]
    assert isinstance(statements, list)
    assert {"Effect": "Allow", "Action": list(WRITES), "Resource": TABLE} in statements
    assert any("keep only those needed" in note for note in proposal.notes)


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return scan_folder(tmp_path, monkeypatch, {"orders": ROLE})


def _scan(checkout: Path, granted: list[str], capsys: pytest.CaptureFixture[str],
          *calls: dict[str, object], fail_on: str = "excess",
          also: tuple[dict[str, object], ...] = (),
          ) -> tuple[int, dict[str, object], str]:
    write_scan_case(checkout, TRACE_ID, _document(*calls), ROLE,
                    [{"Effect": "Allow", "Action": granted, "Resource": TABLE}, *also])
    return scan_case(capsys, fail_on)


def test_grants_a_transaction_may_need_are_excess_with_a_caveat_and_do_not_gate(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, err = _scan(checkout, ["dynamodb:GetItem", "dynamodb:PutItem",
                                         "dynamodb:UpdateItem"], capsys, TRANSACTION, GET)
    assert code == 0, err
    findings = report["findings"]
    assert isinstance(findings, list)
    assert sorted(f["action"] for f in findings) == ["dynamodb:PutItem", "dynamodb:UpdateItem"]
    for finding in findings:
        assert finding["kind"] == "excess" and finding["only_possibly_needed"] is True
        assert "their request (a role it passes, tags it sets) or a KMS key" in finding["message"]
        assert "fails_gate" not in finding
        assert finding["trace_ids"] == ["1-5f000000-000000000000000000000001"]
    assert "grant only actions that traced calls may need" in err
    (notes,) = report["proposal_notes"].values()  # type: ignore[union-attr]
    assert any("keep only those needed" in note for note in notes)
    # The proposal keeps what the role grants and the transaction may need, adds nothing
    (proposal,) = report["proposals"].values()  # type: ignore[union-attr]
    (statement,) = proposal["Statement"]
    assert statement["Action"] == ["dynamodb:GetItem", "dynamodb:PutItem",
                                   "dynamodb:UpdateItem"]


def test_a_grant_beside_the_possible_ones_still_fails_the_gate(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # dynamodb:Scan is surely unused: the finding is gated, naming the possible ones apart
    code, report, _ = _scan(checkout, ["dynamodb:GetItem", "dynamodb:PutItem",
                                       "dynamodb:Scan"], capsys, TRANSACTION, GET)
    assert code == 1
    by_action = {f["action"]: f for f in report["findings"]}  # type: ignore[union-attr]
    assert by_action["dynamodb:Scan"]["fails_gate"] is True
    assert "possibly_needed" not in by_action["dynamodb:Scan"]
    assert by_action["dynamodb:PutItem"]["only_possibly_needed"] is True
    assert "fails_gate" not in by_action["dynamodb:PutItem"]


def test_without_the_transaction_the_same_grants_fail_the_gate(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, _ = _scan(checkout, ["dynamodb:GetItem", "dynamodb:PutItem"], capsys, GET)
    assert code == 1
    (finding,) = report["findings"]  # type: ignore[misc]
    assert finding["action"] == "dynamodb:PutItem" and finding["fails_gate"] is True


def test_every_note_of_a_proposal_is_in_the_text_report() -> None:
    from leastpriv_ci.records import Analysis, Report, Verdict
    from leastpriv_ci.report import text

    analysis = Analysis(findings=(), proposals={},
                        proposal_notes={"r": ("split in two", "includes x\x1b[31m")})
    rendered = text.render(Report(analysis, Verdict(passed=True)))
    assert "note: proposal for r: split in two\n" in rendered
    assert "note: proposal for r: includes x" in rendered and "\x1b" not in rendered


def test_a_transaction_on_a_table_the_role_grants_no_write_on_is_missing_and_gates(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Whatever its items were, the transaction needs one of the four on the table
    code, report, err = _scan(checkout, ["dynamodb:GetItem"], capsys, TRANSACTION, GET,
                              fail_on="missing")
    assert code == 1
    (finding,) = report["findings"]  # type: ignore[misc]
    assert finding["kind"] == "missing" and finding["resource"] == TABLE
    assert finding["one_of"] == ["dynamodb:PutItem", "dynamodb:UpdateItem",
                                 "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"]
    assert finding["action"] == "dynamodb:PutItem"
    assert finding["severity"] == "high" and finding["fails_gate"] is True
    assert finding["conditional"] is False and finding["decision"] == "implicit_deny"
    assert "at least one of `dynamodb:PutItem`, `dynamodb:UpdateItem`" in finding["message"]
    assert finding["trace_ids"] == ["1-5f000000-000000000000000000000001"]
    assert finding["origin"]["file"] == "role.json"
    (notes,) = report["proposal_notes"].values()  # type: ignore[union-attr]
    assert f"cannot tell which action calls on `{TABLE}` needed: allow on `{TABLE}` those of" in (
        " ".join(notes))
    # Every report names the four, not the first alone
    either = ("dynamodb:PutItem or dynamodb:UpdateItem or dynamodb:DeleteItem or "
              "dynamodb:ConditionCheckItem")
    assert f"{either} on {TABLE}" in err  # the verdict's reason
    for form in ("text", "markdown"):
        main(["scan", "--traces", "traces.json", "--policy-paths", "role.json",
              "--principal-map", "map.json", "--format", form])
        out = capsys.readouterr().out
        assert either in out
    # the comment shows the proposal's notes under it
    assert "Notes on this proposal:" in out
    assert f"- cannot tell which action calls on `{TABLE}` needed" in out  # the name as code


@pytest.mark.parametrize("granted", [["dynamodb:GetItem", "dynamodb:DeleteItem"],
                                     ["dynamodb:GetItem", "dynamodb:ConditionCheckItem"]])
def test_one_write_the_transaction_may_need_is_enough_to_pass(
    checkout: Path, capsys: pytest.CaptureFixture[str], granted: list[str]
) -> None:
    code, report, _ = _scan(checkout, granted, capsys, TRANSACTION, GET, fail_on="missing")
    assert code == 0
    assert not [f for f in report["findings"] if f["kind"] == "missing"]  # type: ignore[union-attr]


def test_a_write_used_directly_and_not_granted_is_its_own_finding_not_the_groups(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    put = _call("c3", "PutItem", table_name="orders")
    code, report, _ = _scan(checkout, ["dynamodb:GetItem"], capsys, TRANSACTION, GET, put,
                            fail_on="missing")
    assert code == 1
    (finding,) = report["findings"]  # type: ignore[misc]
    assert finding["action"] == "dynamodb:PutItem" and "one_of" not in finding


def test_a_deny_of_every_write_the_transaction_may_need_is_missing_by_that_deny(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deny = {"Sid": "NoWrites", "Effect": "Deny", "Action": list(WRITES), "Resource": TABLE}
    code, report, _ = _scan(checkout, ["dynamodb:*"], capsys, TRANSACTION, fail_on="missing",
                            also=(deny,))
    assert code == 1
    (finding,) = [f for f in report["findings"]  # type: ignore[union-attr]
                  if f["kind"] == "missing"]
    assert finding["decision"] == "explicit_deny" and finding["statement"] == "NoWrites"


def test_a_write_allowed_under_a_condition_is_no_proof_of_a_missing_one(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conditional = {"Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": TABLE,
                   "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}
    code, report, _ = _scan(checkout, ["dynamodb:GetItem"], capsys, TRANSACTION, GET,
                            fail_on="missing", also=(conditional,))
    assert code == 0
    assert not [f for f in report["findings"] if f["kind"] == "missing"]  # type: ignore[union-attr]


def test_a_transaction_the_boundary_refuses_every_write_of_says_the_boundary_lacks_them(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reads_only = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}]}
    write_scan_case(checkout, TRACE_ID, _document(TRANSACTION), ROLE,
                    [{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": TABLE}],
                    boundary=reads_only)
    code = main(["scan", "--traces", "traces.json", "--policy-paths", "role.json",
                 "--principal-map", "map.json", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    (finding,) = [f for f in report["findings"] if f["kind"] == "missing"]
    assert finding["decision"] == "boundary" and finding["one_of"][0] == "dynamodb:PutItem"
    assert "allowed there by both the role's policies and its permissions boundary" in (
        finding["message"])
    assert "in the role's policies and in its permissions boundary alike" in finding["fix"]
