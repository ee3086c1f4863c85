"""The analysis data files, checked against the IAM catalog and the finding records."""

from __future__ import annotations

import string

import pytest

from leastpriv_ci.analysis.platform import (
    DECLARED,
    MODES,
    PlatformOptions,
    arn_fields,
    platform_groups,
)
from leastpriv_ci.analysis.severity import get_rules
from leastpriv_ci.catalog import ACCESS_LEVELS, get_catalog
from leastpriv_ci.errors import UserError
from leastpriv_ci.records import FINDING_KINDS, SEVERITIES


def test_every_platform_action_exists_in_the_catalog_as_spelled() -> None:
    catalog = get_catalog()
    for group in platform_groups().values():
        for permission in group.permissions:
            for action in permission.actions:
                assert catalog.canonical(action) == action, (group.name, action)


def test_platform_groups_cover_the_permissions_aws_documents() -> None:
    groups = platform_groups()
    assert groups["lambda-logs"].actions == {
        "logs:createloggroup", "logs:createlogstream", "logs:putlogevents"}
    assert groups["xray-daemon"].actions == {
        "xray:puttracesegments", "xray:puttelemetryrecords", "xray:getsamplingrules",
        "xray:getsamplingtargets", "xray:getsamplingstatisticsummaries"}
    assert groups["lambda-vpc"].actions == {
        "ec2:createnetworkinterface", "ec2:describenetworkinterfaces",
        "ec2:deletenetworkinterface", "ec2:assignprivateipaddresses",
        "ec2:unassignprivateipaddresses"}
    assert {"sqs:receivemessage", "sqs:deletemessage", "sqs:getqueueattributes"} == (
        groups["sqs-event-source"].actions)
    assert "kinesis:getrecords" in groups["kinesis-event-source"].actions
    assert "dynamodb:getrecords" in groups["dynamodb-streams-event-source"].actions
    assert "kafka:getbootstrapbrokers" in groups["msk-event-source"].actions
    assert groups["kms-environment"].actions == {"kms:decrypt"}


def test_platform_resource_templates_are_arns_star_or_declared() -> None:
    fields = {"partition": "aws", "region": "us-east-1", "account": "123456789012",
              "name": "fn"}
    for group in platform_groups().values():
        assert group.default in MODES
        assert group.description and group.source
        for permission in group.permissions:
            if permission.resource in ("*", DECLARED):
                continue
            used = {f for _, f, _, _ in string.Formatter().parse(permission.resource) if f}
            assert used <= set(fields), (group.name, used)
            assert permission.resource.format(**fields).startswith("arn:aws:")


def test_finding_rules_cover_every_kind_level_and_severity() -> None:
    rules = get_rules()
    assert set(rules.kinds) == set(FINDING_KINDS)
    for level in ACCESS_LEVELS:
        assert rules.severity("excess", level) in SEVERITIES
    assert rules.severity("excess", "Permissions management") == "high"
    assert rules.severity("excess", "Write") == "medium"
    assert {rules.severity("excess", lvl) for lvl in ("Read", "List", "Tagging")} == {"low"}
    assert rules.severity("excess", "Read", everything=True) == "critical"
    assert rules.severity("missing") == rules.severity("denied") == "high"
    assert SEVERITIES.index(rules.severity("missing", conditional=True)) < SEVERITIES.index(
        "high")
    assert rules.severity("platform") == rules.severity("unobserved") == "info"


def test_every_template_formats_with_the_fields_the_analysis_passes() -> None:
    rules = get_rules()
    fields = {"action": "a", "resource": "r", "granted": 2, "used": 1, "count": 1,
              "unknown": 1, "used_actions": "x", "resources": "y", "group": "g",
              "description": "d", "principals": "p", "actions": "z", "refused_by": "s"}
    for kind, kind_rules in rules.kinds.items():
        for variant in kind_rules.messages:
            assert rules.message(kind, variant, **fields)
        for variant in kind_rules.fixes:
            assert rules.fix(kind, variant, **fields)


def test_platform_settings_are_validated_with_the_key_named() -> None:
    options = PlatformOptions.from_settings({"sqs-event-source": "on", "lambda-vpc": False})
    assert options.modes == {"sqs-event-source": "on", "lambda-vpc": "off"}
    assert not PlatformOptions.from_settings({"enabled": False}).enabled
    with pytest.raises(UserError, match="unknown platform group 'lamda-logs'"):
        PlatformOptions.from_settings({"lamda-logs": "on"})
    with pytest.raises(UserError, match=r"platform\.xray-daemon must be one of"):
        PlatformOptions.from_settings({"xray-daemon": "sometimes"})


def test_arn_fields_of_principals() -> None:
    assert arn_fields("arn:aws:lambda:eu-west-1:111122223333:function:notes:live") == {
        "partition": "aws", "region": "eu-west-1", "account": "111122223333",
        "name": "notes"}
    assert arn_fields("arn:aws-cn:ecs:cn-north-1:1:task-definition/web:3")["name"] == "web"
    assert arn_fields("not-an-arn") is None
