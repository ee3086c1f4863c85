"""The sticky pull-request comment, against a local GitHub REST server reached via base_url."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from leastpriv_ci.errors import UserError
from leastpriv_ci.github import (
    PullRequestContext,
    comment_marker,
    file_link,
    matrix_key,
    post_comment,
    pull_request_context,
)
from leastpriv_ci.notices import Notices
from tests.github_server import GitHubServer, Identity

REPO = "octo/app"
USER = Identity("leastpriv-bot-user")
ACTIONS_BOT = Identity("github-actions[bot]", type="Bot", installation=True)
READ_ONLY = Identity("github-actions[bot]", type="Bot", installation=True, can_write=False)
SOMEONE = Identity("mallory")
EVENTS = Path(__file__).parent / "data" / "action" / "events"


@pytest.fixture
def server(github: GitHubServer) -> GitHubServer:
    github.state.tokens.update(
        {"user-token": USER, "app-token": ACTIONS_BOT, "ro-token": READ_ONLY,
         "mallory-token": SOMEONE}
    )
    github.state.add_pull(REPO, 7)
    return github


def context_for(server: GitHubServer, **changes: object) -> PullRequestContext:
    base = PullRequestContext(
        repository=REPO, number=7, head_sha="h" * 40, base_sha="b" * 40,
        event_name="pull_request", is_fork=False, actor="octocat", api_url=server.api_url,
        server_url="https://github.local", workflow="CI", job="gate", run_id="42",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_first_run_creates_a_marked_comment(server: GitHubServer) -> None:
    notices = Notices()
    result = post_comment("## verdict: pass", token="user-token", context=context_for(server),
                          notices=notices)
    assert result.action == "created"
    [comment] = server.state.comments_on(REPO, 7)
    assert comment["body"] == f"{comment_marker(context_for(server))}\n## verdict: pass"
    assert comment["body"].startswith("<!-- leastpriv-ci:CI/gate/ -->")
    assert result.url == f"http://github.local/{REPO}/pull/7#issuecomment-{comment['id']}"
    assert len(notices) == 0
    # PyGithub reached the server through base_url (the GHES-style /api/v3 prefix).
    assert all(r.path.startswith("/api/v3/") for r in server.state.requests)
    assert {r.authorization for r in server.state.requests} == {"token user-token"}


def test_second_run_updates_in_place(server: GitHubServer) -> None:
    ctx = context_for(server)
    first = post_comment("verdict: fail", token="user-token", context=ctx, notices=Notices())
    second = post_comment("verdict: pass", token="user-token", context=ctx, notices=Notices())
    assert second.action == "updated"
    assert second.url == first.url
    [comment] = server.state.comments_on(REPO, 7)
    assert comment["body"].endswith("verdict: pass")
    assert [w.method for w in server.state.writes()] == ["POST", "PATCH"]


def test_unchanged_body_is_not_rewritten(server: GitHubServer) -> None:
    ctx = context_for(server)
    post_comment("same\n", token="user-token", context=ctx, notices=Notices())
    result = post_comment("same", token="user-token", context=ctx, notices=Notices())
    assert result.action == "unchanged"
    assert [w.method for w in server.state.writes()] == ["POST"]


def test_matrix_keys_keep_separate_comments(server: GitHubServer) -> None:
    ctx = context_for(server)
    post_comment("us-east-1 report", token="user-token", context=ctx, key="us-east-1",
                 notices=Notices())
    post_comment("eu-west-1 report", token="user-token", context=ctx, key="eu-west-1",
                 notices=Notices())
    again = post_comment("us-east-1 v2", token="user-token", context=ctx, key="us-east-1",
                         notices=Notices())
    assert again.action == "updated"
    bodies = sorted(c["body"].split("\n", 1)[1] for c in server.state.comments_on(REPO, 7))
    assert bodies == ["eu-west-1 report", "us-east-1 v2"]


@pytest.mark.parametrize("matrix", [None, "", "  ", "null", "{}"])
def test_a_job_outside_a_matrix_has_no_matrix_key(matrix: str | None) -> None:
    assert matrix_key(matrix) == ""


def test_a_matrix_key_is_the_values_in_order() -> None:
    matrix = '{\n  "region": "eu-west-1",\n  "shard": 2,\n  "opts": {"a": [1, "b"]}\n}'
    assert matrix_key(matrix) == 'eu-west-1, 2, {"a":[1,"b"]}'


def test_a_long_matrix_key_is_cut_and_told_apart_by_a_digest() -> None:
    long = "x" * 100
    first = matrix_key(json.dumps({"name": long, "region": "us-east-1"}))
    second = matrix_key(json.dumps({"name": long, "region": "eu-west-1"}))
    assert len(first) == len(second) == 80
    assert first.startswith("x" * 70 + "… ") and first != second
    assert first == matrix_key(json.dumps({"name": long, "region": "us-east-1"}, indent=2))


@pytest.mark.parametrize("matrix", ["us-east-1", "[1, 2]", '"text"'])
def test_a_matrix_that_is_not_a_json_object_names_the_input(matrix: str) -> None:
    with pytest.raises(UserError) as raised:
        matrix_key(matrix)
    assert raised.value.where == "matrix"
    assert "leave it at its default" in str(raised.value)


def test_jobs_and_workflows_keep_separate_comments(server: GitHubServer) -> None:
    post_comment("a", token="user-token", context=context_for(server), notices=Notices())
    post_comment("b", token="user-token", context=context_for(server, job="other"),
                 notices=Notices())
    assert len(server.state.comments_on(REPO, 7)) == 2


def test_markers_cannot_be_broken_by_names() -> None:
    ctx = PullRequestContext(
        repository=REPO, number=7, head_sha=None, base_sha=None, event_name="pull_request",
        is_fork=False, actor=None, api_url="x", server_url="y", workflow="a --> b/c", job="j",
        run_id=None,
    )
    marker = comment_marker(ctx, "k/1")
    assert marker.count("-->") == 1 and marker.endswith(" -->")
    assert marker != comment_marker(replace(ctx, workflow="a --> b", job="c/j"), "k/1")


def test_someone_elses_comment_with_our_marker_is_left_alone(server: GitHubServer) -> None:
    ctx = context_for(server)
    fake = server.state.add_comment(REPO, 7, f"{comment_marker(ctx)}\nLGTM, merge it", SOMEONE)
    result = post_comment("real report", token="user-token", context=ctx, notices=Notices())
    assert result.action == "created"
    assert server.state.comments[fake]["body"].endswith("LGTM, merge it")
    assert len(server.state.comments_on(REPO, 7)) == 2


def test_installation_token_matches_its_bot_comment(server: GitHubServer) -> None:
    """GITHUB_TOKEN cannot read /user (403); its comments are by github-actions[bot]."""
    ctx = context_for(server)
    server.state.add_comment(REPO, 7, f"{comment_marker(ctx)}\nfrom a person", SOMEONE)
    first = post_comment("v1", token="app-token", context=ctx, notices=Notices())
    second = post_comment("v2", token="app-token", context=ctx, notices=Notices())
    assert (first.action, second.action) == ("created", "updated")
    bodies = [c["body"].split("\n", 1)[1] for c in server.state.comments_on(REPO, 7)]
    assert bodies == ["from a person", "v2"]
    assert any(r.path == "/api/v3/user" for r in server.state.requests)


@pytest.mark.parametrize("mode", ["update", "recreate"])
def test_another_apps_comment_with_our_marker_is_left_alone(
    server: GitHubServer, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    # An installation token cannot learn which bot it is, so another app's comment that
    # starts with our marker looks like ours until GitHub refuses to change it.
    server.state.tokens["ghs_actionstoken"] = ACTIONS_BOT
    ctx = context_for(server)
    ours = server.state.add_comment(REPO, 7, f"{comment_marker(ctx)}\nv0", ACTIONS_BOT)
    other = server.state.add_comment(REPO, 7, f"{comment_marker(ctx)}\nnot yours",
                                     Identity("other-app[bot]", type="Bot", installation=True))
    caplog.set_level(logging.INFO, logger="github")
    result = post_comment("v1", token="ghs_actionstoken", context=ctx, mode=mode,
                          notices=(notices := Notices()))
    assert result.action == ("updated" if mode == "update" else "created")
    assert server.state.comments[other]["body"].endswith("not yours")
    mine = [c["body"] for c in server.state.comments_on(REPO, 7)
            if c["user"] == ACTIONS_BOT]
    assert mine == [f"{comment_marker(ctx)}\nv1"]
    assert (ours in server.state.comments) == (mode == "update")
    assert len(notices) == 0 and "failed with 403" not in caplog.text


def test_an_actions_token_does_not_ask_for_its_own_user(server: GitHubServer) -> None:
    # GITHUB_TOKEN is an installation token (ghs_…): GET /user can only fail, so it is
    # not sent; the bot's own comment is still found and updated.
    server.state.tokens["ghs_actionstoken"] = ACTIONS_BOT
    ctx = context_for(server)
    post_comment("v1", token="ghs_actionstoken", context=ctx, notices=Notices())
    second = post_comment("v2", token="ghs_actionstoken", context=ctx, notices=Notices())
    assert second.action == "updated"
    assert not any(r.path == "/api/v3/user" for r in server.state.requests)


def test_the_expected_403_on_user_is_not_logged_but_other_403s_are(
    server: GitHubServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="github")
    result = post_comment("v1", token="app-token", context=context_for(server),
                          notices=Notices())
    assert result.action == "created"
    assert any(r.path == "/api/v3/user" for r in server.state.requests)  # asked, refused
    assert "failed with 403" not in caplog.text
    # A 403 that is a real failure is still logged (a read here: POSTs are never retried,
    # so PyGithub's retry logger never sees them; their refusal is in the warning).
    from tests.github_server import Failure

    caplog.clear()
    server.state.failures.append(Failure("GET", r"/repos/octo/app/issues/7/comments", 403,
                                         message="Resource not accessible by integration"))
    refused = post_comment("v2", token="ro-token", context=context_for(server), mode="new",
                           notices=Notices())
    assert refused.action == "skipped"
    assert "Request GET /api/v3/repos/octo/app/issues/7/comments?per_page=100 failed with " \
        "403" in caplog.text
    assert "/user failed" not in caplog.text
    assert logging.getLogger("github.GithubRetry").filters == []  # nothing left behind


def test_previous_comment_found_across_pages(server: GitHubServer) -> None:
    ctx = context_for(server)
    for i in range(150):  # 100 per page: ours will be on page 2
        server.state.add_comment(REPO, 7, f"chatter {i}", SOMEONE)
    assert post_comment("old", token="user-token", context=ctx, notices=Notices()).action \
        == "created"
    result = post_comment("new", token="user-token", context=ctx, notices=Notices())
    assert result.action == "updated"
    assert server.state.comments_on(REPO, 7)[-1]["body"].endswith("\nnew")
    listing = [r for r in server.state.requests
               if r.path.endswith("/issues/7/comments") and r.method == "GET"]
    assert {r.query.get("page", ["1"])[0] for r in listing} == {"1", "2"}
    assert all(r.query["per_page"] == ["100"] for r in listing)


def test_mode_new_adds_a_comment_each_run(server: GitHubServer) -> None:
    ctx = context_for(server)
    for body in ("run 1", "run 2"):
        result = post_comment(body, token="user-token", context=ctx, mode="new",
                              notices=Notices())
        assert result.action == "created"
    assert len(server.state.comments_on(REPO, 7)) == 2
    assert all(w.method == "POST" for w in server.state.writes())


def test_mode_recreate_deletes_the_old_comment(server: GitHubServer) -> None:
    ctx = context_for(server)
    first = post_comment("run 1", token="user-token", context=ctx, notices=Notices())
    second = post_comment("run 2", token="user-token", context=ctx, mode="recreate",
                          notices=Notices())
    assert second.action == "created"
    assert second.url != first.url
    [comment] = server.state.comments_on(REPO, 7)
    assert comment["body"].endswith("run 2")
    assert [w.method for w in server.state.writes()] == ["POST", "DELETE", "POST"]


def test_mode_off_makes_no_request(server: GitHubServer) -> None:
    notices = Notices()
    result = post_comment("x", token="user-token", context=context_for(server), mode="off",
                          notices=notices)
    assert result.action == "skipped"
    assert server.state.requests == []
    assert len(notices) == 0  # off is a choice, not a problem


def test_unknown_mode_is_a_user_error(server: GitHubServer) -> None:
    with pytest.raises(UserError, match="input comment"):
        post_comment("x", token="t", context=context_for(server), mode="sticky",
                     notices=Notices())


def test_read_only_token_degrades_to_a_warning(server: GitHubServer) -> None:
    notices = Notices()
    result = post_comment("x", token="ro-token", context=context_for(server), notices=notices)
    assert result.action == "skipped"
    assert "pull-requests: write" in (result.reason or "")
    assert notices.count("comment-refused") == 1
    assert server.state.comments_on(REPO, 7) == []


def test_fork_pull_request_is_not_commented(server: GitHubServer) -> None:
    notices = Notices()
    result = post_comment("x", token="app-token", context=context_for(server, is_fork=True),
                          notices=notices)
    assert result.action == "skipped"
    assert "fork" in (result.reason or "")
    assert notices.count("comment-skipped") == 1
    assert server.state.requests == []


@pytest.mark.parametrize("event", ["push", "schedule", "workflow_dispatch"])
def test_non_pull_request_events_are_not_commented(server: GitHubServer, event: str) -> None:
    notices = Notices()
    result = post_comment("x", token="user-token",
                          context=context_for(server, event_name=event, number=None),
                          notices=notices)
    assert result.action == "skipped"
    assert event in (result.reason or "")
    assert [n.code for n in notices.items()] == ["comment-skipped"]
    assert server.state.requests == []


def test_oversized_body_is_guarded_before_sending(server: GitHubServer) -> None:
    notices = Notices()
    result = post_comment("x" * 70000, token="user-token", context=context_for(server),
                          notices=notices)
    assert result.action == "skipped"
    assert notices.count("comment-too-long") == 1
    assert server.state.writes() == []


def test_server_422_is_reported_as_a_refusal(server: GitHubServer) -> None:
    notices = Notices()
    # Bypass our own guard by making the server's limit stricter than GitHub's.
    from tests import github_server

    original = github_server.MAX_BODY
    github_server.MAX_BODY = 10
    try:
        result = post_comment("a body longer than ten", token="user-token",
                              context=context_for(server), notices=notices)
    finally:
        github_server.MAX_BODY = original
    assert result.action == "skipped"
    assert "422" in (result.reason or "")
    assert notices.count("comment-refused") == 1


def test_missing_token_is_a_warning(server: GitHubServer) -> None:
    notices = Notices()
    result = post_comment("x", token=None, context=context_for(server), notices=notices)
    assert result.action == "skipped"
    assert "github-token" in (result.reason or "")


def test_context_from_a_pull_request_event() -> None:
    environ = {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(EVENTS / "pull_request.json"),
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_API_URL": "https://ghe.example.com/api/v3/",
        "GITHUB_SERVER_URL": "https://ghe.example.com",
        "GITHUB_WORKFLOW": "CI", "GITHUB_JOB": "gate", "GITHUB_RUN_ID": "99",
        "GITHUB_ACTOR": "octocat", "GITHUB_SHA": "m" * 40,
    }
    ctx = pull_request_context(environ)
    payload = json.loads((EVENTS / "pull_request.json").read_text())
    assert ctx.number == payload["pull_request"]["number"]
    assert ctx.head_sha == payload["pull_request"]["head"]["sha"]  # not the merge commit
    assert ctx.base_sha == payload["pull_request"]["base"]["sha"]
    assert ctx.is_fork is False
    assert ctx.api_url == "https://ghe.example.com/api/v3"
    assert (ctx.workflow, ctx.job, ctx.run_id, ctx.actor) == ("CI", "gate", "99", "octocat")


def test_context_detects_forks() -> None:
    ctx = pull_request_context({"GITHUB_EVENT_NAME": "pull_request",
                                "GITHUB_EVENT_PATH": str(EVENTS / "pull_request_fork.json")})
    assert ctx.is_fork is True
    assert ctx.repository == "octo/app"  # from the payload when GITHUB_REPOSITORY is absent


def test_a_pull_request_within_a_repository_that_is_a_fork_is_not_from_a_fork(
    tmp_path: Path
) -> None:
    # head.repo.fork says the repository is a fork of another; the PR is from itself
    payload = json.loads((EVENTS / "pull_request.json").read_text())
    for side in ("head", "base"):
        payload["pull_request"][side]["repo"]["fork"] = True
    (tmp_path / "event.json").write_text(json.dumps(payload))
    ctx = pull_request_context({"GITHUB_EVENT_NAME": "pull_request",
                                "GITHUB_EVENT_PATH": str(tmp_path / "event.json")})
    assert ctx.is_fork is False


def test_context_for_push_has_no_pull_request() -> None:
    ctx = pull_request_context({"GITHUB_EVENT_NAME": "push",
                                "GITHUB_EVENT_PATH": str(EVENTS / "push.json"),
                                "GITHUB_SHA": "c" * 40})
    assert (ctx.number, ctx.is_fork, ctx.head_sha) == (None, False, "c" * 40)
    assert ctx.api_url == "https://api.github.com"


def test_unreadable_event_payload_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "event.json"
    bad.write_text("{not json")
    with pytest.raises(UserError, match=str(bad)):
        pull_request_context({"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(bad)})


def test_file_links_point_at_the_head_commit(server: GitHubServer) -> None:
    ctx = context_for(server)
    assert file_link(ctx, "./infra/template yaml.yml", 12) == (
        f"https://github.local/{REPO}/blob/{'h' * 40}/infra/template%20yaml.yml#L12"
    )
    assert file_link(ctx, "policy.json", None).endswith("/policy.json")
    assert file_link(replace(ctx, repository=None), "a", 1) == ""


def test_token_comes_from_the_action_input_variable_first() -> None:
    from leastpriv_ci.github import token_from_environment

    assert token_from_environment({"LEASTPRIV_GITHUB_TOKEN": "a", "GITHUB_TOKEN": "b"}) == "a"
    assert token_from_environment({"GITHUB_TOKEN": "b"}) == "b"
    assert token_from_environment({"LEASTPRIV_GITHUB_TOKEN": ""}) is None


def test_a_primary_rate_limit_is_not_waited_out(server: GitHubServer,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from leastpriv_ci.github import MAX_RATE_LIMIT_WAIT
    from tests.github_server import Failure

    waits: list[float] = []  # what the retries would sleep, not slept: no timed test
    monkeypatch.setattr(time, "sleep", waits.append)

    reset = int(time.time()) + 3600  # GitHub resets the primary limit up to an hour later
    server.state.failures.append(Failure(
        "GET", r"/repos/octo/app/issues/7/comments", 403,
        message="API rate limit exceeded for installation ID 1.",
        headers={"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "0",
                 "X-RateLimit-Reset": str(reset)}))
    notices = Notices()
    result = post_comment("x", token="user-token", context=context_for(server),
                          notices=notices)
    assert all(wait <= MAX_RATE_LIMIT_WAIT for wait in waits)  # not the hour to the reset
    assert result.action == "skipped"
    assert (result.reason or "").startswith("GitHub rate limited the token until ")
    assert "API rate limit exceeded" in (result.reason or "")
    assert "cannot reach GitHub" not in (result.reason or "")
    assert notices.count("comment-refused") == 1
    assert server.state.writes() == []


def test_a_rate_limit_that_outlasts_the_retries_says_so(server: GitHubServer) -> None:
    import time

    from tests.github_server import Failure

    reset = int(time.time())  # resets now, but GitHub keeps refusing
    server.state.failures.append(Failure(
        "GET", r"/repos/octo/app/issues/7/comments", 403,
        message="API rate limit exceeded for installation ID 1.",
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}))
    result = post_comment("x", token="user-token", context=context_for(server),
                          notices=Notices())
    assert result.action == "skipped"
    assert "rate limited" in (result.reason or "")
    assert "cannot reach GitHub" not in (result.reason or "")


def test_a_5xx_after_github_created_the_comment_is_not_posted_again(
    server: GitHubServer,
) -> None:
    from tests.github_server import Failure

    # The gateway answers 502 after GitHub created the comment.
    server.state.failures.append(Failure(
        "POST", r"/repos/octo/app/issues/7/comments", 502, times=1, after_processing=True))
    notices = Notices()
    result = post_comment("x", token="user-token", context=context_for(server),
                          notices=notices)
    assert result.action == "skipped"
    assert "HTTP 502 to creating the comment" in (result.reason or "")
    assert [w.method for w in server.state.writes()] == ["POST"]  # not retried
    assert len(server.state.comments_on(REPO, 7)) == 1
    # The next run finds that comment and leaves it be: still one sticky comment.
    again = post_comment("x", token="user-token", context=context_for(server),
                         notices=Notices())
    assert again.action == "unchanged"
    assert len(server.state.comments_on(REPO, 7)) == 1


def test_reads_and_edits_are_still_retried_on_5xx(server: GitHubServer) -> None:
    from tests.github_server import Failure

    post_comment("old", token="user-token", context=context_for(server), notices=Notices())
    server.state.failures += [
        Failure("GET", r"/repos/octo/app/issues/7/comments", 502, times=1),
        Failure("PATCH", r"/repos/octo/app/issues/comments/\d+", 503, times=1),
    ]
    result = post_comment("new", token="user-token", context=context_for(server),
                          notices=Notices())
    assert result.action == "updated"
    [comment] = server.state.comments_on(REPO, 7)
    assert comment["body"].endswith("\nnew")


def test_a_rate_limit_reset_past_any_date_is_left_out_of_the_warning() -> None:
    from types import SimpleNamespace

    from leastpriv_ci.github import _rate_limited

    refusal = SimpleNamespace(status=403, headers={"X-RateLimit-Reset": "9" * 30},
                              data={"message": "API rate limit exceeded"})
    assert _rate_limited(refusal).startswith("GitHub rate limited the token (HTTP 403")
