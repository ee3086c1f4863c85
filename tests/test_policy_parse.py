from __future__ import annotations

import pytest

from leastpriv_ci.errors import UserError
from leastpriv_ci.loaders import loads_json, loads_yaml
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import VERSION_2008, VERSION_2012
from leastpriv_ci.policy.parse import parse_policy
from leastpriv_ci.records import Origin

POLICY = """{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Read", "Effect": "Allow", "Action": "dynamodb:GetItem",
     "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/notes"},
    {"Effect": "Deny", "NotAction": ["s3:*", "sqs:SendMessage"], "NotResource": "*",
     "Condition": {"Bool": {"aws:SecureTransport": false}}}
  ]
}"""


def test_statements_are_normalised_with_file_and_line() -> None:
    policy = parse_policy(loads_json(POLICY), name="p", origin=Origin(file="iam/p.json"))
    first, second = policy.statements
    assert first.actions == ("dynamodb:GetItem",)
    assert first.origin.file == "iam/p.json" and first.origin.line == 4
    assert second.not_actions and second.not_resources
    assert second.conditions == {"Bool": {"aws:SecureTransport": ("false",)}}
    assert second.origin.line == 6


def test_statement_as_a_single_object() -> None:
    doc = {"Version": "2012-10-17",
           "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}
    assert len(parse_policy(doc, name="p").statements) == 1


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ({"Effect": "Permit", "Action": "*", "Resource": "*"}, "Effect must be"),
        ({"Effect": "Allow", "Action": "*", "NotAction": "s3:*", "Resource": "*"}, "both"),
        ({"Effect": "Allow", "Action": "*"}, "needs Resource or NotResource"),
        ({"Effect": "Allow", "Action": [1], "Resource": "*"}, "expected strings"),
        ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "bucket/*"}, "not an ARN"),
        ({"Effect": "Allow", "Action": "GetObject", "Resource": "*"}, "service:Action"),
    ],
)
def test_invalid_statements_name_the_statement_and_key(
    statement: dict[str, object], message: str
) -> None:
    doc = {"Version": "2012-10-17", "Statement": [statement]}
    with pytest.raises(UserError, match=message) as info:
        parse_policy(doc, name="p", origin=Origin(file="f.json"))
    assert "statement 1" in str(info.value)
    assert "f.json" in str(info.value)


def test_a_bad_value_is_quoted_back_as_json_and_cut_short() -> None:
    # a loader's LocatedDict, or a value of any size, means nothing to the policy's author
    located = loads_yaml('Version: "2012-10-17"\nStatement:\n  - Effect: Allow\n'
                         '    Action: [s3:GetObject, {a: 1}]\n    Resource: "*"\n')
    with pytest.raises(UserError, match=r'Action holds \{"a": 1\}; expected strings$'):
        parse_policy(located, name="p")
    with pytest.raises(UserError) as info:
        parse_policy({"Version": {"x": "a" * 500}, "Statement": []}, name="p")
    assert str(info.value).endswith('got {"x": "' + "a" * 50 + "...")  # 60 characters
    with pytest.raises(UserError, match=r"Effect must be 'Allow' or 'Deny', got \[\"Allow\"\]"):
        parse_policy({"Version": "2012-10-17", "Statement": [
            {"Effect": ["Allow"], "Action": "*", "Resource": "*"}]}, name="p")


def test_unknown_actions_are_warnings_not_errors() -> None:
    notices = Notices()
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObjet", "s3:HeadObject"], "Resource": "*"}]}
    parse_policy(doc, name="p", notices=notices)
    assert notices.count("unknown-action") == 1  # a typo
    # an API operation's name: IAM authorizes HeadObject as s3:GetObject
    assert notices.count("operation-name-not-action") == 1
    assert notices.items()[-1].examples[0].endswith("s3:HeadObject (authorized as s3:GetObject)")


def test_short_arn_ending_in_a_wildcard_is_a_valid_resource() -> None:
    # IAM accepts "arn:aws:logs:*": a segment-final * runs across the remaining segments.
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "logs:*", "Resource": ["arn:aws:logs:*", "arn:aws:*"]}]}
    assert parse_policy(doc, name="p").statements[0].resources == ("arn:aws:logs:*", "arn:aws:*")
    with pytest.raises(UserError, match="not an ARN"):
        parse_policy({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "logs:*", "Resource": "arn:aws:logs"}]}, name="p")


def test_an_unquoted_yaml_version_is_the_version_it_spells() -> None:
    # YAML 1.1 reads `Version: 2012-10-17` as a date: it is still IAM's current version,
    # under which policy variables are substituted
    located = loads_yaml("Version: 2012-10-17\nStatement:\n  - Effect: Allow\n"
                         "    Action: s3:GetObject\n"
                         "    Resource: arn:aws:s3:::home/${aws:username}/*\n")
    policy = parse_policy(located, name="p")
    assert policy.version == VERSION_2012
    assert policy.statements[0].version == VERSION_2012
    assert loads_yaml("Version: 2008-10-17\nStatement: []\n")["Version"] != VERSION_2008
    assert parse_policy(loads_yaml("Version: 2008-10-17\nStatement:\n  - Effect: Deny\n"
                                   "    Action: '*'\n    Resource: '*'\n"),
                        name="p").version == VERSION_2008


def test_a_sid_iam_refuses_is_a_warning() -> None:
    # "The Sid element supports ASCII uppercase letters (A-Z), lowercase letters (a-z),
    # and numbers (0-9)" (IAM JSON policy elements: Sid)
    notices = Notices()
    doc = {"Version": "2012-10-17", "Statement": [
        {"Sid": sid, "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
        for sid in ("ReadNotes1", "read-notes", "No deletes", "")]}
    policy = parse_policy(doc, name="p", notices=notices)
    assert [s.sid for s in policy.statements] == ["ReadNotes1", "read-notes", "No deletes", ""]
    assert notices.count("sid-not-alphanumeric") == 2
