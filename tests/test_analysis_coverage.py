"""Unobserved roles, unmapped principals, declared vs proposed, and the report shape."""

from __future__ import annotations

import json

from leastpriv_ci.analysis import analyse
from leastpriv_ci.records import Report, Verdict
from tests.analysis_support import function_arn, load_role, observation, summary, table_arn, use

NOTES = table_arn("notes")


def roles():  # type: ignore[no-untyped-def]
    shared = load_role("notes-shared-role.json", key="NotesRole")
    crud = load_role("sam-crud-role.json", key="AttachmentsRole")
    return {shared.key: shared, crud.key: crud}


def test_role_without_observed_principal_has_no_verdict_only_a_listing() -> None:
    analysis = analyse(observation([use("notes-get", "dynamodb:GetItem", NOTES)]), roles(),
                       {function_arn("notes-get"): "NotesRole",
                        function_arn("attach"): "AttachmentsRole"})
    assert summary([f for f in analysis.findings if f.role == "AttachmentsRole"]) == {
        ("unobserved", "*", "*", "info", False)
    }
    finding = next(f for f in analysis.findings if f.kind == "unobserved")
    assert "no verdict" in finding.message
    assert "AttachmentsRole" not in analysis.proposals
    assert analysis.coverage.unobserved == ("AttachmentsRole", function_arn("attach"))
    assert analysis.coverage.roles == ("AttachmentsRole", "NotesRole")


def test_declared_only_roles_limits_the_unobserved_listing() -> None:
    usage = observation([use("notes-get", "dynamodb:GetItem", NOTES)])
    principals = {function_arn("notes-get"): "NotesRole"}
    listed = analyse(usage, roles(), principals, declared_only_roles={"AttachmentsRole"})
    assert [f.role for f in listed.findings if f.kind == "unobserved"] == ["AttachmentsRole"]
    silent = analyse(usage, roles(), principals, declared_only_roles=set())
    assert not [f for f in silent.findings if f.kind == "unobserved"]
    assert silent.coverage.unobserved == ()


def test_unmapped_principal_is_listed_and_gets_its_own_proposal() -> None:
    lost = use("lost", "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q")
    analysis = analyse(observation([lost, use("notes-get", "dynamodb:GetItem", NOTES)]),
                       roles(), {function_arn("notes-get"): "NotesRole",
                                 function_arn("lost"): None})
    assert analysis.coverage.unmapped == (function_arn("lost"),)
    assert not [f for f in analysis.findings if function_arn("lost") in f.principals]
    assert analysis.principal_proposals[function_arn("lost")]["Statement"] == [
        {"Effect": "Allow", "Action": "sqs:SendMessage",
         "Resource": "arn:aws:sqs:us-east-1:123456789012:q"}
    ]


def test_principal_mapped_to_an_unknown_role_is_unmapped_with_a_notice() -> None:
    analysis = analyse(observation([use("f", "dynamodb:GetItem", NOTES)]), roles(),
                       {function_arn("f"): "NoSuchRole"})
    assert analysis.coverage.unmapped == (function_arn("f"),)
    assert analysis.notices.count("unknown-role") == 1


def test_usage_record_role_is_used_when_the_map_does_not_name_the_principal() -> None:
    usage = observation([use("f", "dynamodb:GetItem", NOTES)])
    principal = function_arn("f")
    record = usage.principals[principal]
    from dataclasses import replace
    usage = replace(usage, principals={principal: replace(record, role="NotesRole")})
    analysis = analyse(usage, roles(), {})
    assert "NotesRole" in analysis.proposals
    assert analysis.coverage.unmapped == ()


def test_declared_document_and_diff_are_json_safe() -> None:
    analysis = analyse(observation([use("notes-get", "dynamodb:GetItem", NOTES)]), roles(),
                       {function_arn("notes-get"): "NotesRole"})
    declared = analysis.declared["NotesRole"]
    assert declared["Statement"][0] == {
        "Sid": "AllTables", "Effect": "Allow", "Action": "dynamodb:*",
        "Resource": "arn:aws:dynamodb:us-east-1:*:*",
    }
    diff = analysis.diffs["NotesRole"]
    text = json.dumps(diff)
    assert "$insert" in text or "$delete" in text or "$replace" in text
    assert "dynamodb:GetItem" in text and "dynamodb:*" in text


