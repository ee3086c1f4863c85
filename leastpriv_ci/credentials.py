"""AWS credentials for the gate: GitHub OIDC → ``sts:AssumeRoleWithWebIdentity``, or ambient.

With ``role-to-assume`` the runner's OIDC token is exchanged for role credentials, in
the vocabulary of ``aws-actions/configure-aws-credentials``. Without it the ordinary
boto3 chain applies, which includes credentials an earlier step exported. Every secret
is masked (``::add-mask::``) the moment it is in hand, and none is ever logged.

Retries: STS calls use botocore's ``standard`` retry mode (throttling, 5xx, network);
the token GET retries the same classes with urllib3's ``Retry``. ``AccessDenied`` and
other client errors are never retried: they will not fix themselves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import boto3
import urllib3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from leastpriv_ci.errors import ServiceError, UserError
from leastpriv_ci.github import pull_request_context
from leastpriv_ci.runner import mask

DEFAULT_AUDIENCE = "sts.amazonaws.com"
SESSION_NAME_PREFIX = "leastpriv-ci"
MIN_DURATION, MAX_DURATION = 900, 43200
# IAM and STS allow ASCII only in these names (``\w`` alone would take any letter)
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$", re.ASCII)
ACCOUNT_ID = re.compile(r"\d{12}", re.ASCII)
SESSION_NAME_INVALID = re.compile(r"[^\w+=,.@-]", re.ASCII)
STS_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10)
TOKEN_RETRY = urllib3.Retry(
    total=4,
    backoff_factor=0.5,
    status_forcelist=(429, 500, 502, 503, 504),
    allowed_methods=frozenset({"GET"}),
    raise_on_status=False,
    respect_retry_after_header=True,
)
TOKEN_TIMEOUT = urllib3.Timeout(connect=10, read=30)
PERMISSIONS_HINT = (
    "the workflow needs `permissions: id-token: write` (job or workflow level) so the "
    "runner can issue a GitHub OIDC token"
)


# The scan flag that sets each of the action's credential inputs
CLI_FLAGS = {
    "role-to-assume": "--role-to-assume",
    "aws-region": "--region",
    "role-duration-seconds": "--role-duration-seconds",
    "role-session-name": "--role-session-name",
    "allowed-account-ids": "--allowed-account-ids",
}


@dataclass(frozen=True)
class CredentialSettings:
    """The credential inputs, as ``configure-aws-credentials`` names them."""

    role_to_assume: str | None
    region: str | None
    audience: str = DEFAULT_AUDIENCE
    session_name: str | None = None
    duration_seconds: int = 3600
    allowed_account_ids: tuple[str, ...] = ()
    endpoint_url: str | None = None
    action: bool = True  # set by the action's inputs (False: the CLI's flags)

    def where(self, name: str) -> str:
        """How the user sets input ``name``: ``input NAME``, or its CLI flag."""
        return f"input {name}" if self.action else CLI_FLAGS[name]

    def setting(self, name: str) -> str:
        """Input ``name`` in a sentence: ``the NAME input``, or its CLI flag."""
        return f"the {name} input" if self.action else CLI_FLAGS[name]


class NoOidcToken(UserError):
    """``role-to-assume`` is set but the runner offers no OIDC token, or (in a fork's or
    Dependabot's pull request) no credentials are found at all.

    ``untrusted_pr`` is true for fork and Dependabot pull requests, which never get a
    token: callers may degrade (offline analysis, or a notice and no verdict) instead of
    failing the check.
    """

    def __init__(self, message: str, *, untrusted_pr: bool) -> None:
        self.untrusted_pr = untrusted_pr
        super().__init__(message, where="input role-to-assume")


def aws_session(
    settings: CredentialSettings,
    environ: Mapping[str, str],
    *,
    log: Callable[[str], None],
) -> boto3.session.Session:
    """A boto3 session for the gate's AWS reads.

    Raises :class:`UserError` for bad inputs or missing workflow permissions and
    :class:`ServiceError` when STS refuses or cannot be reached.
    """
    malformed = [a for a in settings.allowed_account_ids if not ACCOUNT_ID.fullmatch(a)]
    if malformed:
        what = ("is not a 12-digit AWS account ID" if len(malformed) == 1
                else "are not 12-digit AWS account IDs")
        raise UserError(f"{', '.join(map(repr, malformed))} {what}",
                        where=settings.where("allowed-account-ids"))
    region = settings.region or env_region(environ)
    if settings.role_to_assume:
        if not region:
            raise UserError(
                f"a region is needed to call AWS STS; set {settings.setting('aws-region')}",
                where=settings.where("aws-region"),
            )
        session = _assume_role(settings, region, environ, log)
    else:
        session = _ambient_session(settings, region, environ)
    if settings.allowed_account_ids or settings.role_to_assume:
        _check_account(session, settings, log)
    return session


def env_region(environ: Mapping[str, str]) -> str | None:
    """The region the environment names: ``AWS_REGION`` (what runners, the AWS CLI and
    the other SDKs read first), else ``AWS_DEFAULT_REGION``. botocore alone reads only
    the latter, and the profile."""
    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None


def default_session(environ: Mapping[str, str]) -> boto3.session.Session:
    """boto3's default chain, in the region the environment names (else the profile's)."""
    return boto3.session.Session(region_name=env_region(environ))


def _ambient_session(settings: CredentialSettings, region: str | None,
                     environ: Mapping[str, str]) -> boto3.session.Session:
    key, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        session = boto3.session.Session(
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=environ.get("AWS_SESSION_TOKEN") or None,
            region_name=region,
        )
    else:
        # Profiles, container/instance roles and web-identity files: boto3's own chain.
        session = boto3.session.Session(region_name=region)
    if session.get_credentials() is None:
        if settings.action and _untrusted_pull_request(environ):
            raise NoOidcToken(
                "pull requests from forks and Dependabot get no secrets and no OIDC token, "
                "so this run has no AWS credentials; use trace-files (offline) for such pull "
                "requests, or run the gate from a trusted workflow",
                untrusted_pr=True,
            )
        if settings.action:
            raise UserError(
                "no AWS credentials found: set the role-to-assume input (GitHub OIDC), or "
                "export credentials in an earlier step (e.g. "
                "aws-actions/configure-aws-credentials)",
                where="input role-to-assume",
            )
        raise UserError(
            "no AWS credentials found, and this scan reads from AWS (the X-Ray API without "
            "--traces, or --compare attached or both): configure credentials (AWS_PROFILE, "
            "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or scan exported traces "
            "offline with --traces FILE and --compare declared",
            where="AWS credentials",
        )
    if not session.region_name:
        raise UserError(
            f"no AWS region: set {settings.setting('aws-region')} or AWS_REGION",
            where=settings.where("aws-region"),
        )
    return session


def _assume_role(
    settings: CredentialSettings,
    region: str,
    environ: Mapping[str, str],
    log: Callable[[str], None],
) -> boto3.session.Session:
    role = (settings.role_to_assume or "").strip()
    if not ROLE_ARN.match(role):
        raise UserError(
            f"{role!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)",
            where=settings.where("role-to-assume"),
        )
    if not MIN_DURATION <= settings.duration_seconds <= MAX_DURATION:
        raise UserError(
            f"{settings.duration_seconds} is outside {MIN_DURATION}..{MAX_DURATION} seconds",
            where=settings.where("role-duration-seconds"),
        )
    token = _oidc_token(settings.audience, environ)
    session_name = session_name_for(settings.session_name, environ)
    sts = boto3.session.Session().client(
        "sts",
        region_name=region,
        endpoint_url=settings.endpoint_url,
        # The web-identity call is authenticated by the token alone; signing it would
        # pick up whatever unrelated credentials the environment happens to hold.
        config=STS_CONFIG.merge(Config(signature_version=UNSIGNED)),
    )
    try:
        response = sts.assume_role_with_web_identity(
            RoleArn=role,
            RoleSessionName=session_name,
            WebIdentityToken=token,
            DurationSeconds=settings.duration_seconds,
        )
    except ClientError as exc:
        raise _explain_assume_failure(exc, role, settings.audience, environ) from None
    except BotoCoreError as exc:
        raise ServiceError(f"cannot reach AWS STS: {exc}") from None
    credentials = response["Credentials"]
    for secret in ("AccessKeyId", "SecretAccessKey", "SessionToken"):
        mask(str(credentials[secret]))
    log(f"Assumed {role} as session {session_name}")
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def session_name_for(explicit: str | None, environ: Mapping[str, str]) -> str:
    """``role-session-name`` or ``leastpriv-ci-<run id>``, cleaned to STS's 2..64 characters.

    The fixed prefix lets an analysis exclude the gate's own API calls from CloudTrail.
    """
    run_id = environ.get("GITHUB_RUN_ID", "")
    name = explicit or (f"{SESSION_NAME_PREFIX}-{run_id}" if run_id else SESSION_NAME_PREFIX)
    name = SESSION_NAME_INVALID.sub("-", name)[:64]
    return name if len(name) >= 2 else SESSION_NAME_PREFIX


def _untrusted_pull_request(environ: Mapping[str, str]) -> bool:
    try:
        context = pull_request_context(environ)
    except UserError:
        return False
    # pull_request_target runs in the base repository, which gets a token when it asks
    forked = context.is_fork and context.event_name == "pull_request"
    return forked or (context.actor or "").lower() == "dependabot[bot]"


def _oidc_token(audience: str, environ: Mapping[str, str]) -> str:
    url = environ.get("ACTIONS_ID_TOKEN_REQUEST_URL", "")
    bearer = environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")
    if not url or not bearer:
        if _untrusted_pull_request(environ):
            raise NoOidcToken(
                "pull requests from forks and Dependabot get no OIDC token, so the role "
                "cannot be assumed; use trace-files (offline) for such pull requests, or run "
                "the gate from a trusted workflow",
                untrusted_pr=True,
            )
        raise NoOidcToken(
            f"role-to-assume is set but the runner offered no OIDC token: {PERMISSIONS_HINT}",
            untrusted_pr=False,
        )
    mask(bearer)
    if urlsplit(url).scheme not in ("https", "http"):
        raise UserError("ACTIONS_ID_TOKEN_REQUEST_URL is not an HTTP(S) URL")
    separator = "&" if "?" in url else "?"
    full = f"{url}{separator}{urlencode({'audience': audience})}"
    pool = urllib3.PoolManager(retries=TOKEN_RETRY, timeout=TOKEN_TIMEOUT)
    try:
        response = pool.request(
            "GET",
            full,
            headers={"Authorization": f"bearer {bearer}", "Accept": "application/json"},
        )
    except urllib3.exceptions.HTTPError as exc:
        raise ServiceError(f"cannot reach the GitHub OIDC token endpoint: {exc}") from None
    if response.status in (401, 403):
        raise ServiceError(
            f"the GitHub OIDC token endpoint refused the request (HTTP {response.status}): "
            f"{PERMISSIONS_HINT}"
        )
    if response.status != 200:
        raise ServiceError(f"the GitHub OIDC token endpoint answered HTTP {response.status}")
    token = _token_value(response.data)
    mask(token)
    return token


def _token_value(data: bytes) -> str:
    try:
        payload: Any = json.loads(data)
    except ValueError:
        payload = None
    value = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(value, str) or not value:
        raise ServiceError("the GitHub OIDC token endpoint answered without a token value")
    return value


def expected_subject(environ: Mapping[str, str]) -> str:
    """The ``sub`` claim GitHub puts in this job's token (default claim template)."""
    repository = environ.get("GITHUB_REPOSITORY") or "OWNER/REPO"
    event = environ.get("GITHUB_EVENT_NAME", "")
    if event == "pull_request":
        return f"repo:{repository}:pull_request"
    ref = environ.get("GITHUB_REF") or "refs/heads/BRANCH"
    return f"repo:{repository}:ref:{ref}"


