"""The pull request the gate runs for, and its one sticky comment (via PyGithub).

The context comes from the runner's environment and event payload. The comment is found
by a hidden marker naming (workflow, job, comment-key) *and* by its author being the
token's own identity, so matrix jobs do not overwrite each other and a look-alike comment
posted by somebody else is never touched. Anything GitHub refuses (forks, read-only
tokens, oversized bodies, non-PR events) becomes a warning: the other reports and the
gate do not depend on the comment.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from leastpriv_ci.errors import UserError
from leastpriv_ci.notices import Notices

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"
PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target")
MAX_COMMENT_CHARS = 65536
MAX_EVENT_BYTES = 25 * 1024 * 1024
COMMENT_MODES = ("update", "new", "recreate", "off")
MARKER_PREFIX = "<!-- leastpriv-ci:"
# The action passes its github-token input here, never on a command line.
TOKEN_VARIABLE = "LEASTPRIV_GITHUB_TOKEN"  # noqa: S105 - a variable name, not a secret
INSTALLATION_TOKEN_PREFIX = "ghs_"  # noqa: S105 - GitHub's prefix, not a secret
# PyGithub logs each 403 on this logger (INFO, to a stderr handler of its own).
RETRY_LOGGER = "github.GithubRetry"
# A rate limit is waited out only this long per retry (3 retries): GitHub's primary limit
# resets up to an hour later, and a gate must not sit idle for it over a comment.
MAX_RATE_LIMIT_WAIT = 5
# A matrix job's key, shown in its comment's title: longer ones end in a digest of the rest
MAX_MATRIX_KEY = 80


@dataclass(frozen=True)
class PullRequestContext:
    """Where the run comes from: repository, pull request, commits, workflow and job."""

    repository: str | None
    number: int | None
    head_sha: str | None
    base_sha: str | None
    event_name: str
    is_fork: bool
    actor: str | None
    api_url: str
    server_url: str
    workflow: str | None
    job: str | None
    run_id: str | None


@dataclass(frozen=True)
class CommentResult:
    """What happened to the comment: ``created``, ``updated``, ``unchanged`` or ``skipped``."""

    url: str | None
    action: str
    reason: str | None


def _load_event(path: str) -> dict[str, Any]:
    event_file = Path(path)
    try:
        if event_file.stat().st_size > MAX_EVENT_BYTES:
            raise UserError("the event payload is larger than 25 MiB", where=path)
        payload = json.loads(event_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read the event payload: {exc.strerror}", where=path) from None
    except ValueError as exc:
        raise UserError(f"the event payload is not JSON: {exc}", where=path) from None
    return payload if isinstance(payload, dict) else {}


def _get(payload: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(key)
    return payload


def pull_request_context(environ: Mapping[str, str]) -> PullRequestContext:
    """Read the run's context from ``GITHUB_*`` variables and the event payload.

    ``number`` is set only for pull-request events; ``head_sha`` falls back to
    ``GITHUB_SHA`` on other events. ``GITHUB_API_URL`` points at GitHub Enterprise
    Server when there is one.
    """
    event_name = environ.get("GITHUB_EVENT_NAME", "")
    event_path = environ.get("GITHUB_EVENT_PATH", "")
    payload = _load_event(event_path) if event_path else {}
    pull = _get(payload, "pull_request") if event_name in PULL_REQUEST_EVENTS else None
    number = _get(pull, "number")
    head_repo = _get(pull, "head", "repo", "full_name")
    base_repo = _get(pull, "base", "repo", "full_name")
    # From another repository (a deleted fork leaves head.repo null: still not the base).
    # Not head.repo.fork: that says the repository is a fork, even of a PR within it.
    is_fork = isinstance(pull, dict) and head_repo != base_repo
    repository = environ.get("GITHUB_REPOSITORY") or _get(payload, "repository", "full_name")
    return PullRequestContext(
        repository=repository if isinstance(repository, str) and repository else None,
        number=number if isinstance(number, int) and not isinstance(number, bool) else None,
        head_sha=_str(_get(pull, "head", "sha")) or environ.get("GITHUB_SHA") or None,
        base_sha=_str(_get(pull, "base", "sha")),
        event_name=event_name,
        is_fork=is_fork,
        actor=environ.get("GITHUB_ACTOR") or None,
        api_url=(environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
        server_url=(environ.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL).rstrip("/"),
        workflow=environ.get("GITHUB_WORKFLOW") or None,
        job=environ.get("GITHUB_JOB") or None,
        run_id=environ.get("GITHUB_RUN_ID") or None,
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def token_from_environment(environ: Mapping[str, str]) -> str | None:
    """The token for the comment: the action's ``github-token`` input, else ``GITHUB_TOKEN``."""
    return environ.get(TOKEN_VARIABLE) or environ.get("GITHUB_TOKEN") or None