def test_report_json_carries_proposals_coverage_and_principal_proposals() -> None:
    accesses = [use("notes-get", "dynamodb:GetItem", NOTES, trace="1-aaa"),
                use("notes-create", "dynamodb:PutItem", NOTES, trace="1-bbb")]
    analysis = analyse(observation(accesses), roles(),
                       {function_arn("notes-get"): "NotesRole",
                        function_arn("notes-create"): "NotesRole"})
    report = json.loads(json.dumps(Report(analysis, Verdict(passed=False)).to_json()))
    assert report["shared_roles"] == {
        "NotesRole": [function_arn("notes-create"), function_arn("notes-get")]
    }
    assert set(report["principal_proposals"]) == {function_arn("notes-create"),
                                                  function_arn("notes-get")}
    excess = [f for f in report["findings"] if f["kind"] == "excess"]
    assert excess[0]["trace_ids"] == ["1-aaa", "1-bbb"] or excess[0]["trace_ids"] == [
        "1-bbb", "1-aaa"]
    assert excess[0]["origin"]["file"].endswith("notes-shared-role.json")
    assert report["coverage"]["traces"] == 2


def test_findings_are_in_a_stable_order() -> None:
    accesses = [use(fn, "dynamodb:GetItem", NOTES) for fn in ("b", "a", "c")]
    principals = {a.principal: "NotesRole" for a in accesses}
    first = analyse(observation(accesses), roles(), principals)
    second = analyse(observation(list(reversed(accesses))), roles(), principals)
    assert [f.to_json() for f in first.findings] == [f.to_json() for f in second.findings]
    assert first.proposals == second.proposals
    assert [f.role for f in first.findings] == sorted(f.role for f in first.findings)
    kinds = [f.kind for f in first.findings if f.role == "NotesRole"]
    assert kinds == sorted(kinds, key=["excess", "missing", "denied", "platform",
                                       "unobserved"].index)


def test_each_principal_s_own_proposal_keeps_the_notes_its_role_s_does_not_say() -> None:
    # A shared role with a Deny: the role's proposal says it keeps it, and each principal's
    # own proposal does not say so again; what is each principal's own is said under it
    from dataclasses import replace

    from leastpriv_ci.policy.model import Policy, Statement
    from leastpriv_ci.report import markdown, text

    role = roles()["NotesRole"]
    guard = Statement("Deny", ("dynamodb:DeleteTable",), ("*",), sid="NoDrops")
    role = replace(role, policies=(*role.policies, Policy("guard", (guard,))))
    accesses = [use("notes-get", "dynamodb:GetItem", NOTES),
                use("notes-get", "secretsmanager:GetSecretValue", "*", known=False),
                use("notes-create", "dynamodb:PutItem", NOTES),
                use("notes-create", "ssm:GetParameter", "*", known=False)]
    analysis = analyse(observation(accesses), {"NotesRole": role},
                       {function_arn("notes-get"): "NotesRole",
                        function_arn("notes-create"): "NotesRole"})
    (role_unnamed,) = [n for n in analysis.proposal_notes["NotesRole"]
                       if "did not name" in n]
    assert "secretsmanager:GetSecretValue" in role_unnamed and "ssm:GetParameter" in role_unnamed
    assert any("Deny statement" in n for n in analysis.proposal_notes["NotesRole"])
    notes = analysis.principal_proposal_notes
    (get_note,) = notes[function_arn("notes-get")]
    (create_note,) = notes[function_arn("notes-create")]
    assert "secretsmanager:GetSecretValue" in get_note and "ssm:" not in get_note
    assert "ssm:GetParameter" in create_note and "secretsmanager:" not in create_note
    report = Report(analysis, Verdict(passed=True))
    assert report.to_json()["principal_proposal_notes"] == {
        p: list(n) for p, n in sorted(notes.items())}
    body = markdown.render(report)
    own = body[body.index("What each principal needs on its own"):]
    assert own.count("Notes on this proposal:") == 2 and "Deny statement" not in own
    assert f"note: proposal for {function_arn('notes-get')}: the traces did not name" in (
        text.render(report))


def test_a_role_declared_without_statements_counts_its_file() -> None:
    from leastpriv_ci.policy.model import Role
    from leastpriv_ci.records import Origin

    bare = Role(key="BareRole", name="bare", policies=(),
                origin=Origin(file="template.yaml", line=4, logical_id="BareRole"))
    analysis = analyse(observation([use("notes-get", "dynamodb:GetItem", NOTES)]),
                       {bare.key: bare}, {function_arn("notes-get"): "BareRole"})
    assert analysis.coverage.policy_files == ("template.yaml",)
