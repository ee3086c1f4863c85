"""A local GitHub REST server (the few endpoints the action uses) for PyGithub to talk to.

It listens on 127.0.0.1, serves under ``/api/v3`` like GitHub Enterprise Server (so
the tests also prove ``GITHUB_API_URL`` is honoured), records every request, and answers
with payloads shaped like GitHub's: repositories, pull requests, issue comments with
``Link`` pagination, ``GET /user`` (403 for installation tokens, as GitHub does), 403 for
read-only tokens and 422 for comment bodies over 65,536 characters.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

PREFIX = "/api/v3"
MAX_BODY = 65536


@dataclass(frozen=True)
class Identity:
    """Who a token is: a user (``GET /user`` works) or an app installation (403)."""

    login: str
    type: str = "User"
    can_write: bool = True
    installation: bool = False


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None
    body: Any


@dataclass
class Failure:
    """An answer GitHub gives instead of the route's: ``times`` requests of ``method`` to a
    path matching ``path`` (a regular expression, without ``/api/v3``) get ``status``.

    ``after_processing``: the route runs first and only its answer is replaced, as when a
    gateway times out after GitHub did the work.
    """

    method: str
    path: str
    status: int
    message: str = "Server Error"
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1_000_000
    after_processing: bool = False


@dataclass
class GitHubState:
    """What the fake GitHub holds; tests arrange it and read it back."""

    tokens: dict[str, Identity] = field(default_factory=dict)
    repos: set[str] = field(default_factory=set)
    pulls: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    next_id: int = 1000
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_pull(self, repo: str, number: int, *, head_repo: str | None = None) -> None:
        self.repos.add(repo)
        self.pulls[(repo, number)] = {
            "number": number,
            "head_repo": head_repo or repo,
        }

    def add_comment(self, repo: str, number: int, body: str, author: Identity) -> int:
        with self.lock:
            self.next_id += 1
            comment_id = self.next_id
        self.comments[comment_id] = {
            "id": comment_id,
            "repo": repo,
            "number": number,
            "body": body,
            "user": author,
        }
        return comment_id

    def comments_on(self, repo: str, number: int) -> list[dict[str, Any]]:
        return [
            c for _, c in sorted(self.comments.items())
            if c["repo"] == repo and c["number"] == number
        ]

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method in ("POST", "PATCH", "DELETE")]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- plumbing

    def _send(
        self, status: int, payload: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"message": message, "documentation_url": "https://docs.github.com"})

    def _dispatch(self, method: str) -> None:
        state = self.server.state
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        auth = self.headers.get("Authorization")
        state.requests.append(Recorded(method, split.path, parse_qs(split.query), auth, body))
        if not split.path.startswith(PREFIX):
            self._error(404, "Not Found")
            return
        path = split.path[len(PREFIX):]
        identity = state.tokens.get((auth or "").removeprefix("token ").removeprefix("Bearer "))
        if identity is None:
            self._error(401, "Bad credentials")
            return
        failure = next((f for f in state.failures if f.times > 0 and f.method == method
                        and re.fullmatch(f.path, path)), None)
        if failure is not None:
            failure.times -= 1
            if failure.after_processing:
                self._route(method, path, identity, body, split.query, answer=False)
            self._send(failure.status, {"message": failure.message,
                                        "documentation_url": "https://docs.github.com"},
                       failure.headers)
            return
        self._route(method, path, identity, body, split.query)

    def _route(self, method: str, path: str, identity: Identity, body: Any, query: str,
               *, answer: bool = True) -> None:
        if not answer:  # do the work, then drop the answer
            self._send = lambda *args, **kwargs: None  # type: ignore[method-assign]
            self.send_response = lambda *args, **kwargs: None  # type: ignore[method-assign]
            self.end_headers = lambda: None  # type: ignore[method-assign]
        try:
            for pattern, handler in _ROUTES:
                match = re.fullmatch(pattern, path)
                if match and handler.__name__.startswith(method.lower()):
                    handler(self, identity, body, parse_qs(query), *match.groups())
                    return
            self._error(404, "Not Found")
        finally:
            for name in ("_send", "send_response", "end_headers"):
                self.__dict__.pop(name, None)

    def _base(self) -> str:
        return self.server.base_url

    def _comment_json(self, comment: dict[str, Any]) -> dict[str, Any]:
        repo, cid = comment["repo"], comment["id"]
        user: Identity = comment["user"]
        return {
            "id": cid,
            "node_id": f"IC_{cid}",
            "url": f"{self._base()}/repos/{repo}/issues/comments/{cid}",
            "html_url": f"http://github.local/{repo}/pull/{comment['number']}#issuecomment-{cid}",
            "issue_url": f"{self._base()}/repos/{repo}/issues/{comment['number']}",
            "body": comment["body"],
            "user": {"login": user.login, "id": abs(hash(user.login)) % 10**6, "type": user.type},
            "created_at": "2026-11-23T00:00:00Z",
            "updated_at": "2026-11-23T00:00:00Z",
            "author_association": "NONE",
        }

    # -- routes (handler names start with the HTTP method)

    def get_user(self, identity: Identity, body: Any, query: Any) -> None:
        if identity.installation:
            self._error(403, "Resource not accessible by integration")
            return
        self._send(200, {"login": identity.login, "id": 1, "type": identity.type})

    def get_repo(self, identity: Identity, body: Any, query: Any, repo: str) -> None:
        if repo not in self.server.state.repos:
            self._error(404, "Not Found")
            return
        owner, name = repo.split("/")
        self._send(200, {"id": 1, "name": name, "full_name": repo, "owner": {"login": owner},
                         "url": f"{self._base()}/repos/{repo}"})

    def get_pull(self, identity: Identity, body: Any, query: Any, repo: str, number: str) -> None:
        pull = self.server.state.pulls.get((repo, int(number)))
        if pull is None:
            self._error(404, "Not Found")
            return
        base = self._base()
        self._send(200, {
            "id": int(number), "number": int(number), "state": "open",
            "url": f"{base}/repos/{repo}/pulls/{number}",
            "issue_url": f"{base}/repos/{repo}/issues/{number}",
            "comments_url": f"{base}/repos/{repo}/issues/{number}/comments",
            "html_url": f"http://github.local/{repo}/pull/{number}",
            "head": {"sha": "h" * 40, "repo": {"full_name": pull["head_repo"]}},
            "base": {"sha": "b" * 40, "repo": {"full_name": repo}},
        })

    def get_comments(
        self, identity: Identity, body: Any, query: dict[str, list[str]], repo: str, number: str
    ) -> None:
        state = self.server.state
        if (repo, int(number)) not in state.pulls:
            self._error(404, "Not Found")
            return
        per_page = int(query.get("per_page", ["30"])[0])
        page = int(query.get("page", ["1"])[0])
        everything = state.comments_on(repo, int(number))
        chunk = everything[(page - 1) * per_page: page * per_page]
        headers = {}
        if page * per_page < len(everything):
            url = f"{self._base()}/repos/{repo}/issues/{number}/comments"
            headers["Link"] = f'<{url}?per_page={per_page}&page={page + 1}>; rel="next"'
        self._send(200, [self._comment_json(c) for c in chunk], headers)

    def post_comments(
        self, identity: Identity, body: Any, query: Any, repo: str, number: str
    ) -> None:
        state = self.server.state
        if (repo, int(number)) not in state.pulls:
            self._error(404, "Not Found")
            return
        if not self._writable(identity, repo, int(number)) or not self._valid_body(body):
            return
        cid = state.add_comment(repo, int(number), body["body"], identity)
        self._send(201, self._comment_json(state.comments[cid]))

    def patch_comment(self, identity: Identity, body: Any, query: Any, repo: str, cid: str) -> None:
        comment = self.server.state.comments.get(int(cid))
        if comment is None or comment["repo"] != repo:
            self._error(404, "Not Found")
            return
        if not self._writable(identity, repo, comment["number"], comment):
            return
        if not self._valid_body(body):
            return
        comment["body"] = body["body"]
        self._send(200, self._comment_json(comment))

    def delete_comment(
        self, identity: Identity, body: Any, query: Any, repo: str, cid: str
    ) -> None:
        comment = self.server.state.comments.get(int(cid))
        if comment is None or comment["repo"] != repo:
            self._error(404, "Not Found")
            return
        if not self._writable(identity, repo, comment["number"], comment):
            return
        del self.server.state.comments[int(cid)]
        self.send_response(204)
        self.end_headers()

    def _writable(
        self, identity: Identity, repo: str, number: int, comment: dict[str, Any] | None = None
    ) -> bool:
        pull = self.server.state.pulls[(repo, number)]
        fork = pull["head_repo"] != repo
        if not identity.can_write or (fork and identity.installation):
            self._error(403, "Resource not accessible by integration")
            return False
        if comment is not None and comment["user"].login != identity.login:
            self._error(403, "Must have admin rights to Repository.")
            return False
        return True

    def _valid_body(self, body: Any) -> bool:
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str):
            self._error(422, "Invalid request.")
            return False
        if len(text) > MAX_BODY:
            self._send(422, {
                "message": "Validation Failed",
                "errors": [{"resource": "IssueComment", "code": "unprocessable",
                            "field": "data", "message": "Body is too long (maximum is 65536 "
                            "characters)"}],
            })
            return False
        return True


_REPO = r"/repos/([\w.-]+/[\w.-]+)"
_ROUTES: list[tuple[str, Any]] = [
    (r"/user", _Handler.get_user),
    (_REPO, _Handler.get_repo),
    (_REPO + r"/pulls/(\d+)", _Handler.get_pull),
    (_REPO + r"/issues/(\d+)/comments", _Handler.get_comments),
    (_REPO + r"/issues/(\d+)/comments", _Handler.post_comments),
    (_REPO + r"/issues/comments/(\d+)", _Handler.patch_comment),
    (_REPO + r"/issues/comments/(\d+)", _Handler.delete_comment),
]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: GitHubState
    base_url: str


@dataclass(frozen=True)
class GitHubServer:
    """A running fake: its API base URL (as ``GITHUB_API_URL``) and its state."""

    api_url: str
    state: GitHubState


@contextmanager
def running_github(state: GitHubState | None = None) -> Iterator[GitHubServer]:
    """Serve ``state`` on a free 127.0.0.1 port until the block ends."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = state or GitHubState()
    host, port = server.server_address[:2]
    server.base_url = f"http://{host}:{port}{PREFIX}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield GitHubServer(api_url=server.base_url, state=server.state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def github() -> Iterator[GitHubServer]:
    """A fresh local GitHub REST server per test (see :func:`running_github`)."""
    with running_github() as server:
        yield server
