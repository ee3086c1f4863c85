"""KMS actions AWS calls with the caller's permissions for a call on a resource encrypted
with a customer managed key (S3 objects, SQS queues, ...): possible accesses, on a key the
trace does not name. A role's KMS grant is then excess only with that caveat, and the
proposal keeps it; a proposal from usage alone adds none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leastpriv_ci.analysis.generate import generate
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
FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/orders"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
QUEUE_URL = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/jobs"
TRACE_ID = "1-5f000000-000000000000000000000001"


GET_OBJECT = aws_call("c1", "S3", "GetObject", bucket_name="pics", key="a.png")
SEND = aws_call("c2", "SQS", "SendMessage", queue_url=QUEUE_URL)
GET_ITEM = aws_call("c3", "DynamoDB", "GetItem", table_name="orders")


def _document(*calls: dict[str, object]) -> dict[str, object]:
    return lambda_document(FUNCTION, *calls)


def _trace(*calls: dict[str, object]) -> RawTrace:
    return RawTrace(TRACE_ID, (json.dumps(_document(*calls)),), "t.json#1")


def test_calls_on_encrypted_resources_may_need_kms_on_a_key_they_do_not_name() -> None:
    observation = observe([_trace(GET_OBJECT, SEND, GET_ITEM)])
    usage = observation.principals[FUNCTION]
    assert {(a.action, a.resource, a.resource_known) for a in usage.accesses} == {
        ("s3:GetObject", "arn:aws:s3:::pics/a.png", True),
        ("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs", True),
        ("dynamodb:GetItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders", True)}
    # S3 reads decrypt; SQS sends make a data key and decrypt; DynamoDB uses its own grant
    assert {(a.action, a.resource, a.resource_known, a.count) for a in usage.possible} == {
        ("kms:Decrypt", "*", False, 2), ("kms:GenerateDataKey", "*", False, 1)}
    # a key no trace can name is no missing resource name
    assert observation.notices.count("unknown-resource") == 0


def test_an_s3_read_refused_by_kms_is_the_reads_use_and_a_denial_of_decrypt() -> None:
    call = refused(GET_OBJECT, "AccessDenied", "kms:Decrypt", KEY,
                   f"arn:aws:sts::{ACCOUNT}:assumed-role/orders/orders")
    usage = observe([_trace(call)]).principals[FUNCTION]
    assert {(a.action, a.resource, a.denied) for a in usage.accesses} == {
        ("s3:GetObject", "arn:aws:s3:::pics/a.png", False), ("kms:Decrypt", KEY, True)}


def test_a_proposal_from_usage_alone_adds_no_kms_grant() -> None:
    (proposal,) = generate(observe([_trace(GET_OBJECT, SEND)])).values()
    assert "kms:" not in json.dumps(proposal.document)


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return scan_folder(tmp_path, monkeypatch, {"orders": ROLE})


def _scan(checkout: Path, capsys: pytest.CaptureFixture[str],
          *calls: dict[str, object]) -> tuple[int, dict[str, object]]:
    write_scan_case(checkout, TRACE_ID, _document(*calls), ROLE, [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pics/*"},
        {"Effect": "Allow", "Action": "dynamodb:GetItem",
         "Resource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders"},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY}])
    code, report, err = scan_case(capsys)
    assert code in (0, 1), err
    return code, report


def test_a_kms_grant_an_s3_read_may_need_is_excess_with_a_caveat_and_kept(
        checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _scan(checkout, capsys, GET_OBJECT, GET_ITEM)
    assert code == 0
    (finding,) = report["findings"]  # type: ignore[misc]
    assert (finding["action"], finding["resource"]) == ("kms:Decrypt", KEY)
    assert finding["only_possibly_needed"] is True and "fails_gate" not in finding
    assert "a KMS key encrypting their resource" in finding["message"]
    (proposal,) = report["proposals"].values()  # type: ignore[union-attr]
    assert {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY} in proposal["Statement"]


def test_without_a_call_that_may_need_it_the_kms_grant_fails_the_gate(
        checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _scan(checkout, capsys, GET_ITEM)
    assert code == 1
    by_action = {f["action"]: f for f in report["findings"]}  # type: ignore[union-attr]
    assert by_action["kms:Decrypt"]["fails_gate"] is True
    (proposal,) = report["proposals"].values()  # type: ignore[union-attr]
    assert "kms:" not in json.dumps(proposal)
