"""The gate: fail-on kinds, max-excess, min-severity, ignore rules, expiry, baseline."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from leastpriv_ci.gate import GateRules, IgnoreRule, baseline_keys, decide
from leastpriv_ci.records import Report
from leastpriv_ci.report.json_report import dumps
from tests.report_helpers import OTHER_ROLE, ROLE, analysis, finding

TODAY = date(2026, 11, 23)

MISSING = finding("missing", "dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:1:table/t",
                  severity="high")
EXCESS_WRITE = finding("excess", "s3:DeleteObject", severity="medium")
EXCESS_READ = finding("excess", "s3:GetObjectAcl", severity="low")
PLATFORM = finding("platform", "logs:PutLogEvents", "*", severity="info")


GATE_EXCESS = frozenset({"missing", "denied", "excess"})


def _decide(*found, **rules):  # type: ignore[no-untyped-def]
    """Decide with excess gated, unless a test names its own fail-on kinds."""
    rules.setdefault("fail_on", GATE_EXCESS)
    return decide(analysis(*found), GateRules(**rules), today=TODAY)


def test_by_default_excess_is_reported_but_does_not_fail() -> None:
    verdict, _ = decide(analysis(EXCESS_WRITE), GateRules(), today=TODAY)
    assert verdict.passed
    assert verdict.counts["excess"] == 1
    assert "not gated" in verdict.reasons[0]
    assert not decide(analysis(MISSING), GateRules(), today=TODAY)[0].passed


def test_a_max_excess_threshold_gates_excess_without_naming_it_in_fail_on() -> None:
    rules = GateRules(fail_on=frozenset({"missing", "denied"}), max_excess=0)
    verdict, _ = decide(analysis(EXCESS_WRITE), rules, today=TODAY)
    assert not verdict.passed
    assert decide(analysis(EXCESS_WRITE), GateRules(max_excess=1), today=TODAY)[0].passed


@pytest.mark.parametrize(
    ("fail_on", "passed"),
    [
        (frozenset({"missing", "denied", "excess"}), False),
        (frozenset({"missing"}), False),
        (frozenset({"excess"}), False),
        (frozenset({"denied"}), True),
        (frozenset(), True),
    ],
)
def test_fail_on_selects_the_kinds_that_fail(fail_on: frozenset[str], passed: bool) -> None:
    verdict, _ = _decide(MISSING, EXCESS_WRITE, PLATFORM, fail_on=fail_on)
    assert verdict.passed is passed
    assert verdict.counts["missing"] == 1 and verdict.counts["platform"] == 1


def test_reasons_name_findings_and_come_with_a_final_sentence() -> None:
    verdict, _ = _decide(MISSING, fail_on=frozenset({"missing"}))
    assert verdict.reasons[0] == (
        "1 missing finding(s) at or above severity low: dynamodb:PutItem on "
        "arn:aws:dynamodb:us-east-1:1:table/t."
    )
    assert verdict.reasons[-1] == "The gate failed."


def test_platform_findings_never_fail_by_default() -> None:
    verdict, _ = _decide(PLATFORM)
    assert verdict.passed and verdict.reasons[-1] == "The gate passed."


def test_max_excess_tolerates_that_many() -> None:
    assert _decide(EXCESS_WRITE, EXCESS_READ, max_excess=2)[0].passed
    verdict, _ = _decide(EXCESS_WRITE, EXCESS_READ, max_excess=1)
    assert not verdict.passed
    assert "2 excess finding(s) at or above severity low, over max-excess 1" in verdict.reasons[0]


def test_min_severity_floor_keeps_low_findings_out_of_the_gate() -> None:
    verdict, marked = _decide(EXCESS_READ, min_severity="medium")
    assert "1 excess finding(s) below min-severity medium: reported, not gated." \
        in verdict.reasons
    # a kind not gated is said so once, not also as below the floor
    quiet, _ = _decide(EXCESS_READ, min_severity="medium", fail_on=frozenset({"missing"}))
    assert not any("below min-severity" in r for r in quiet.reasons)
    assert verdict.passed
    assert verdict.counts["excess"] == 1  # still counted and reported
    assert marked.findings == (EXCESS_READ,)
    assert not _decide(EXCESS_WRITE, min_severity="medium")[0].passed


def test_findings_past_a_threshold_are_marked_as_failing_the_gate() -> None:
    low_missing = finding("missing", "sqs:SendMessage", severity="low")
    _, marked = _decide(MISSING, low_missing, EXCESS_WRITE, PLATFORM,
                        fail_on=frozenset({"missing"}))
    failing = {f.action for f in marked.findings if f.detail.get("fails_gate") is True}
    assert failing == {"dynamodb:PutItem", "sqs:SendMessage"}  # whatever their severity
    # within max-excess, or under the severity floor: reported, not failing
    _, within = _decide(EXCESS_WRITE, EXCESS_READ, max_excess=2)
    assert not any("fails_gate" in f.detail for f in within.findings)
    _, floored = _decide(EXCESS_WRITE, EXCESS_READ, min_severity="medium")
    assert [f.action for f in floored.findings if f.detail.get("fails_gate")] == \
        ["s3:DeleteObject"]


def test_ignore_rule_marks_findings_and_keeps_them_visible() -> None:
    rule = IgnoreRule(reason="cleanup job deletes old orders", action="S3:Delete*",
                      resource="arn:aws:s3:::orders-*", where=".leastpriv.yml:4")
    verdict, marked = _decide(EXCESS_WRITE, ignore=(rule,))
    assert verdict.passed
    assert verdict.counts["excess"] == 0
    assert marked.findings[0].detail["ignored"] == "cleanup job deletes old orders"
    listed = ("Ignore rule .leastpriv.yml:4 (action S3:Delete*, resource "
              "arn:aws:s3:::orders-*) matched 1 finding(s): cleanup job deletes old orders")
    assert verdict.ignored == (listed,)
    # each rule that applied is named in the reasons every report prints
    assert verdict.reasons[verdict.reasons.index("1 finding(s) ignored by 1 rule(s).") + 1] \
        == listed


def test_past_ten_ignore_rules_the_reasons_count_the_rest() -> None:
    rules = tuple(IgnoreRule(reason=f"r{n}", action="s3:*", where=f".leastpriv.yml:{n}")
                  for n in range(12))
    found = [finding("excess", f"s3:Get{n}", severity="medium") for n in range(12)]
    verdict, _ = _decide(*found, ignore=rules)
    named = [r for r in verdict.reasons if r.startswith("Ignore rule ")]
    # a finding is ignored by the first rule that matches it: one rule applied, 12 findings
    assert named == ["Ignore rule .leastpriv.yml:0 (action s3:*, resource *) matched 12 "
                     "finding(s): r0"]
    rules = tuple(IgnoreRule(reason=f"r{n}", action=f"s3:Get{n}", where=f".leastpriv.yml:{n}")
                  for n in range(12))
    verdict, _ = _decide(*found, ignore=rules)
    named = [r for r in verdict.reasons if r.startswith("Ignore rule ")]
    assert len(named) == 10 and len(verdict.ignored) == 12
    assert "... and 2 more ignore rule(s) that applied." in verdict.reasons


def test_ignore_rule_respects_role_kind_and_resource_case() -> None:
    other_role = IgnoreRule(reason="r", role=OTHER_ROLE)
    wrong_kind = IgnoreRule(reason="r", kinds=frozenset({"missing"}))
    upper = IgnoreRule(reason="r", resource="arn:aws:s3:::ORDERS-BUCKET/*")
    for rule in (other_role, wrong_kind, upper):
        assert not _decide(EXCESS_WRITE, ignore=(rule,))[0].passed, rule
    assert _decide(EXCESS_WRITE, ignore=(IgnoreRule(reason="r", role=ROLE),))[0].passed


def test_expired_ignore_rule_stops_applying_and_warns() -> None:
    rule = IgnoreRule(reason="temporary", action="s3:*", expires=date(2026, 11, 22),
                      where=".leastpriv.yml:7")
    verdict, marked = _decide(EXCESS_WRITE, ignore=(rule,))
    assert not verdict.passed
    assert "ignored" not in marked.findings[0].detail
    assert any("expired on 2026-11-22 and no longer applies" in r for r in verdict.reasons)
    assert marked.notices.count("ignore-expired") == 1
    # on its last day it still applies
    assert decide(analysis(EXCESS_WRITE), GateRules(ignore=(rule,)),
                  today=date(2026, 11, 22))[0].passed


def test_config_text_in_reasons_stays_on_one_line() -> None:
    # Reasons are printed as console lines; a config value must not start another.
    rule = IgnoreRule(reason="x\n::error::injected", action="s3:*\r\n::warning::a",
                      expires=date(2026, 11, 22))
    verdict, _ = _decide(EXCESS_WRITE, ignore=(rule,))
    known = baseline_keys({"findings": [EXCESS_WRITE.to_json()]})
    verdict_b, _ = _decide(EXCESS_WRITE, baseline=known, baseline_file="base.json\n::error::b")
    for reason in (*verdict.reasons, *verdict_b.reasons):
        assert "\n" not in reason and "\r" not in reason
    assert any("reason was: x ::error::injected" in r for r in verdict.reasons)


def test_baseline_lets_only_new_excess_fail() -> None:
    old_verdict, old = _decide(EXCESS_WRITE)
    previous = __import__("json").loads(dumps(Report(old, old_verdict)))
    keys = baseline_keys(previous)
    verdict, marked = _decide(EXCESS_WRITE, baseline=keys, baseline_file="base.json")
    assert verdict.passed
    assert marked.findings[0].detail["baseline"] is True
    assert any("already in the baseline base.json" in r for r in verdict.reasons)
    verdict, _ = _decide(EXCESS_WRITE, EXCESS_READ, baseline=keys)
    assert not verdict.passed
    assert verdict.reasons[0].startswith("1 new excess finding(s)")


def test_baseline_does_not_excuse_missing_permissions() -> None:
    keys = baseline_keys({"findings": [MISSING.to_json()]})
    assert not _decide(MISSING, baseline=keys)[0].passed


def test_no_traces_is_said_out_loud() -> None:
    empty = analysis()
    empty = empty.__class__(**{**empty.__dict__, "coverage": empty.coverage.__class__()})
    verdict, _ = decide(empty, GateRules(), today=TODAY)
    assert not verdict.passed
    assert any(r.startswith("No traces were read: nothing was verified") for r in verdict.reasons)
    # max-excess alone is a request to gate, too
    verdict, _ = decide(empty, GateRules(fail_on=frozenset(), max_excess=5), today=TODAY)
    assert not verdict.passed


def test_a_shadow_run_says_it_verified_nothing_without_failing() -> None:
    # fail-on: none and no max-excess: nothing gates (the soft-fail users ask for), but
    # an empty run is still said first among the reasons, not buried
    empty = analysis()
    empty = empty.__class__(**{**empty.__dict__, "coverage": empty.coverage.__class__()})
    verdict, _ = decide(empty, GateRules(fail_on=frozenset()), today=TODAY)
    assert verdict.passed
    assert any(r.startswith("No traces were read: nothing was verified") for r in verdict.reasons)


@pytest.mark.parametrize(
    ("coverage", "said"),
    [
        ({"traces": 3}, "3 trace(s) were read, but no principal was found in them"),
        ({"traces": 3, "principals": ("fn-a", "fn-b"), "unmapped": ("fn-b", "fn-a")},
         "No traced principal's role was found (2 principal(s) with no known role)"),
    ],
)
def test_traces_that_verified_nothing_fail_a_run_that_gates(
        coverage: dict[str, object], said: str) -> None:
    from dataclasses import replace

    from leastpriv_ci.records import Coverage

    empty = replace(analysis(), coverage=Coverage(**coverage))  # type: ignore[arg-type]
    verdict, _ = decide(empty, GateRules(fail_on=frozenset({"denied"})), today=TODAY)
    assert not verdict.passed
    assert any(r.startswith(said) and "nothing was verified" in r for r in verdict.reasons)


def test_one_principal_with_its_role_found_is_something_verified() -> None:
    # the helper's coverage: one function compared, one ECS task with no known role
    verdict, _ = decide(analysis(), GateRules(), today=TODAY)
    assert verdict.passed
    assert not any("nothing was verified" in r for r in verdict.reasons)


def test_a_conditional_missing_finding_is_reported_but_never_fails() -> None:
    # "may be missing" rests on a condition the traces cannot decide: never proof.
    from dataclasses import replace

    maybe = replace(MISSING, severity="medium", conditional=True)
    verdict, _ = decide(analysis(maybe), GateRules(), today=TODAY)
    assert verdict.passed
    assert verdict.counts["missing"] == 1
    assert any("cannot decide" in reason for reason in verdict.reasons)
    assert not decide(analysis(maybe, MISSING), GateRules(), today=TODAY)[0].passed


def test_max_excess_alone_is_not_said_to_leave_excess_ungated() -> None:
    verdict, _ = decide(analysis(EXCESS_WRITE), GateRules(fail_on=frozenset(), max_excess=0),
                        today=TODAY)
    assert not verdict.passed
    assert not any("reported but not gated" in reason for reason in verdict.reasons)


@pytest.mark.parametrize("kind", ["platform", "unobserved"])
def test_kinds_that_are_always_info_fail_when_fail_on_names_them(kind: str) -> None:
    # The severity floor grades findings within a kind; it must not silence a kind whose
    # findings all carry one fixed severity (info) when fail-on asks for it by name.
    found = finding(kind, "logs:PutLogEvents", "*", severity="info")
    verdict, marked = _decide(found, fail_on=frozenset({kind}))
    assert not verdict.passed
    # an unobserved role is named: its finding is about no action
    listed = f"role {found.role}" if kind == "unobserved" else "logs:PutLogEvents on *"
    assert verdict.reasons[0] == f"1 {kind} finding(s): {listed}."
    assert marked.findings[0].detail.get("fails_gate") is True
    assert _decide(found, fail_on=frozenset({"missing"}))[0].passed


def test_an_ignore_rule_covers_a_finding_on_one_of_several_actions_only_if_all() -> None:
    writes = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
              "dynamodb:ConditionCheckItem")
    either = replace(MISSING, one_of=writes)
    put_only = IgnoreRule(reason="legacy put path", action="dynamodb:PutItem")
    assert not _decide(either, ignore=(put_only,))[0].passed
    assert _decide(MISSING, ignore=(put_only,))[0].passed
    every_write = IgnoreRule(reason="r", action="dynamodb:*Item")
    assert _decide(either, ignore=(every_write,))[0].passed
