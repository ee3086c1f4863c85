"""GitHub OIDC → STS credentials, against a local token endpoint and moto's STS."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from leastpriv_ci.credentials import (
    CredentialSettings,
    NoOidcToken,
    aws_session,
    expected_subject,
    session_name_for,
)
from leastpriv_ci.emulator import Emulator
from leastpriv_ci.errors import ServiceError, UserError

ROLE = "arn:aws:iam::123456789012:role/leastpriv-gate"
EVENTS = Path(__file__).parent / "data" / "action" / "events"


def fake_jwt(sub: str = "repo:octo/app:pull_request") -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    claims = {"iss": "https://token.actions.githubusercontent.com", "sub": sub,
              "aud": "sts.amazonaws.com", "exp": 4102444800, "iat": 1700000000}
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


@dataclass
class Stub:
    """A recording HTTP endpoint answering from a queue of (status, content type, body)."""

    replies: list[tuple[int, str, bytes]]
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


class _StubHandler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self) -> None:
        stub: Stub = self.server.stub
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        split = urlsplit(self.path)
        stub.requests.append({"method": self.command, "path": split.path,
                              "query": parse_qs(split.query), "headers": dict(self.headers),
                              "body": parse_qs(body)})
        status, ctype, data = stub.replies.pop(0) if len(stub.replies) > 1 else stub.replies[0]
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = _reply
    do_POST = _reply


@pytest.fixture
def stub_server() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(replies: list[tuple[int, str, bytes]], path: str = "/") -> Stub:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _StubHandler)
        stub = Stub(replies)
        server.stub = server_stub = stub  # type: ignore[attr-defined]
        host, port = server.server_address[:2]
        server_stub.url = f"http://{host}:{port}{path}"
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()
        servers.append(server)
        return stub

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def token_reply(token: str) -> tuple[int, str, bytes]:
    return 200, "application/json", json.dumps({"count": 1, "value": token}).encode()


def runner_env(token_url: str, **extra: str) -> dict[str, str]:
    env = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": token_url,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runner-bearer-secret",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(EVENTS / "pull_request.json"),
    }
    env.update(extra)
    return env


def settings_for(aws: Emulator, **changes: Any) -> CredentialSettings:
    values: dict[str, Any] = {"role_to_assume": ROLE, "region": aws.region,
                              "endpoint_url": aws.endpoint_url}
    values.update(changes)
    return CredentialSettings(**values)


def test_oidc_token_is_exchanged_for_masked_role_credentials(
    aws: Emulator, stub_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    jwt = fake_jwt()
    oidc = stub_server([token_reply(jwt)], "/token?api-version=2.0")
    logged: list[str] = []
    session = aws_session(settings_for(aws, audience="custom-aud"), runner_env(oidc.url),
                          log=logged.append)

    [request] = oidc.requests
    assert request["query"] == {"api-version": ["2.0"], "audience": ["custom-aud"]}
    assert request["headers"]["Authorization"] == "bearer runner-bearer-secret"

    credentials = session.get_credentials().get_frozen_credentials()
    assert credentials.access_key != "testing"  # not the ambient dummy keys
    assert credentials.token
    identity = session.client("sts", endpoint_url=aws.endpoint_url).get_caller_identity()
    assert identity["Arn"].endswith(":assumed-role/leastpriv-gate/leastpriv-ci-4242")

    out = capsys.readouterr().out.splitlines()
    for secret in ("runner-bearer-secret", jwt, credentials.access_key,
                   credentials.secret_key, credentials.token):
        assert f"::add-mask::{secret}" in out
    printed = "\n".join(logged) + capsys.readouterr().err
    for secret in (jwt, credentials.secret_key, credentials.token, "runner-bearer-secret"):
        assert secret not in printed
    assert logged[0] == f"Assumed {ROLE} as session leastpriv-ci-4242"


def test_token_request_retries_server_errors(aws: Emulator, stub_server: Any) -> None:
    oidc = stub_server([(503, "text/plain", b"busy"), token_reply(fake_jwt())], "/t?x=1")
    aws_session(settings_for(aws), runner_env(oidc.url), log=lambda _: None)
    assert len(oidc.requests) == 2


def test_token_refusal_is_not_retried(aws: Emulator, stub_server: Any) -> None:
    oidc = stub_server([(403, "application/json", b'{"message":"forbidden"}')], "/t?x=1")
    with pytest.raises(ServiceError, match="id-token: write"):
        aws_session(settings_for(aws), runner_env(oidc.url), log=lambda _: None)
    assert len(oidc.requests) == 1


def test_token_reply_without_value_is_a_service_error(aws: Emulator, stub_server: Any) -> None:
    oidc = stub_server([(200, "application/json", b'{"count": 0}')], "/t?x=1")
    with pytest.raises(ServiceError, match="without a token"):
        aws_session(settings_for(aws), runner_env(oidc.url), log=lambda _: None)


def test_missing_token_variables_ask_for_id_token_permission(aws: Emulator) -> None:
    env = runner_env("")
    del env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]
    with pytest.raises(NoOidcToken, match="permissions: id-token: write") as caught:
        aws_session(settings_for(aws), env, log=lambda _: None)
    assert caught.value.untrusted_pr is False
    assert caught.value.exit_code == 2


def test_fork_pull_requests_get_a_degradable_error(aws: Emulator) -> None:
    env = {"GITHUB_EVENT_NAME": "pull_request",
           "GITHUB_EVENT_PATH": str(EVENTS / "pull_request_fork.json")}
    with pytest.raises(NoOidcToken, match="forks and Dependabot") as caught:
        aws_session(settings_for(aws), env, log=lambda _: None)
    assert caught.value.untrusted_pr is True


def test_pull_request_target_from_a_fork_without_a_token_lacks_the_permission(
    aws: Emulator
) -> None:
    # It runs in the base repository, which gets a token when the workflow asks for one:
    # no token means `id-token: write` is missing, not a fork's limit to skip past
    env = {"GITHUB_EVENT_NAME": "pull_request_target",
           "GITHUB_EVENT_PATH": str(EVENTS / "pull_request_fork.json")}
    with pytest.raises(NoOidcToken, match="permissions: id-token: write") as caught:
        aws_session(settings_for(aws), env, log=lambda _: None)
    assert caught.value.untrusted_pr is False and caught.value.exit_code == 2


def test_session_names_keep_to_the_ascii_sts_accepts() -> None:
    from leastpriv_ci.credentials import session_name_for

    assert session_name_for("déploiement-ü", {}) == "d-ploiement--"
    assert session_name_for("名前", {}) == "--"


def test_dependabot_gets_a_degradable_error(aws: Emulator) -> None:
    env = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_ACTOR": "dependabot[bot]",
           "GITHUB_EVENT_PATH": str(EVENTS / "pull_request.json")}
    with pytest.raises(NoOidcToken) as caught:
        aws_session(settings_for(aws), env, log=lambda _: None)
    assert caught.value.untrusted_pr is True


STS_ERROR = """<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>
<RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>"""


def sts_error(status: int, code: str, message: str) -> tuple[int, str, bytes]:
    return status, "text/xml", STS_ERROR.format(code=code, message=message).encode()


DENIED = sts_error(403, "AccessDenied",
                   "Not authorized to perform sts:AssumeRoleWithWebIdentity")


def test_access_denied_explains_the_trust_policy_and_is_not_retried(
    aws: Emulator, stub_server: Any
) -> None:
    oidc = stub_server([token_reply(fake_jwt())], "/t?x=1")
    sts = stub_server([DENIED])
    with pytest.raises(ServiceError) as caught:
        aws_session(settings_for(aws, endpoint_url=sts.url.rstrip("/")), runner_env(oidc.url),
                    log=lambda _: None)
    message = str(caught.value)
    assert "repo:octo/app:pull_request" in message
    assert "token.actions.githubusercontent.com:aud" in message and "sts.amazonaws.com" in message
    assert caught.value.exit_code == 3
    assert len(sts.requests) == 1
    assert sts.requests[0]["body"]["Action"] == ["AssumeRoleWithWebIdentity"]
    assert sts.requests[0]["body"]["RoleSessionName"] == ["leastpriv-ci-4242"]
    assert "Authorization" not in sts.requests[0]["headers"]  # the token is the credential


def test_throttling_is_retried(aws: Emulator, stub_server: Any) -> None:
    oidc = stub_server([token_reply(fake_jwt())], "/t?x=1")
    sts = stub_server([sts_error(400, "Throttling", "Rate exceeded"), DENIED])
    with pytest.raises(ServiceError, match="trust policy"):
        aws_session(settings_for(aws, endpoint_url=sts.url.rstrip("/")), runner_env(oidc.url),
                    log=lambda _: None)
    assert len(sts.requests) == 2


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        ("InvalidIdentityToken",
         "No OpenIDConnect provider found in your account for "
         "https://token.actions.githubusercontent.com", "create an IAM OIDC identity provider"),
        ("InvalidIdentityToken", "Incorrect token audience", "client IDs"),
    ],
)
def test_oidc_provider_problems_are_explained(
    aws: Emulator, stub_server: Any, code: str, message: str, expected: str
) -> None:
    oidc = stub_server([token_reply(fake_jwt())], "/t?x=1")
    sts = stub_server([sts_error(400, code, message)])
    with pytest.raises(ServiceError, match=expected):
        aws_session(settings_for(aws, endpoint_url=sts.url.rstrip("/")), runner_env(oidc.url),
                    log=lambda _: None)


def test_account_outside_allowed_ids_is_refused(aws: Emulator, stub_server: Any) -> None:
    oidc = stub_server([token_reply(fake_jwt())], "/t?x=1")
    with pytest.raises(UserError, match="allowed-account-ids"):
        aws_session(settings_for(aws, allowed_account_ids=("111111111111",)),
                    runner_env(oidc.url), log=lambda _: None)


def test_allowed_account_passes(aws: Emulator, stub_server: Any) -> None:
    oidc = stub_server([token_reply(fake_jwt())], "/t?x=1")
    logged: list[str] = []
    aws_session(settings_for(aws, allowed_account_ids=(aws.account,)), runner_env(oidc.url),
                log=logged.append)
    assert logged[-1].startswith(f"AWS identity: arn:aws:sts::{aws.account}:assumed-role/")


def test_ambient_credentials_from_an_earlier_step(aws: Emulator) -> None:
    env = {"AWS_ACCESS_KEY_ID": "AKIAEARLIERSTEP", "AWS_SECRET_ACCESS_KEY": "s3cr3t",
           "AWS_SESSION_TOKEN": "tok", "AWS_REGION": "eu-west-1"}
    session = aws_session(CredentialSettings(role_to_assume=None, region=None), env,
                          log=lambda _: None)
    frozen = session.get_credentials().get_frozen_credentials()
    assert (frozen.access_key, frozen.token, session.region_name) == (
        "AKIAEARLIERSTEP", "tok", "eu-west-1")


def test_ambient_chain_is_checked_against_allowed_accounts(aws: Emulator) -> None:
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    settings = CredentialSettings(role_to_assume=None, region=aws.region,
                                  allowed_account_ids=("999999999999",),
                                  endpoint_url=aws.endpoint_url)
    with pytest.raises(UserError, match="123456789012"):
        aws_session(settings, env, log=lambda _: None)


@pytest.mark.usefixtures("no_aws_credentials")
def test_no_credentials_at_all_is_a_user_error() -> None:
    with pytest.raises(UserError, match="role-to-assume"):
        aws_session(CredentialSettings(role_to_assume=None, region="us-east-1"), {},
                    log=lambda _: None)


@pytest.mark.usefixtures("no_aws_credentials")
def test_no_credentials_on_the_command_line_says_how_to_scan_offline() -> None:
    with pytest.raises(UserError) as raised:
        aws_session(CredentialSettings(role_to_assume=None, region="us-east-1", action=False),
                    {}, log=lambda _: None)
    message = str(raised.value)
    assert "--traces FILE and --compare declared" in message and "AWS_PROFILE" in message
    assert "input" not in message and "OIDC" not in message


@pytest.mark.parametrize("accounts", [("12345",), ("123456789012", "acct-1"),
                                      ("1", "2")])
def test_an_allowed_account_id_not_of_12_digits_is_refused_before_any_call(
        accounts: tuple[str, ...]) -> None:
    settings = CredentialSettings(role_to_assume=None, region="us-east-1",
                                  allowed_account_ids=accounts,
                                  endpoint_url="http://127.0.0.1:9")  # never reached
    with pytest.raises(UserError, match=r"(is not a|are not) 12-digit AWS account ID") as raised:
        aws_session(settings, {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"},
                    log=lambda _: None)
    assert raised.value.where == "input allowed-account-ids"
    assert accounts[-1] in str(raised.value) and "123456789012'" not in str(raised.value)


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"role_to_assume": "leastpriv-gate", "action": False}, "--role-to-assume"),
        ({"duration_seconds": 60, "action": False}, "--role-duration-seconds"),
        ({"region": None, "action": False}, "--region"),
        ({"role_to_assume": "leastpriv-gate"}, "input role-to-assume"),
        ({"duration_seconds": 60}, "input role-duration-seconds"),
        ({"region": None}, "input aws-region"),
    ],
)
def test_bad_inputs_name_the_input(aws: Emulator, changes: dict[str, Any], where: str,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(UserError, match=where):
        aws_session(settings_for(aws, **changes), runner_env("http://127.0.0.1:9/t"),
                    log=lambda _: None)


def test_session_names_are_meaningful_and_valid() -> None:
    assert session_name_for(None, {"GITHUB_RUN_ID": "77"}) == "leastpriv-ci-77"
    assert session_name_for(None, {}) == "leastpriv-ci"
    assert session_name_for("my gate/run#1", {}) == "my-gate-run-1"
    assert len(session_name_for("x" * 100, {})) == 64


def test_expected_subject_per_event() -> None:
    assert expected_subject({"GITHUB_REPOSITORY": "o/r", "GITHUB_EVENT_NAME": "pull_request"}) \
        == "repo:o/r:pull_request"
    assert expected_subject({"GITHUB_REPOSITORY": "o/r", "GITHUB_EVENT_NAME": "push",
                             "GITHUB_REF": "refs/heads/main"}) == "repo:o/r:ref:refs/heads/main"


@pytest.mark.parametrize(("message", "where"), [
    ("1 validation error detected: Value 'x y' at 'roleSessionName' failed to satisfy "
     "constraint", "input role-session-name"),
    ("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
     "input role-duration-seconds"),
    ("Request ARN is invalid", "input role-to-assume"),
])
def test_sts_validation_errors_name_the_input_that_sets_the_value(
    aws: Emulator, stub_server: Any, message: str, where: str
) -> None:
    oidc = stub_server([token_reply(fake_jwt())], "/t?x=1")
    sts = stub_server([sts_error(400, "ValidationError", message)])
    with pytest.raises(UserError) as caught:
        aws_session(settings_for(aws, endpoint_url=sts.url.rstrip("/")), runner_env(oidc.url),
                    log=lambda _: None)
    assert caught.value.where == where and caught.value.exit_code == 2
