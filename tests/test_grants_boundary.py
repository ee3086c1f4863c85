"""``PermissionsBoundary`` shapes: one parser, the same boundary for scan and explain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.boundary import parse_boundary
from leastpriv_ci.grants.model import ResolveContext
from leastpriv_ci.grants.sources import policy_json
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.files import load_policy_file
from leastpriv_ci.policy.model import Policy
from leastpriv_ci.records import Origin

ROLE_FILE = Path(__file__).parent / "data" / "policy" / "bounded_role.json"
ROLE = "arn:aws:iam::123456789012:role/bounded"
DOCUMENT = {"Version": "2012-10-17",
            "Statement": [{"Sid": "OnlyTables", "Effect": "Allow", "Action": "dynamodb:*",
                           "Resource": "*"}]}
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def _both(path: Path) -> tuple[Policy | None, Policy | None]:
    """The boundary as scan's role loader and explain's policy-file loader see it."""
    scanned = policy_json.load(path, ResolveContext(), Notices()).roles[ROLE].boundary
    explained = load_policy_file(path).boundary
    return scanned, explained


def _role_file(tmp_path: Path, boundary: object) -> Path:
    source = json.loads(ROLE_FILE.read_text())
    source["PermissionsBoundary"] = boundary
    path = tmp_path / "role.json"
    path.write_text(json.dumps(source, indent=1))
    return path


def test_named_document_boundary_is_read_by_scan_and_explain() -> None:
    for boundary in _both(ROLE_FILE):
        assert boundary is not None
        assert boundary.name == "tables-only"
        assert [(s.sid, s.actions, s.origin.file, s.origin.line) for s in boundary.statements] \
            == [("OnlyTables", ("dynamodb:*",), str(ROLE_FILE), 19)]


@pytest.mark.parametrize(("shape", "name"), [
    (DOCUMENT, "PermissionsBoundary"),
    ({"PolicyName": "guard", "PolicyDocument": json.dumps(DOCUMENT)}, "guard"),  # JSON text
])
def test_document_shapes_give_the_same_boundary(tmp_path: Path, shape: object,
                                                name: str) -> None:
    scanned, explained = _both(_role_file(tmp_path, shape))
    assert scanned is not None and explained is not None
    statement = DOCUMENT["Statement"][0]
    assert [s.to_json() for s in scanned.statements] == [statement]
    assert [s.to_json() for s in explained.statements] == [statement]
    assert scanned.name == explained.name == name


@pytest.mark.parametrize("shape", [
    BASIC, {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": BASIC}])
def test_arn_shapes_give_the_managed_policy(tmp_path: Path, shape: object) -> None:
    for boundary in _both(_role_file(tmp_path, shape)):
        assert boundary is not None
        assert boundary.origin.policy_arn == BASIC
        assert "logs:PutLogEvents" in boundary.statements[0].actions


def test_no_boundary_is_none(tmp_path: Path) -> None:
    assert _both(_role_file(tmp_path, None)) == (None, None)
    assert parse_boundary(None, Origin(file="role.json")) is None


@pytest.mark.parametrize(("shape", "message"), [
    ("tables-only", "PermissionsBoundary 'tables-only' is not a policy ARN"),
    (["arn:aws:iam::aws:policy/x"], "PermissionsBoundary must be a policy ARN"),
    ({"PermissionsBoundaryArn": 7}, "PermissionsBoundaryArn must be a policy ARN string"),
    ({"PermissionsBoundaryType": "Policy"}, "PermissionsBoundary must be a policy ARN"),
    ({"PolicyDocument": "{oops"}, "the policy document is not JSON"),
    ({"Statement": [{"Effect": "Maybe", "Action": "s3:*", "Resource": "*"}]},
     "Effect must be 'Allow' or 'Deny'"),
])
def test_bad_boundaries_name_the_file(tmp_path: Path, shape: object, message: str) -> None:
    path = _role_file(tmp_path, shape)
    for load in (lambda: policy_json.load(path, ResolveContext(), Notices()),
                 lambda: load_policy_file(path)):
        with pytest.raises(UserError, match=str(path)) as raised:
            load()
        assert message in str(raised.value)
