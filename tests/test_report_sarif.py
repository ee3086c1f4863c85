"""SARIF 2.1.0: rules per kind, locations relative to the repo, stable fingerprints."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import pytest

from leastpriv_ci.report.sarif import fingerprint, to_sarif, write_sarif
from tests.report_helpers import finding, report

# The parts of the SARIF 2.1.0 schema (oasis-tcs/sarif-spec) that code scanning reads.
SCHEMA = json.loads((Path(__file__).parent / "data" / "report" / "sarif-subset.schema.json")
                    .read_text())


def test_log_validates_against_the_sarif_subset_schema() -> None:
    log = to_sarif(report(finding("missing", severity="high"), finding("excess"),
                          finding("platform", severity="info", file=None)))
    jsonschema.Draft7Validator(SCHEMA).validate(log)
    assert log["version"] == "2.1.0"


def test_rules_carry_help_and_security_severity() -> None:
    driver = to_sarif(report(finding()))["runs"][0]["tool"]["driver"]
    ids = [r["id"] for r in driver["rules"]]
    # Code scanning reads security-severity from the rule alone: a kind whose findings
    # differ in severity (data/findings.yaml) has one rule per severity it can take
    assert ids == ["leastpriv/missing/high", "leastpriv/missing/medium",
                   "leastpriv/denied/high", "leastpriv/denied/medium",
                   "leastpriv/excess/critical", "leastpriv/excess/high",
                   "leastpriv/excess/medium", "leastpriv/excess/low",
                   "leastpriv/platform", "leastpriv/unobserved"]
    excess = driver["rules"][ids.index("leastpriv/excess/medium")]
    assert excess["help"]["text"].startswith("Remove the action")
    assert excess["properties"]["security-severity"] == "5.5"
    assert excess["shortDescription"]["text"] == "Permission granted but never used (medium)"
    critical = driver["rules"][ids.index("leastpriv/excess/critical")]
    assert critical["properties"]["security-severity"] == "9.5"
    assert critical["defaultConfiguration"] == {"level": "error"}


def test_a_finding_is_reported_under_the_rule_of_its_severity() -> None:
    everything = finding("excess", "*", "*", severity="critical")
    log = to_sarif(report(everything, finding("excess", severity="low"),
                          finding("platform", severity="info")))
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    results = log["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == [
        "leastpriv/excess/critical", "leastpriv/excess/low", "leastpriv/platform"]
    for result in results:
        rule = rules[result["ruleIndex"]]
        assert rule["id"] == result["ruleId"]
    assert rules[results[0]["ruleIndex"]]["properties"]["security-severity"] == "9.5"
    # a severity the data cannot give still gets a rule of its own, never a dropped result
    odd = to_sarif(report(finding("excess", severity="info")))
    [result] = odd["runs"][0]["results"]
    assert result["ruleId"] == "leastpriv/excess/info"
    rule = odd["runs"][0]["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert rule["id"] == "leastpriv/excess/info" and rule["properties"]["security-severity"] \
        == "1.0"


def test_result_location_level_and_rule_index(tmp_path: Path) -> None:
    absolute = str(tmp_path / "infra" / "template.yaml")
    log = to_sarif(report(finding("missing", severity="high", file=absolute, line=12)),
                   root=tmp_path)
    result = log["runs"][0]["results"][0]
    assert result["ruleId"] == "leastpriv/missing/high" and result["ruleIndex"] == 0
    assert result["level"] == "error"
    assert result["properties"]["security-severity"] == "8.0"
    location = result["locations"][0]["physicalLocation"]
    assert location == {"artifactLocation": {"uri": "infra/template.yaml"},
                        "region": {"startLine": 12}}


def test_uris_are_relative_to_the_repository_holding_the_file(tmp_path: Path) -> None:
    # actions/checkout with `path: app`: read as app/iam/role.json, placed as iam/role.json
    (tmp_path / "app" / ".git").mkdir(parents=True)
    (tmp_path / "app" / "iam").mkdir()
    (tmp_path / "app" / "iam" / "role.json").write_text("{}")
    log = to_sarif(report(finding(file="app/iam/role.json", line=4),
                          finding("missing", file=None)),
                   root=tmp_path, fallback_uri=".github/workflows/gate.yml")
    located, fallback = log["runs"][0]["results"]
    assert located["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "iam/role.json"}, "region": {"startLine": 4}}
    assert fallback["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        ".github/workflows/gate.yml"


def test_dot_relative_paths_are_cleaned_and_no_file_gets_the_fallback_location() -> None:
    # Code scanning rejects the whole upload when a result has no location
    # ("locationFromSarifResult: expected at least one location").
    log = to_sarif(report(finding(file="./iam/policy.json", line=3), finding("missing", file=None)))
    first, second = log["runs"][0]["results"]
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        "iam/policy.json"
    assert second["locations"] == [
        {"physicalLocation": {"artifactLocation": {"uri": "template.yaml"}}}]  # a policy file
    assert second["properties"]["location_is_fallback"] is True
    workflow = to_sarif(report(finding("missing", file=None)),
                        fallback_uri=".github/workflows/gate.yml")
    [result] = workflow["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        ".github/workflows/gate.yml"


def test_every_result_has_a_location_even_with_no_policy_file() -> None:
    bare = report(finding("missing", file=None), finding("unobserved", file=None))
    bare = replace(bare, analysis=replace(bare.analysis,
                                          coverage=replace(bare.analysis.coverage,
                                                           policy_files=())))
    for result in to_sarif(bare)["runs"][0]["results"]:
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]


def test_uris_are_percent_encoded_uri_references() -> None:
    name = "infra/my stack/a#1 %41|<b>.yaml"
    log = to_sarif(report(finding(file=name, line=2)))
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"][
        "uri"]
    assert uri == "infra/my%20stack/a%231%20%2541%7C%3Cb%3E.yaml"
    assert unquote(uri) == name


def test_the_upload_category_is_left_to_upload_sarif() -> None:
    # upload-sarif fills automationDetails only when it is missing: a fixed id here would
    # override its `category` input and merge every matrix job into one analysis.
    run = to_sarif(report(finding()))["runs"][0]
    assert "automationDetails" not in run


def test_fingerprints_are_stable_per_kind_role_action_resource() -> None:
    a = finding("excess", "s3:GetObject", "arn:aws:s3:::b/*", line=10)
    moved = finding("excess", "S3:getobject", "arn:aws:s3:::b/*", line=99)
    other = finding("excess", "s3:GetObject", "arn:aws:s3:::B/*")
    assert fingerprint(a) == fingerprint(moved)  # lines move, action case does not matter
    assert fingerprint(a) != fingerprint(other)  # ARNs are case-sensitive
    results = to_sarif(report(a))["runs"][0]["results"]
    assert results[0]["partialFingerprints"] == {"leastprivFinding/v1": fingerprint(a)}


def test_ignored_findings_are_suppressed_not_dropped(tmp_path: Path) -> None:
    ignored = finding()
    ignored = ignored.__class__(**{**ignored.__dict__, "detail": {"ignored": "legacy job"}})
    path = tmp_path / "out" / "leastpriv.sarif"
    write_sarif(report(ignored), path)
    result = json.loads(path.read_text())["runs"][0]["results"][0]
    assert result["suppressions"] == [{"kind": "external", "justification": "legacy job"}]


def test_subset_schema_rejects_members_sarif_does_not_define() -> None:
    log = to_sarif(report(finding()))
    log["runs"][0]["results"][0]["fingerprint"] = "x"  # SARIF calls it partialFingerprints
    with pytest.raises(jsonschema.ValidationError, match="fingerprint"):
        jsonschema.Draft7Validator(SCHEMA).validate(log)


def test_invisible_characters_in_messages_are_shown_and_properties_keep_them() -> None:
    # A bidi override in a name the pull request wrote would reorder the alert's text
    resource = "arn:aws:s3:::orders\u202e/*"
    ignored = finding(resource=resource)
    ignored = ignored.__class__(**{**ignored.__dict__, "detail": {"ignored": "old\u2066job"}})
    (result,) = to_sarif(report(ignored))["runs"][0]["results"]
    text = result["message"]["text"]
    assert "orders\\u202e/*" in text and "\u202e" not in text
    assert result["suppressions"][0]["justification"] == "old\\u2066job"
    assert result["properties"]["resource"] == resource


def test_a_run_over_the_code_scanning_limit_keeps_the_most_severe() -> None:
    from leastpriv_ci.report.sarif import MAX_RESULTS

    assert MAX_RESULTS == 25_000  # GitHub code scanning's results per run
    findings = [finding("excess", "s3:GetObject", severity="low"),
                finding("excess", "s3:PutObject", severity="critical"),
                finding("platform", "logs:PutLogEvents", severity="info"),
                finding("missing", "dynamodb:DeleteItem", severity="high")]
    log = to_sarif(report(*findings), limit=2)
    jsonschema.Draft7Validator(SCHEMA).validate(log)
    run = log["runs"][0]
    assert [r["properties"]["action"] for r in run["results"]] == [
        "s3:PutObject", "dynamodb:DeleteItem"]  # report order among the kept
    assert run["properties"]["results_omitted"] == 2
    [notification] = run["invocations"][0]["toolExecutionNotifications"]
    assert notification["message"]["text"].startswith(
        "2 finding(s) of lower severity were left out of this SARIF run")
    assert run["invocations"][0]["executionSuccessful"] is True
    # Under the limit: every result, and nothing said.
    full = to_sarif(report(*findings))["runs"][0]
    assert len(full["results"]) == 4
    assert "invocations" not in full and "results_omitted" not in full["properties"]


def test_a_capped_run_keeps_the_findings_that_failed_the_gate_first() -> None:
    failing = replace(finding("excess", "s3:GetObject", severity="low"),
                      detail={"fails_gate": True})
    log = to_sarif(report(finding("excess", "s3:PutObject", severity="critical"), failing),
                   limit=1)
    assert [r["properties"]["action"] for r in log["runs"][0]["results"]] == ["s3:GetObject"]