def _explain_assume_failure(
    exc: ClientError, role: str, audience: str, environ: Mapping[str, str]
) -> UserError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", ""))
    if code == "AccessDenied" or "not authorized to perform" in message:
        subject = expected_subject(environ)
        return ServiceError(
            f"AWS refused sts:AssumeRoleWithWebIdentity for {role}: {message}. Check the "
            "role's trust policy: Principal.Federated must be the account's "
            "token.actions.githubusercontent.com OIDC provider, the condition on "
            f"`token.actions.githubusercontent.com:sub` must match `{subject}` (jobs with an "
            "`environment:` use `repo:OWNER/REPO:environment:NAME` instead), and "
            f"`token.actions.githubusercontent.com:aud` must be `{audience}`"
        )
    if code == "InvalidIdentityToken":
        lowered = message.lower()
        if "no openidconnect provider" in lowered:
            return ServiceError(
                f"{message}: create an IAM OIDC identity provider for "
                f"https://token.actions.githubusercontent.com with audience `{audience}` in the "
                "role's account"
            )
        if "audience" in lowered:
            return ServiceError(
                f"{message}: the audience input (`{audience}`) must be one of the OIDC "
                "provider's client IDs",
            )
        return ServiceError(f"AWS rejected the GitHub OIDC token: {message}")
    if code == "ValidationError":
        # STS names the parameter it refused: point at the input that sets it
        lowered = message.lower()
        where = ("input role-session-name" if "rolesessionname" in lowered
                 else "input role-duration-seconds" if "durationseconds" in lowered
                 or "maxsessionduration" in lowered else "input role-to-assume")
        return UserError(f"AWS STS rejected the request: {message}", where=where)
    return ServiceError(f"AWS STS AssumeRoleWithWebIdentity failed: {code}: {message}")


def _check_account(
    session: boto3.session.Session, settings: CredentialSettings, log: Callable[[str], None]
) -> None:
    sts = session.client("sts", endpoint_url=settings.endpoint_url, config=STS_CONFIG)
    try:
        identity = sts.get_caller_identity()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise ServiceError(
            f"AWS STS GetCallerIdentity failed: {error.get('Code')}: {error.get('Message')}"
        ) from None
    except BotoCoreError as exc:
        raise ServiceError(f"cannot reach AWS STS: {exc}") from None
    account = str(identity.get("Account", ""))
    if settings.allowed_account_ids and account not in settings.allowed_account_ids:
        raise UserError(
            f"the credentials belong to account {account}, which is not in "
            f"allowed-account-ids ({', '.join(settings.allowed_account_ids)})",
            where=settings.where("allowed-account-ids"),
        )
    log(f"AWS identity: {identity.get('Arn')}")
