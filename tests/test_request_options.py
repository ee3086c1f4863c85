"""What an S3 upload's request may also need (``request_options.yaml``): a tag set given
on upload needs ``s3:PutObjectTagging``. The trace records no headers, so a role's grant
of it is excess only with a caveat while the role's uploads are traced, and its proposal
keeps it on what was uploaded; a proposal from usage alone adds none."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from leastpriv_ci.analysis.generate import generate
from leastpriv_ci.analysis.request_options import request_options, use_options
from leastpriv_ci.analysis.uses import collect_uses
from leastpriv_ci.bundled import load
from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.records import Access
from leastpriv_ci.traces import RawTrace
from leastpriv_ci.usage import observe
from tests.usage_helpers import (
    aws_call,
    lambda_document,
    scan_case,
    scan_folder,
    write_scan_case,
)

ACCOUNT = "111122223333"
FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:uploader"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/uploader"
TRACE_ID = "1-5f000000-000000000000000000000001"
BUCKET = "arn:aws:s3:::reports"
UPLOAD = aws_call("c1", "S3", "PutObject", bucket_name="reports", key="daily/1.csv")
READ = aws_call("c2", "S3", "GetObject", bucket_name="reports", key="daily/1.csv")


def test_the_data_names_catalog_actions() -> None:
    catalog = get_catalog()
    table = load("request_options.yaml")["actions"]
    named = [a for call, extra in table.items() for a in (call, *extra)]
    assert named and sorted(a for a in named if catalog.canonical(a) != a) == []
    # ACLs and Object Lock are left out on purpose: see the file
    assert table["s3:PutObject"] == ["s3:PutObjectTagging"]


def test_an_upload_may_need_tagging_on_its_object_a_denied_one_not() -> None:
    upload = Access(FUNCTION, "s3:PutObject", f"{BUCKET}/daily/1.csv", count=3,
                    regions=("us-east-1",), region_known=True)
    denied = Access(FUNCTION, "s3:PutObject", f"{BUCKET}/x", denied=True)
    read = Access(FUNCTION, "s3:GetObject", f"{BUCKET}/daily/1.csv")
    found = request_options([upload, denied, read])
    assert [(a.action, a.resource, a.count, a.regions) for a in found] == [
        ("s3:PutObjectTagging", f"{BUCKET}/daily/1.csv", 3, ("us-east-1",))]
    # the same from the role's merged uses, as the analysis takes them
    uses = collect_uses([upload, denied, read], get_catalog())
    assert use_options(uses) == collect_uses(found, get_catalog())


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return scan_folder(tmp_path, monkeypatch, {"uploader": ROLE})


def _scan(checkout: Path, capsys: pytest.CaptureFixture[str], *calls: dict[str, object],
          where: str = f"{BUCKET}/*") -> tuple[int, dict[str, Any]]:
    write_scan_case(checkout, TRACE_ID, lambda_document(FUNCTION, *calls), ROLE, [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": where},
        {"Effect": "Allow", "Action": "s3:PutObjectTagging", "Resource": where}])
    code, report, err = scan_case(capsys)
    assert code in (0, 1), err
    return code, report


def _tagging(report: dict[str, Any]) -> dict[str, Any]:
    (finding,) = [f for f in report["findings"] if f["action"] == "s3:PutObjectTagging"]
    return finding  # type: ignore[no-any-return]


def test_a_tagging_grant_beside_traced_uploads_is_excess_with_a_caveat_and_kept_narrowed(
        checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _scan(checkout, capsys, UPLOAD, READ)
    finding = _tagging(report)
    assert finding["only_possibly_needed"] is True and "fails_gate" not in finding
    assert "tags it sets" in finding["message"]
    # the upload's own grant is as broad, and says so
    (upload,) = [f for f in report["findings"] if f["action"] == "s3:PutObject"]
    assert upload["suggested_resources"] == [f"{BUCKET}/daily/*"]
    assert code == 1
    # the proposal keeps tagging where the uploads went, not on the whole bucket
    (proposal,) = report["proposals"].values()
    kept = [s for s in proposal["Statement"] if "s3:PutObjectTagging" in json.dumps(s)]
    assert kept and all(s["Resource"] == f"{BUCKET}/daily/*" for s in kept)
    (notes,) = report["proposal_notes"].values()
    assert any("`s3:PutObjectTagging`" in n and "upload's tags" in n for n in notes)


def _scan_with(checkout: Path, capsys: pytest.CaptureFixture[str], statements: list[Any],
               *calls: dict[str, object], boundary: list[Any] | None = None
               ) -> dict[str, Any]:
    write_scan_case(checkout, TRACE_ID, lambda_document(FUNCTION, *calls), ROLE, statements,
                    boundary=None if boundary is None else {
                        "Version": "2012-10-17", "Statement": boundary})
    code, report, err = scan_case(capsys)
    assert code in (0, 1), err
    return report


GRANTS = [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectTagging"],
           "Resource": f"{BUCKET}/daily/*"}]


def test_a_tagging_grant_a_deny_refuses_on_the_upload_stays_plain_excess(
        checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a tagged upload to daily/1.csv would be refused: the grant cannot be what it needs
    deny = {"Effect": "Deny", "Action": "s3:PutObjectTagging", "Resource": f"{BUCKET}/daily/1*"}
    report = _scan_with(checkout, capsys, [*GRANTS, deny], UPLOAD)
    finding = _tagging(report)
    assert not finding.get("only_possibly_needed") and finding["fails_gate"] is True
    (proposal,) = report["proposals"].values()
    assert not [s for s in proposal["Statement"]
                if s["Effect"] == "Allow" and "s3:PutObjectTagging" in json.dumps(s)]


def test_a_boundary_without_tagging_leaves_it_out_of_the_proposal(
        checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    boundary = [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]
    report = _scan_with(checkout, capsys, GRANTS, UPLOAD, boundary=boundary)
    (proposal,) = report["proposals"].values()
    assert "s3:PutObjectTagging" not in json.dumps(proposal)
    # the grant never takes effect: the boundary's finding, not a maybe
    assert not [f for f in report["findings"]
                if f["action"] == "s3:PutObjectTagging" and f.get("only_possibly_needed")]
    # and with a boundary that allows it, the proposal keeps it
    boundary = [{"Effect": "Allow", "Action": "s3:PutObject*", "Resource": "*"}]
    report = _scan_with(checkout, capsys, GRANTS, UPLOAD, boundary=boundary)
    (proposal,) = report["proposals"].values()
    assert "s3:PutObjectTagging" in json.dumps(proposal)


def test_an_unknown_key_upload_adds_no_tagging_to_the_proposal(
        checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the role grants tagging on another bucket only; the upload named no key
    statements = [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{BUCKET}/*"},
                  {"Effect": "Allow", "Action": "s3:PutObjectTagging",
                   "Resource": "arn:aws:s3:::other/*"}]
    report = _scan_with(checkout, capsys, statements,
                        aws_call("c1", "S3", "PutObject", bucket_name="reports"))
    (proposal,) = report["proposals"].values()
    assert "s3:PutObjectTagging" not in json.dumps(proposal)
    assert not _tagging(report).get("only_possibly_needed")


def test_a_real_tagging_use_keeps_its_broad_finding_beside_an_upload(
        checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # tagging used on tags/x, and an upload to daily/: the grant on the whole bucket is
    # still broader than both, and the upload's maybe does not widen what was used
    statements = [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectTagging"],
                   "Resource": f"{BUCKET}/*"}]
    tagged = aws_call("c3", "S3", "PutObjectTagging", bucket_name="reports", key="tags/x")
    report = _scan_with(checkout, capsys, statements, UPLOAD, tagged)
    finding = _tagging(report)
    assert finding["suggested_resources"] == [f"{BUCKET}/tags/*"]
    assert finding["fails_gate"] is True


def test_a_tagging_grant_on_what_was_uploaded_is_excess_with_a_caveat_only(
        checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _scan(checkout, capsys, UPLOAD, READ, where=f"{BUCKET}/daily/*")
    finding = _tagging(report)
    assert finding["only_possibly_needed"] is True and "fails_gate" not in finding
    assert "tags it sets" in finding["message"] and code == 0
    (proposal,) = report["proposals"].values()
    assert "s3:PutObjectTagging" in json.dumps(proposal)


def test_without_a_traced_upload_the_tagging_grant_is_plain_excess(
        checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _scan(checkout, capsys, READ)
    finding = _tagging(report)
    assert "only_possibly_needed" not in finding or finding["only_possibly_needed"] is False
    assert finding["fails_gate"] is True and code == 1
    (proposal,) = report["proposals"].values()
    assert "s3:PutObjectTagging" not in json.dumps(proposal)


def test_a_proposal_from_usage_alone_adds_no_tagging() -> None:
    trace = RawTrace(TRACE_ID, (json.dumps(lambda_document(FUNCTION, UPLOAD)),), "t#1")
    (proposal,) = generate(observe([trace])).values()
    assert "s3:PutObject" in json.dumps(proposal.document)
    assert "Tagging" not in json.dumps(proposal.document)
