"""The PR comment: verdict first, escaping of hostile strings, links, the size cap."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from leastpriv_ci.report import escape, markdown, summary
from tests.report_helpers import FUNCTION, ROLE, failing, finding, report

HOSTILE = "arn:aws:s3:::b/`x`|<script>alert(1)</script>@org/team #123\nnext"


def _link(path: str, line: int | None) -> str:
    return f"https://github.com/o/r/blob/abc123/{path}#L{line}"


def test_verdict_and_counts_come_first() -> None:
    body = markdown.render(report(
        failing(finding("missing", "dynamodb:PutItem", severity="high")),
        failing(finding("excess")), failing(finding("excess", "s3:PutObject")),
    ))
    first = body.splitlines()[0]
    assert first == "### leastpriv-ci: ❌ fail"
    counts_line = body.splitlines()[2]
    assert counts_line.startswith("**1 missing** · 0 denied · **2 excess** · 0 platform")
    assert body.index("1 missing") < body.index("#### Role")


def test_pass_headline() -> None:
    body = markdown.render(report(passed=True, reasons=("The gate passed.",)))
    assert body.startswith("### leastpriv-ci: ✅ pass")
    assert "- The gate passed\\." in body
    assert "No missing, denied or excess permissions." in body
    assert "#### Role" not in body


def test_the_job_key_is_shown_in_the_title_as_inert_text() -> None:
    key = "eu-west-1, <img src=x> @octo/team [x](https://evil)\n### injected"
    for body in (markdown.render(report(passed=True), key=key),
                 summary.render(report(passed=True), key=key)):
        first, _, rest = body.partition("\n")
        assert first.startswith("### leastpriv-ci (eu\\-west\\-1, ")
        assert first.endswith("): ✅ pass")
        assert "<img" not in body and "](https://evil)" not in body
        assert "@octo" not in body  # a mention would notify the team
        assert "### injected" not in rest


def test_missing_rows_come_before_excess_rows() -> None:
    body = markdown.render(report(
        finding("excess", "s3:DeleteObject"), finding("missing", "sqs:SendMessage"),
        finding("denied", "kms:Decrypt"),
    ))
    rows = [line for line in body.splitlines() if line.startswith("| Missing")
            or line.startswith("| Denied") or line.startswith("| Excess")]
    assert [r.split(" | ")[0] for r in rows] == ["| Missing", "| Denied", "| Excess"]


def test_statement_links_point_at_file_and_line() -> None:
    body = markdown.render(report(finding(file="infra/template.yaml", line=17)), link=_link)
    target = "https://github.com/o/r/blob/abc123/infra/template.yaml#L17"
    assert f"[infra/template\\.yaml\\:17]({target})" in body


def test_without_link_the_location_is_plain_text() -> None:
    body = markdown.render(report(finding(file="template.yaml", line=9)))
    assert "template\\.yaml\\:9" in body
    assert "](" not in body.split("<details>")[0]


def test_hostile_strings_cannot_break_the_table_or_inject_html() -> None:
    body = markdown.render(report(finding("excess", "s3:Get`*`|x", HOSTILE)), link=_link)
    row = next(line for line in body.splitlines() if line.startswith("| Excess"))
    # exactly the 8 pipes of a 7-column row, every other pipe escaped
    assert len(re.findall(r"(?<!\\)\|", row)) == 8
    outside_code = re.sub(r"(`+).+?\1", "", body)
    assert "<script>" not in outside_code
    assert "``arn:aws:s3:::b/`x`\\|<script>alert(1)</script>@org/team #123 next``" in row
    assert "next" in row  # the newline became a space inside the same row
    # GitHub links no mention inside a code span, and none outside survives escaping
    assert "@org" not in outside_code and "#123" not in outside_code


def test_mentions_and_issue_links_are_neutralised_in_prose() -> None:
    text = escape.text("ping @octocat about #42 <b>now</b> & [x](javascript:alert(1))")
    assert "@octocat" not in text and f"@{escape.ZWJ}octocat" in text
    assert "#42" not in text and f"#{escape.ZWJ}42" in text
    assert "<b>" not in text and "&lt;b&gt;" in text
    assert "](" not in text  # brackets and parentheses are escaped
    assert "&amp;" in text


def test_code_span_fence_outgrows_backtick_runs() -> None:
    span = escape.code("a``b")
    assert span == "```a``b```"
    assert escape.code("`x`") == "`` `x` ``"
    assert escape.code_cell("a|b") == "`a\\|b`"


def test_fenced_block_cannot_be_closed_by_its_content() -> None:
    block = escape.fenced('{"a": "```\\n@team"}\n```', "json")
    fence = block.splitlines()[0].removesuffix("json")
    assert len(fence) == 4
    assert block.endswith("\n" + fence)


def test_unsafe_link_targets_are_dropped() -> None:
    assert escape.link("x", "javascript:alert(1)") == "x"
    assert escape.link("f", "https://h/a b(c)") == "[f](https://h/a%20b%28c%29)"


def test_platform_unobserved_shared_and_proposal_sections() -> None:
    r = report(
        finding("platform", "logs:PutLogEvents", "*", severity="info"),
        finding("unobserved", "*", "*", role="arn:aws:iam::1:role/idle", severity="info"),
    )
    analysis = r.analysis.__class__(
        **{**r.analysis.__dict__, "shared_roles": {ROLE: (FUNCTION, FUNCTION + "2")}})
    body = markdown.render(r.__class__(analysis=analysis, verdict=r.verdict))
    assert "<summary>Platform-required permissions (1)" in body
    assert "<summary>Unobserved (1)" in body
    assert "is shared by 2 principals" in body
    assert f"<summary>Proposed policy for <code>{ROLE}</code></summary>" in body
    assert '"Action": "s3:GetObject"' in body
    assert ("Changes against the declared policy (jsondiff, symmetric form: a changed value "
            "reads `[declared, proposed]`") in body
    assert "7 trace(s) read, from 2023-11-14 22:13:20 UTC to 2023-11-14 22:23:20 UTC" in body
    assert "2 access(es) whose traces named no resource" in body
    assert "principal(s) with no known role" in body


def test_a_trace_window_past_any_date_is_shown_as_its_numbers() -> None:
    r = report(finding("excess", "s3:GetObject", "*"))
    coverage = replace(r.analysis.coverage, window=(1e300, float("inf")))
    body = markdown.render(replace(r, analysis=replace(r.analysis, coverage=coverage)))
    assert ("7 trace(s) read, from 1e+300 (epoch seconds, no date) to inf (epoch seconds, "
            "no date)") in body


def test_each_principal_of_a_shared_role_gets_its_own_proposal() -> None:
    r = report(finding("excess", "dynamodb:*", "*"))
    needs = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "arn:aws:dynamodb:x"}]}
    analysis = r.analysis.__class__(**{
        **r.analysis.__dict__,
        "shared_roles": {ROLE: (FUNCTION, FUNCTION + "2")},
        "principal_proposals": {FUNCTION: needs, FUNCTION + "2|<b>": needs},
    })
    body = markdown.render(r.__class__(analysis=analysis, verdict=r.verdict))
    section = body[body.index("What each principal needs on its own (2)"):]
    assert f"`{FUNCTION}`" in section
    assert '"Action": "dynamodb:Query"' in section
    assert "<b>" not in section.replace("`" + FUNCTION + "2|<b>`", "")


def test_five_thousand_findings_fit_in_a_comment() -> None:
    findings = [
        failing(finding("excess", f"s3:Action{i}", f"arn:aws:s3:::bucket-{i}/{'k' * 80}",
                        role=f"arn:aws:iam::123456789012:role/r{i % 60}"))
        for i in range(5_000)
    ]
    body = markdown.render(report(*findings))
    assert len(body) < 65_536 - 1_000
    assert body.startswith("### leastpriv-ci: ❌ fail")
    assert "**5000 excess**" in body
    assert "job summary" in body  # points at the rest
    assert body.count("<details>") == body.count("</details>")


def test_one_huge_field_is_truncated_with_a_pointer() -> None:
    findings = [finding("missing", "s3:GetObject", "arn:" + "x" * 5000, severity="high")]
    body = markdown.render(report(*findings), limit=500)
    assert markdown.size(body) <= 500
    assert "truncated to fit" in body
    assert body.count("<details>") == body.count("</details>")


def test_summary_lists_more_than_the_comment() -> None:
    findings = [finding("excess", f"s3:Action{i}") for i in range(300)]
    comment = markdown.render(report(*findings))
    job = summary.render(report(*findings))
    assert "s3:Action299" in job
    assert "s3:Action299" not in comment
    assert "…and 260 more" in comment
    assert markdown.size(job) < 1024 * 1024


def test_summary_stays_under_one_mebibyte() -> None:
    findings = [finding("excess", f"s3:A{i}", "arn:aws:s3:::b/" + "y" * 250,
                        role=f"arn:aws:iam::1:role/r{i % 400}") for i in range(20_000)]
    job = summary.render(report(*findings))
    assert markdown.size(job) <= summary.SUMMARY_LIMIT


def test_a_cut_inside_a_fence_and_details_closes_both() -> None:
    body = "### t\n\n<details open><summary>s</summary>\n\n````json\n" + "x\n" * 400
    cut = markdown.truncate(body, 300)
    assert markdown.size(cut) <= 300
    assert cut.endswith("_…truncated to fit; the full report is in " + markdown.POINTER + "._\n")
    before_note = cut.split("\n\n_…truncated")[0]
    assert before_note.endswith("\n````\n</details>")


def _cut_inside_coverage(name: str) -> str:
    """A body cut inside the Coverage fold, whose principal list shows ``name``."""
    listed = escape.code(name)
    body = ("### t\n\n<details><summary>Coverage</summary>\n\n"
            f"- 1 principal(s) with no known role: {listed}\n" + "- filler line\n" * 200
            + "\n</details>\n")
    cut = markdown.truncate(body, 300)
    return cut.split("\n\n_…truncated")[0]


@pytest.mark.parametrize("name", ["ecs-</details>-web", "ecs-<details>-web", "ecs-web"])
def test_a_cut_closes_the_open_fold_whatever_the_names_inside_read(name: str) -> None:
    # Tag text inside a code span is not HTML; counting it left the pointer to the full
    # report inside the collapsed fold, or added a stray "</details>".
    before_note = _cut_inside_coverage(name)
    structural = [line for line in before_note.split("\n") if line == "</details>"]
    assert structural == ["</details>"]
    assert before_note.endswith("\n</details>")


def test_names_outside_tables_show_no_table_escape() -> None:
    # A pipe is escaped only in table cells, where GFM removes the backslash again; in a
    # heading or list the backslash would show, and copy-paste gives a wrong ARN or path.
    role = "arn:aws:iam::1:role/a|b"
    r = report(finding("excess", role=role))
    analysis = r.analysis.__class__(**{
        **r.analysis.__dict__,
        "shared_roles": {role: (FUNCTION, FUNCTION + "|2")},
        "coverage": r.analysis.coverage.__class__(
            **{**r.analysis.coverage.__dict__, "policy_files": ("infra/a|b.json",),
               "unmapped": ("ecs|web",)}),
    })
    added = {"statement": {"Effect": "Allow", "Action": "s3:Get|x", "Resource": "arn:b|c"}}
    body = markdown.render(r.__class__(analysis=analysis, verdict=r.verdict),
                           changes={role: {"status": "changed", "added": [added]}})
    prose = "\n".join(line for line in body.splitlines() if not line.startswith("|"))
    assert "\\|" not in prose
    assert f"#### Role `{role}`" in prose
    assert f"- Role `{role}` is shared by 2 principals" in prose
    assert f"`{FUNCTION}|2`" in prose
    assert "`infra/a|b.json`" in prose and "`ecs|web`" in prose
    assert "- Allow `s3:Get|x` on `arn:b|c`" in prose


def test_the_headline_bolds_the_kinds_that_failed_the_gate() -> None:
    # fail-on: unobserved failed the gate; the excess finding is only reported.
    body = markdown.render(report(
        finding("excess"), failing(finding("unobserved", "*", "*", severity="info"))))
    assert body.splitlines()[2] == (
        "0 missing · 0 denied · 1 excess · 0 platform-required · **1 unobserved**")


@pytest.mark.parametrize("kind", ["platform", "unobserved"])
def test_a_fold_holding_a_finding_that_failed_the_gate_is_open(kind: str) -> None:
    quiet = finding(kind, "logs:CreateLogGroup", "*", severity="info")
    failed = failing(finding(kind, "logs:PutLogEvents", "*", severity="info"))
    body = markdown.render(report(quiet, failed))
    opener = next(line for line in body.splitlines() if "(2)" in line and "<details" in line)
    assert opener.startswith("<details open><summary>")
    assert f"1 failed the gate (fail-on: {kind})" in opener
    rows = [line for line in body.splitlines() if line.startswith("| `")]
    assert "logs:PutLogEvents" in rows[0]  # what failed comes first
    assert "<details open>" not in markdown.render(report(quiet))  # nothing failed: folded


def test_removed_statements_are_not_linked_to_the_head_commit() -> None:
    # A removed statement's line number is the base commit's; at the head that line holds
    # something else (or the file is gone), so only added statements link to the head.
    changes = {"orders-role": {"status": "changed",
               "added": [{"statement": {"Effect": "Allow", "Action": "s3:GetObject",
                                        "Resource": "*"},
                          "origin": {"file": "role.json", "line": 4}}],
               "removed": [{"statement": {"Effect": "Allow", "Action": "iam:*",
                                          "Resource": "*"},
                            "origin": {"file": "role.json", "line": 10}}]}}
    body = markdown.render(report(finding()), link=_link, changes=changes)
    added = next(line for line in body.splitlines() if "s3:GetObject" in line and " at " in line)
    removed = next(line for line in body.splitlines() if "iam:\\*" in line or "iam:*" in line)
    assert "](" in added and "#L4" in added
    assert "](" not in removed and removed.endswith(" at role\\.json\\:10")
    assert "Removed (lines of the base commit):" in body


def test_side_and_ignored_folds_list_their_first_rows_then_count_the_rest() -> None:
    platform = [finding("platform", f"logs:Action{i}", "*", severity="info") for i in range(35)]
    ignored = replace(finding("excess", "s3:DeleteObject"), detail={"ignored": "accepted"})
    body = markdown.render(report(*platform, ignored))
    fold = body[body.index("<summary>Platform-required permissions (35)"):]
    fold = fold[:fold.index("</details>")]
    assert "| Role | Action | Resource | Statement |\n| --- | --- | --- | --- |\n" in fold
    assert fold.count("| `logs:Action") == 30  # the largest detail's side_rows
    assert "…and 5 more" in fold
    kept = body[body.index("<summary>Ignored by configuration (1)</summary>"):]
    assert kept.startswith("<summary>Ignored by configuration (1)</summary>\n\n"
                           "| Kind | Role | Action | Resource | Reason |\n"
                           "| --- | --- | --- | --- | --- |\n| Excess |")
    assert "`s3:DeleteObject`" in kept.split("</details>")[0]


def test_a_long_why_is_cut_between_words_and_says_where_the_rest_is() -> None:
    arns = [f"arn:aws:dynamodb:us-east-1:123456789012:table/notes-staging-{n:02d}"
            for n in range(12)]
    fix = "narrow the resource to " + ", ".join(arns)
    short = replace(finding(), fix="narrow the resource to " + ", ".join(arns[:4]))
    body = markdown.render(report(short, replace(finding("excess", "s3:GetObject"), fix=fix)))
    rows = [line for line in body.splitlines() if "narrow the resource to" in line]
    whole, cut = sorted(rows, key=len)
    # four ARNs (about 300 characters with the message) are shown whole
    assert "table/notes\\-staging\\-03 |" in whole and "…" not in whole
    assert cut.endswith("… \\(the proposed policy below has it all\\) |")
    last = cut.split(" … ")[0].rsplit(" ", 1)[-1]
    assert last.startswith("arn\\:aws\\:dynamodb") and last.endswith(tuple("0123456789"))


def test_the_why_cell_shows_the_names_its_message_marks_as_code_exactly() -> None:
    from leastpriv_ci.analysis.severity import get_rules
    from leastpriv_ci.codemarks import mark

    odd = "arn:aws:s3:::orders-bucket/a`b|c``d"  # an object key may hold both
    message = get_rules().message("excess", "unused", action="s3:GetObject", resource=odd)
    fix = f"remove it, or scope it to {mark('arn:aws:s3:::orders-bucket/x')}"
    body = markdown.render(report(replace(finding(), message=message, fix=fix)))
    (row,) = [line for line in body.splitlines() if "is granted and was never used" in line]
    why = row.rsplit(" | ", 1)[1]
    assert why == ("`s3:GetObject` on ```arn:aws:s3:::orders-bucket/a`b\\|c``d``` is granted "
                   "and was never used; remove it, or scope it to "
                   "`arn:aws:s3:::orders-bucket/x` |")


def test_a_long_why_is_never_cut_inside_a_marked_name() -> None:
    from leastpriv_ci.codemarks import mark, spans

    arns = [f"arn:aws:dynamodb:us-east-1:123456789012:table/notes staging {n:02d}"
            for n in range(12)]  # spaces inside the names: no cut may fall there
    fix = "narrow the resource to " + ", ".join(mark(a) for a in arns)
    body = markdown.render(report(replace(finding(), fix=fix)))
    (row,) = [line for line in body.splitlines() if "narrow the resource to" in line]
    why = row.rsplit(" | ", 1)[1].removesuffix(" |")
    assert why.endswith(" … \\(the proposed policy below has it all\\)")
    # the message's action and resource, then whole ARNs of the fix, as many as fit
    shown = [part for code, part in spans(why) if code][2:]
    assert shown and all(part in arns for part in shown)
    assert len(shown) < len(arns)


def test_a_proposal_s_notes_follow_it_as_inert_text() -> None:
    r = report(finding("missing", "s3:GetObject", "arn:aws:s3:::orders-bucket/a"))
    hostile = "calls on table/<img src=x onerror=alert(1)> @octo-org/admins [x](https://e.x)"
    body = markdown.render(replace(r, analysis=replace(
        r.analysis, proposal_notes={ROLE: ("keeps the role's 1 Deny statement(s)", hostile)})))
    proposal = body[body.index("<summary>Proposed policy"):]
    proposal = proposal[:proposal.index("</details>")]
    assert "Notes on this proposal:\n\n- keeps the role's 1 Deny statement\\(s\\)" in proposal
    assert "<img" not in body and "&lt;img" in proposal
    assert "@octo-org" not in body and "](https" not in body


def test_coverage_leaves_out_the_notes_shown_under_their_proposal() -> None:
    from leastpriv_ci.notices import Notices

    notices = Notices()
    notices.add("unknown-resource", "accesses whose trace named no resource")
    r = report(finding("missing", "s3:GetObject", "arn:aws:s3:::orders-bucket/a"))
    r = replace(r, analysis=replace(r.analysis, notices=notices,
                                    proposal_notes={ROLE: ("keeps the role's 1 Deny",)}))
    body = markdown.render(r)
    coverage = body[body.index("<summary>Coverage"):]
    assert "1 kind(s) of warning" in coverage and "unknown\\-resource" in coverage
    assert "keeps the role" not in coverage
    assert "keeps the role's 1 Deny" in body[:body.index("<summary>Coverage")]
    # a comment with no room for the proposals keeps their notes in Coverage
    alone = markdown._coverage(r, notes_shown=False)
    assert "1 note(s) on the proposals" in alone and "keeps the role's 1 Deny" in alone


def test_a_warning_naming_a_file_that_is_not_utf8_renders() -> None:
    # os.walk spells a name of bytes that are not UTF-8 with lone surrogates: the
    # comment shows them as code points instead of failing to encode
    from leastpriv_ci.notices import Notices

    notices = Notices()
    notices.add("cdk-output-ignored", "a cdk.json output that is not followed",
                "app-\udcff/cdk.json:1 ('../x')")
    r = report(finding("missing", "s3:GetObject", "arn:aws:s3:::orders-bucket/a"))
    body = markdown.render(replace(r, analysis=replace(r.analysis, notices=notices)))
    body.encode("utf-8")
    assert "app\\-\\\\udcff/cdk\\.json" in body  # reads app-\udcff/cdk.json