def file_link(context: PullRequestContext, path: str, line: int | None) -> str:
    """A link to ``path`` (and ``line``) at the head commit, or ``""`` without a repository."""
    if not context.repository or not context.head_sha:
        return ""
    clean = path.removeprefix("./").lstrip("/")
    url = f"{context.server_url}/{context.repository}/blob/{context.head_sha}/{quote(clean)}"
    return f"{url}#L{line}" if line and line > 0 else url


def comment_marker(context: PullRequestContext, key: str = "") -> str:
    """The hidden marker naming this (workflow, job, comment-key).

    Each part is percent-encoded, so no name can close the HTML comment early or make
    two different triples collide.
    """
    parts = (context.workflow or "", context.job or "", key)
    return f"{MARKER_PREFIX}{'/'.join(quote(part, safe='') for part in parts)} -->"


def matrix_key(matrix: str | None) -> str:
    """The comment key of a matrix job: its matrix values (``toJSON(matrix)``), in order.

    ``""`` outside a matrix (``null``). Matrix jobs share the workflow and job of the
    comment marker, so without a key of their own each would overwrite the others'
    comment. Values that are not text are shown as compact JSON; a key longer than
    :data:`MAX_MATRIX_KEY` characters is cut and ends in a digest of the whole matrix,
    so that two jobs never share one.
    """
    if matrix is None or not matrix.strip():
        return ""
    try:
        values = json.loads(matrix)
    except ValueError as exc:
        raise UserError(f"the matrix input is not JSON ({exc}); leave it at its default, "
                        "${{ toJSON(matrix) }}", where="matrix") from None
    if values is None or values == {}:
        return ""
    if not isinstance(values, dict):
        raise UserError("the matrix input is not a JSON object; leave it at its default, "
                        "${{ toJSON(matrix) }}", where="matrix")
    key = ", ".join(value if isinstance(value, str)
                    else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
                    for value in values.values())
    if len(key) <= MAX_MATRIX_KEY:
        return key
    whole = json.dumps(values, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(whole.encode()).hexdigest()[:8]  # json.dumps wrote ASCII
    return f"{key[:MAX_MATRIX_KEY - 10]}… {digest}"


def _normalise(body: str) -> str:
    return body.replace("\r\n", "\n").strip()


def post_comment(
    body: str,
    *,
    token: str | None,
    context: PullRequestContext,
    mode: str = "update",
    key: str = "",
    notices: Notices,
) -> CommentResult:
    """Create, update or replace the sticky pull-request comment.

    ``mode``: ``update`` edits the previous comment in place (no edit when the body is
    unchanged), ``new`` adds another comment, ``recreate`` deletes the previous one and
    adds a new one at the bottom, ``off`` does nothing. Whatever prevents commenting is
    recorded in ``notices`` and returned as ``skipped``; it never raises for GitHub's
    refusals. A bad ``mode`` is a :class:`UserError`.
    """
    validate_comment_mode(mode)
    reason = _skip_reason(mode, token, context)
    if reason is not None:
        if mode != "off":
            notices.add("comment-skipped", f"no pull-request comment: {reason}")
        return CommentResult(url=None, action="skipped", reason=reason)
    marker = comment_marker(context, key)
    full_body = f"{marker}\n{body}"
    if len(full_body) > MAX_COMMENT_CHARS:
        reason = (
            f"the comment is {len(full_body)} characters, over GitHub's {MAX_COMMENT_CHARS}; "
            "see the job summary or report file"
        )
        notices.add("comment-too-long", f"no pull-request comment: {reason}")
        return CommentResult(url=None, action="skipped", reason=reason)
    if context.repository is None or context.number is None:  # pragma: no cover - checked above
        raise AssertionError("unreachable")
    try:
        return _sync_comment(
            full_body, marker, token or "", context, (context.repository, context.number), mode
        )
    except _Refused as refused:
        notices.add("comment-refused", f"no pull-request comment: {refused}")
        return CommentResult(url=None, action="skipped", reason=str(refused))


def _skip_reason(mode: str, token: str | None, context: PullRequestContext) -> str | None:
    if mode == "off":
        return "the comment input is off"
    if context.event_name not in PULL_REQUEST_EVENTS or context.number is None:
        return f"the {context.event_name or 'unknown'} event is not a pull request"
    if not context.repository:
        return "GITHUB_REPOSITORY is not set"
    if not token:
        return "no GitHub token (set the github-token input)"
    if context.is_fork and context.event_name == "pull_request":
        return (
            "pull requests from forks get a read-only GITHUB_TOKEN; the report is in the job "
            "summary"
        )
    return None


class _Refused(Exception):
    """GitHub said no (403/404/422) or could not be reached: a warning, not a failure."""


def _sync_comment(
    body: str,
    marker: str,
    token: str,
    context: PullRequestContext,
    pull_request: tuple[str, int],
    mode: str,
) -> CommentResult:
    from github import Auth, Github, GithubException, GithubRetry, RateLimitExceededException
    from requests.exceptions import RetryError

    client = Github(
        auth=Auth.Token(token),
        base_url=context.api_url,
        retry=GithubRetry(
            total=3, backoff_factor=1.0,
            # Not POST: GitHub may have created the comment before a 5xx or a dropped
            # answer, and a second POST would duplicate the sticky comment. Reads, edits
            # and deletes are idempotent and keep their retries.
            allowed_methods=frozenset({"GET", "HEAD", "PATCH", "DELETE"}),
            # Past these waits PyGithub raises RateLimitExceededExceedsMaxWait at once
            # (primary limit: until X-RateLimit-Reset; secondary: secondary_rate_wait),
            # and urllib3 caps a Retry-After header: worst case a few seconds per retry.
            max_rate_limit_wait=MAX_RATE_LIMIT_WAIT,
            secondary_rate_wait=MAX_RATE_LIMIT_WAIT,
            retry_after_max=MAX_RATE_LIMIT_WAIT,
        ),
        # A handful of calls per run: no need for the default 0.25 s pacing of reads;
        # writes keep PyGithub's 1 s spacing that GitHub's secondary limits ask for.
        seconds_between_requests=None,
        timeout=20,
        per_page=100,  # the most GitHub allows: fewer round trips on busy pull requests
        user_agent="leastpriv-ci",
    )
    try:
        pull = client.get_repo(pull_request[0]).get_pull(pull_request[1])
        own_login = None if is_installation_token(token) else _own_login(client)
        previous = [
            comment
            for comment in pull.get_issue_comments()
            if comment.body and comment.body.lstrip().startswith(marker)
            and _authored_by_us(comment.user, own_login)
        ]
        if mode == "update" and previous:
            latest = previous[-1]
            if _normalise(latest.body) == _normalise(body):
                return CommentResult(url=latest.html_url, action="unchanged", reason=None)
            for comment in reversed(previous):
                if _ours_to_change(comment.edit, body):
                    return CommentResult(url=comment.html_url, action="updated", reason=None)
        if mode == "recreate":
            for comment in previous:
                _ours_to_change(comment.delete)
        try:
            created = pull.create_issue_comment(body)
        except GithubException as exc:
            if isinstance(exc.status, int) and exc.status >= 500:
                raise _Refused(
                    f"GitHub answered HTTP {exc.status} to creating the comment, which is "
                    "not retried: GitHub may have created it anyway, and the next run "
                    "then updates it") from None
            raise
        return CommentResult(url=created.html_url, action="created", reason=None)
    except RateLimitExceededException as exc:
        raise _Refused(_rate_limited(exc)) from None
    except GithubException as exc:
        raise _Refused(_explain(exc)) from None
    except RetryError as exc:  # the retries ran out: GitHub answered, with errors
        raise _Refused(_retries_exhausted(exc)) from None
    except OSError as exc:  # requests' ConnectionError is an OSError
        raise _Refused(f"cannot reach GitHub at {context.api_url}: {exc}") from None
    finally:
        client.close()


def _ours_to_change(change: Any, *arguments: Any) -> bool:
    """Edit or delete a comment; ``False`` when GitHub refuses it as somebody else's.

    An installation token cannot tell its own bot from another app's (``GET /user`` is
    refused), so a bot's comment that starts with our marker may be another app's:
    GitHub answers 403 to changing it, and that comment is then left alone.
    """
    from github import GithubException

    try:
        with _quiet_refusal_of("PATCH|DELETE", r"/issues/comments/\d+"):
            change(*arguments)
    except GithubException as exc:
        if exc.status in (403, 404):
            return False
        raise
    return True


def is_installation_token(token: str) -> bool:
    """Whether ``token`` is an app installation token (``GITHUB_TOKEN`` among them).

    GitHub's installation tokens start ``ghs_``; they cannot read ``GET /user``.
    """
    return token.startswith(INSTALLATION_TOKEN_PREFIX)


def _own_login(client: Any) -> str | None:
    """The token's own login, or ``None`` for an app installation token.

    ``GET /user`` answers 403 for ``GITHUB_TOKEN`` and other installation tokens
    ("Resource not accessible by integration"); their comments are authored by a bot.
    That refusal is expected, so PyGithub's log line for it is dropped: a run must not
    print "failed with 403" when nothing failed.
    """
    from github import GithubException

    try:
        with _quiet_refusal_of("GET", "/user"):
            return str(client.get_user().login)
    except GithubException as exc:
        if exc.status in (401, 403, 404):
            return None
        raise


@contextmanager
def _quiet_refusal_of(methods: str, path: str) -> Iterator[None]:
    """Drop PyGithub's "Request METHOD …PATH failed with 403" log line while inside
    (``methods`` and ``path``: regular expressions).

    PyGithub logs every 403 at INFO to its own stderr handler before raising; other
    requests, and other failures, are logged as before.
    """
    logger = logging.getLogger(RETRY_LOGGER)
    expected = re.compile(rf"^Request (?:{methods}) \S*{path} failed with 403\b")

    def keep(record: logging.LogRecord) -> bool:
        return not expected.match(record.getMessage())

    logger.addFilter(keep)
    try:
        yield
    finally:
        logger.removeFilter(keep)


def _authored_by_us(user: Any, own_login: str | None) -> bool:
    if user is None:
        return False
    if own_login is not None:
        return bool(user.login == own_login)
    # Installation tokens post as "<app>[bot]" (github-actions[bot] for GITHUB_TOKEN);
    # a person cannot have that login, so a look-alike human comment is never matched.
    return bool(user.type == "Bot" or str(user.login).endswith("[bot]"))


def _rate_limited(exc: Any) -> str:
    """Why a rate-limited comment was given up, and when GitHub takes calls again."""
    headers = getattr(exc, "headers", None) or {}
    data = getattr(exc, "data", None)
    detail = data.get("message") if isinstance(data, dict) else None
    reset = next((value for name, value in headers.items()
                  if name.lower() == "x-ratelimit-reset"), None)
    when = ""
    if isinstance(reset, str) and reset.isdigit() and len(reset) <= 11:  # a time, or nothing
        from datetime import UTC, datetime

        when = (" until " + datetime.fromtimestamp(int(reset), UTC).strftime("%H:%M UTC"))
    return (f"GitHub rate limited the token{when} (HTTP {getattr(exc, 'status', None)}"
            f"{f': {detail}' if detail else ''}); the comment was not waited for. The report "
            "is in the job summary; re-run the job later for the comment")


def _retries_exhausted(exc: Exception) -> str:
    reason = str(exc)
    if "403" in reason or "429" in reason:
        return ("GitHub rate limited the token and kept refusing after 3 retries; the "
                "report is in the job summary; re-run the job later for the comment")
    return (f"GitHub kept answering with server errors after 3 retries ({reason}); the "
            "report is in the job summary")


def _explain(exc: Any) -> str:
    status = getattr(exc, "status", None)
    data = getattr(exc, "data", None)
    detail = data.get("message") if isinstance(data, dict) else None
    detail = f" ({detail})" if detail else ""
    if status == 403:
        return (
            f"GitHub refused the comment (HTTP 403{detail}): give the job "
            "`permissions: pull-requests: write`"
        )
    if status == 404:
        return f"GitHub did not find the pull request (HTTP 404{detail})"
    if status == 422:
        return f"GitHub rejected the comment (HTTP 422{detail}); see the job summary"
    if status == 429:
        return f"GitHub rate limited the token (HTTP 429{detail}); see the job summary"
    return f"GitHub answered HTTP {status}{detail}"


def validate_comment_mode(mode: str) -> str:
    """``mode`` if it is a comment mode, else a :class:`UserError` naming the input."""
    if mode not in COMMENT_MODES:
        raise UserError(
            f"must be one of {', '.join(COMMENT_MODES)}, not {mode!r}", where="input comment"
        )
    return mode
