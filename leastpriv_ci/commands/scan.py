"""``leastpriv-ci scan``: traces against declared/attached grants → findings → gate → reports.

The JSON report file is written before anything that can fail afterwards (SARIF, the
GitHub outputs, summary, annotations, comment), and the verdict's reasons are printed
last. With ``--traces`` and ``--compare declared`` no AWS session is ever created.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import leastpriv_ci.report.annotations as report_annotations
from leastpriv_ci.config import DEFAULT_CONFIG_FILE, FORMATS, Settings, load_config
from leastpriv_ci.errors import (
    EXIT_GATE_FAILED,
    EXIT_PASS,
    EXIT_SERVICE_ERROR,
    ServiceError,
    UserError,
)
from leastpriv_ci.gate import DEFAULT_FAIL_ON, DEFAULT_MIN_SEVERITY, decide
from leastpriv_ci.notices import Notices
from leastpriv_ci.records import FINDING_KINDS, Analysis, Observation, Report
from leastpriv_ci.report import json_report, markdown, sarif, summary, text
from leastpriv_ci.traces.options import add_trace_arguments, open_traces

if TYPE_CHECKING:
    from leastpriv_ci.analysis.platform import PlatformOptions
    from leastpriv_ci.gate_changes import GateReview
    from leastpriv_ci.grants.model import GrantSet
    from leastpriv_ci.policy.model import Role, Statement
    from leastpriv_ci.runner import Annotation

NAME = "scan"
GATES = True  # exits 1 when the gate fails
HELP = "compare what traced principals did with what their IAM roles allow, and gate on it"
DESCRIPTION = (
    "Read X-Ray traces (--traces files, else the X-Ray API), find each principal's role, "
    "compare its use with the role's policies declared in the repository (--compare "
    "declared), attached in the account (attached) or both, report excess and missing "
    "permissions with a least-privilege proposal, and fail past the configured thresholds."
)
DEFAULT_POLICY_FILE = "leastpriv-policy.json"
ARN_PARTS = 6


def configure(parser: argparse.ArgumentParser) -> None:
    """Add scan's options; every default is None so the config file can fill it."""
    add_trace_arguments(parser)
    aliases = parser.add_argument_group("action input spellings")
    aliases.add_argument("--trace-files", dest="traces", action="append", type=Path,
                         metavar="FILE", help="same as --traces")
    aliases.add_argument("--start-time", dest="start", metavar="TIME", help="same as --start")
    aliases.add_argument("--end-time", dest="end", metavar="TIME", help="same as --end")
    aliases.add_argument("--aws-region", dest="region", metavar="REGION",
                         help="same as --region")

    grants = parser.add_argument_group("grants")
    grants.add_argument("--policy-paths", action="append", metavar="PATH",
                        help="a file, directory or glob of infrastructure code / policy "
                        "files (repeatable; default: auto-detect the usual names)")
    grants.add_argument("--compare", metavar="declared|attached|both",
                        help="compare with the policies declared in the repository "
                        "(default), attached in the account, or both")
    grants.add_argument("--account", metavar="ID",
                        help="account ID for templates (default: from the traces' ARNs)")
    grants.add_argument("--principal-map", metavar="FILE",
                        help='JSON {"segment name or principal ARN": "role or principal ARN"}')
    grants.add_argument("--base-ref", metavar="REF",
                        help="git ref of the pull request's base: report the roles it changes")
    grants.add_argument("--stack-name", metavar="NAME",
                        help="CloudFormation stack whose resources name the functions' roles "
                        "(default: the config file's stack-name)")

    gate = parser.add_argument_group("gate")
    gate.add_argument("--config-file", metavar="FILE",
                      help=f"config file (default {DEFAULT_CONFIG_FILE} when present)")
    gate.add_argument("--fail-on", metavar="KINDS",
                      help="finding kinds that fail, separated by commas (or newlines): "
                      "missing, denied, "
                      "excess, platform, unobserved, or none (default "
                      f"{','.join(k for k in FINDING_KINDS if k in DEFAULT_FAIL_ON)}: excess "
                      "is reported, not gated)")
    gate.add_argument("--max-excess", metavar="N",
                      help="excess findings tolerated; setting it gates excess (default unset)")
    gate.add_argument("--min-severity", metavar="LEVEL",
                      help="findings below info|low|medium|high|critical never fail (default "
                      f"{DEFAULT_MIN_SEVERITY})")
    gate.add_argument("--baseline", metavar="FILE",
                      help="a previous JSON report: only new excess fails")

    output = parser.add_argument_group("output")
    output.add_argument("--format", choices=FORMATS, help="what to print (default text)")
    output.add_argument("--output", metavar="FILE", help="print to FILE instead of stdout")
    output.add_argument("--report-file", metavar="FILE", help="also write the JSON report here")
    output.add_argument("--sarif-file", metavar="FILE", help="also write SARIF 2.1.0 here")

    action = parser.add_argument_group("GitHub Actions (set by the action's entrypoint)")
    action.add_argument("--github-actions", action="store_true",
                        help="write outputs, job summary, annotations and the PR comment")
    action.add_argument("--comment", metavar="update|new|recreate|off")
    action.add_argument("--comment-key", metavar="KEY")
    action.add_argument("--matrix", metavar="JSON",
                        help="the job's toJSON(matrix): the comment key when --comment-key "
                        "is not given")
    action.add_argument("--role-to-assume", metavar="ARN")
    action.add_argument("--role-session-name", metavar="NAME")
    action.add_argument("--role-duration-seconds", metavar="SECONDS")
    action.add_argument("--audience", metavar="AUDIENCE")
    action.add_argument("--allowed-account-ids", metavar="IDS")


def _log(message: str) -> None:
    print(message, file=sys.stderr)


def is_offline(args: argparse.Namespace, settings: Settings) -> bool:
    """Trace files compared with declared policies: nothing reads from AWS."""
    return bool(args.traces) and settings.compare == "declared"


def unused_role_note(args: argparse.Namespace, settings: Settings) -> str | None:
    """Why ``role-to-assume`` is not used in offline mode, or ``None`` when it is not set.

    Not an input error: the inputs do not contradict each other (X-Ray window options
    with trace files do, and are errors); the credentials are just not needed, and a
    workflow often shares them between offline and AWS jobs.
    """
    if not (args.role_to_assume or "").strip() or not is_offline(args, settings):
        return None
    if not settings.github_actions:
        return ("--role-to-assume is not assumed: with --traces and --compare declared "
                "nothing reads from AWS (--role-duration-seconds, --role-session-name, "
                "--audience and --allowed-account-ids are unused too)")
    return ("role-to-assume is not assumed: with trace-files and compare: declared nothing "
            "reads from AWS (role-duration-seconds, role-session-name, audience and "
            "allowed-account-ids are unused too)")


def unused_endpoint_note(args: argparse.Namespace) -> str | None:
    """Why ``endpoint-url`` (X-Ray's) is not used with trace files, or ``None``."""
    if not (getattr(args, "endpoint_url", None) or "").strip() or not args.traces:
        return None
    if not getattr(args, "github_actions", False):
        return "--endpoint-url is not used: it is X-Ray's, and the traces come from --traces"
    return "endpoint-url is not used: it is X-Ray's, and the traces come from trace-files"


def _session(args: argparse.Namespace, settings: Settings) -> Any:
    """A boto3 session through the action's credential logic (OIDC, or ambient)."""
    from leastpriv_ci.credentials import DEFAULT_AUDIENCE, CredentialSettings, aws_session

    duration = args.role_duration_seconds
    try:
        seconds = int(duration) if duration else 3600
    except ValueError:
        raise UserError(f"{duration!r} is not a number of seconds",
                        where="input role-duration-seconds" if settings.github_actions
                        else "--role-duration-seconds") from None
    accounts = tuple(a.strip() for a in (args.allowed_account_ids or "").split(",") if a.strip())
    return aws_session(
        CredentialSettings(
            role_to_assume=args.role_to_assume,
            region=settings.region,
            audience=args.audience or DEFAULT_AUDIENCE,
            session_name=args.role_session_name,
            duration_seconds=seconds,
            allowed_account_ids=accounts,
            action=settings.github_actions,
            # --endpoint-url is the X-Ray endpoint (e.g. a VPC endpoint); STS and the other
            # services follow the SDK's own settings (AWS_ENDPOINT_URL[_<SERVICE>]).
        ),
        os.environ,
        log=_log,
    )


def infer_location(observation: Observation) -> tuple[str | None, str | None, str]:
    """(region, account, partition) named most often by the traced principals' ARNs."""
    regions: dict[str, int] = {}
    accounts: dict[str, int] = {}
    partition = "aws"
    for principal in observation.principals:
        parts = principal.split(":", 5)
        if len(parts) != ARN_PARTS or parts[0] != "arn":
            continue
        partition = parts[1] or partition
        if parts[3]:
            regions[parts[3]] = regions.get(parts[3], 0) + 1
        if parts[4]:
            accounts[parts[4]] = accounts.get(parts[4], 0) + 1
    region = max(sorted(regions), key=lambda r: regions[r]) if regions else None
    account = max(sorted(accounts), key=lambda a: accounts[a]) if accounts else None
    return region, account, partition


def _principal_mapping(settings: Settings) -> dict[str, str]:
    from leastpriv_ci.usage.principal_map import load_principal_map

    mapping = dict(settings.principals)
    if settings.principal_map:
        mapping.update(load_principal_map(Path(settings.principal_map)))  # the flag wins
    return mapping


def build_report(
    args: argparse.Namespace, settings: Settings, *, root: Path
) -> tuple[Report, dict[str, object]]:
    """Run the pipeline up to the gate; returns the report and extra JSON keys."""
    from leastpriv_ci.analysis import analyse
    from leastpriv_ci.analysis.context import traced_context
    from leastpriv_ci.deployed_stack import stack_resources
    from leastpriv_ci.grants.declared import StackReads, discover, load_declared, with_policies
    from leastpriv_ci.grants.deliveries import deliveries_by_role, delivery_accesses
    from leastpriv_ci.grants.model import GrantSet, ResolveContext
    from leastpriv_ci.grants.resource_policies import in_account
    from leastpriv_ci.policy.model import PARTIAL
    from leastpriv_ci.principals import resolve_roles, untraced
    from leastpriv_ci.usage import observe

    notices = Notices()
    session = None if is_offline(args, settings) else _session(args, settings)
    mapping = _principal_mapping(settings)
    args.region = settings.region
    observation = observe(open_traces(args, notices, session), principal_map=mapping,
                          notices=notices)
    region, account, partition = infer_location(observation)
    deployed = (stack_resources(session, settings.stack_name, notices)
                if session is not None and settings.stack_name else ())
    context = ResolveContext(
        region=settings.region or region or "us-east-1",
        account=settings.account or account or "123456789012",
        partition=partition,
        parameters=dict(settings.parameters),
        stage=settings.stage,
        stack_name=settings.stack_name,
        deployed={resource.logical_id: resource for resource in deployed},
    )
    if not (settings.account or account) and settings.compare != "attached":
        notices.add("account-unknown", "no account ID from --account, the config file or "
                    "the traces; templates resolve with a placeholder account")
    declared = GrantSet()
    stack_reads = StackReads()  # the head's and the base's readings: each stack read once
    if settings.compare in ("declared", "both"):
        paths = discover(root, list(settings.policy_paths) or None, notices=notices)
        _check_named_paths(root, settings.policy_paths, paths, notices)
        if not paths:
            notices.add("no-policy-files", "no infrastructure or policy files found; set "
                        "policy-paths", ", ".join(settings.policy_paths) or str(root))
        declared = load_declared(paths, context, notices, root=root, session=session,
                                 stack_reads=stack_reads)
    identities: dict[str, frozenset[str]] = {}
    principal_roles = resolve_roles(
        observation.principals, declared, mapping=mapping, session=session,
        stack_name=settings.stack_name, notices=notices, identities=identities,
        deployed=deployed)
    roles = dict(declared.roles)
    # Roles whose resources' policies in the account may explain a use: the roles read
    # from it, and with compare both the declared roles whose ARN is known
    account_roles: set[str] = set()
    if settings.compare in ("attached", "both"):
        from leastpriv_ci.grants.attached import load_attached

        wanted = [r for r in principal_roles.values() if r is not None and r.startswith("arn:")
                  and (r not in roles or roles[r].source == PARTIAL)]
        attached = load_attached(session, wanted, notices)
        account_roles = set(attached.roles) | ({
            key for key in declared.roles if in_account(key, context.account)
        } if settings.compare == "both" else set())
        # A declared role wins over its deployed self; a partly declared one is the
        # deployed role with the policies the files attach to it. The files' resource
        # policies naming a role read from the account grant it too.
        deployed_roles = {key: declared.granted_to(role) if in_account(key, context.account)
                          else role for key, role in attached.roles.items()}
        roles = {**deployed_roles, **{key: role for key, role in roles.items()
                                      if role.source != PARTIAL or key not in attached.roles}}
        for key, role in declared.roles.items():
            if role.source == PARTIAL and key in attached.roles:
                roles[key] = with_policies(attached.roles[key], role)

    def analysed(roles: Mapping[str, Role]) -> Analysis:
        return analyse(
            observation, roles, principal_roles,
            platform=_with_service_platforms(settings.platform, declared),
            declared_only_roles=[k for k in declared.roles if k not in declared.untraceable()]
            if settings.compare != "attached" else None,
            untraced=untraced(declared, mapping, principal_roles, identities),
            context=traced_context(),
            delivered={role: delivery_accesses(bindings)
                       for role, bindings in deliveries_by_role(declared.bindings).items()},
        )

    analysis = analysed(roles)
    public: dict[str, list[Statement]] = {}
    if account_roles:
        # What the roles of the account do not allow themselves, their resources' own
        # policies may: read those, and judge again when one names the role
        explained = _account_resource_grants(session, analysis, roles, account_roles,
                                             declared.policy_resources, notices, public)
        if explained:
            analysis = analysed(explained)
    _public_uses(analysis, public, declared.public_statements, notices)
    combined = Notices()
    combined.extend(notices)
    combined.extend(analysis.notices)
    analysis = replace(analysis, notices=combined)
    extra: dict[str, object] = {}
    if settings.base_ref:
        from leastpriv_ci.grants.changes import load_at_ref, role_changes

        base = load_at_ref(root, settings.base_ref, context, combined,
                           list(settings.policy_paths) or None, session=session,
                           stack_reads=stack_reads)
        extra["changes"] = role_changes(base, declared)
    today = datetime.now(UTC).date()
    verdict, gated = decide(analysis, settings.gate, today=today)
    if settings.base_ref:
        review = _review_gate(args, settings, root, analysis, today=today)
        if review is not None:
            extra["gate_changes"] = review.to_json()
            fails = not review.base_verdict.passed and verdict.passed
            combined.add("gate-changed", "this pull request changes the settings that gate "
                         "it" + ("; the base commit's settings fail this check" if fails
                                 else ""),
                         "; ".join(c.describe() for c in review.changes))
    return Report(analysis=gated, verdict=verdict), extra


def _account_resource_grants(session: Any, analysis: Analysis, roles: Mapping[str, Role],
                             attached: Collection[str], declared: Collection[str],
                             notices: Notices, public: dict[str, list[Statement]]
                             ) -> dict[str, Role] | None:
    """``roles`` with the account's resource-based policies naming them, for the roles
    of the account (``attached``) with missing findings, or denied ones their own
    policies allow; None when no such policy names one. The policies of resources the
    files' policies name (``declared``) are the files' alone: the pull request's version
    replaces the account's. ``public`` gets their statements for anyone, per role."""
    from leastpriv_ci.analysis.missing import by_resource_policy
    from leastpriv_ci.grants.account_policies import account_resource_grants

    used: dict[str, list[str]] = {}
    for finding in analysis.findings:
        # missing: a policy naming the role may grant it; denied although the role's
        # policies allow it: a Deny of the resource's policy may be what refused it
        if finding.role in attached and (
                (finding.kind == "missing" and not by_resource_policy(finding))
                or (finding.kind == "denied" and finding.detail.get("decision") == "allow")):
            used.setdefault(finding.role, []).append(finding.resource)
    granted = (account_resource_grants(session, used, notices, declared, public)
               if used else {})
    if not granted:
        return None
    return {key: replace(role, resource_grants=role.resource_grants + granted[key])
            if key in granted else role for key, role in roles.items()}


def _public_uses(analysis: Analysis, public: Mapping[str, list[Statement]],
                 declared: Sequence[Statement], notices: Notices) -> None:
    """Warn of the missing uses that a resource's policy allows anyone (a public
    statement grants no role: the use stays missing): the account's policies read for
    the role (``public``), or the files' (``declared``)."""
    from leastpriv_ci.analysis.missing import by_resource_policy
    from leastpriv_ci.grants.account_policies import public_uses

    unexplained = [f for f in analysis.findings if not by_resource_policy(f)]
    for where in public_uses(unexplained, public, declared) if public or declared else ():
        notices.add("resource-policy-public", "a use reported missing is allowed, or may be, "
                    "to anyone by its resource's policy: a statement for anyone names no "
                    "role, so the use stays missing; grant it in the role's policies, and "
                    "check that the resource is meant to be open", where)


def _review_gate(args: argparse.Namespace, settings: Settings, root: Path, analysis: Analysis,
                 *, today: date) -> GateReview | None:
    """The pull request's changes to its own gate, against the base commit's config file
    (a config file outside ``root`` has no base version to compare)."""
    from leastpriv_ci.gate_changes import base_config, review_gate

    name = args.config_file or DEFAULT_CONFIG_FILE
    path = Path(name) if Path(name).is_absolute() else root / name
    if not path.resolve().is_relative_to(root.resolve()):
        return None
    relative = path.resolve().relative_to(root.resolve()).as_posix()
    assert settings.base_ref is not None
    try:
        base = base_config(root, settings.base_ref, relative)
        return review_gate(analysis, vars(args), settings, base, today=today,
                           config_file=relative, at=(root, settings.base_ref))
    except UserError as exc:  # the base's own mistake must not stop the change that mends it
        analysis.notices.add("base-config-unreadable", "the config file at the base commit "
                             "cannot be read, so its gate is not compared", str(exc))
        return None


def _check_named_paths(root: Path, named: tuple[str, ...], found: list[Path],
                       notices: Notices) -> None:
    """Paths the user named must exist: a typo must not turn into a silent pass.

    A plain path that does not exist or names a file no source reads, or named globs
    that match nothing at all, is an input error. Auto-detection finding nothing, and one
    glob of several matching nothing, are warnings.
    """
    from leastpriv_ci.grants.checkout import checkout_root, inside
    from leastpriv_ci.grants.declared import glob_regex, source_for

    checkout = checkout_root(root)
    for pattern in named:
        if any(ch in pattern for ch in "*?["):
            continue
        path = root / pattern
        if not inside(path, checkout):
            raise UserError(f"{pattern!r} is outside the checkout {checkout}; name files of "
                            "the repository", where="policy-paths")
        if not path.exists():
            raise UserError(f"{pattern!r} does not exist under {root}; fix the path or "
                            "remove it", where="policy-paths")
        if path.is_file() and source_for(path) is None:
            raise UserError(f"{pattern!r} is not a file this tool reads (a CloudFormation, "
                            "SAM or CDK template, serverless.yml, Terraform, or an IAM "
                            "policy or role document); name the file that declares the "
                            "roles", where="policy-paths")
    if named and not found:
        raise UserError(f"no file under {root} matches {', '.join(map(repr, named))}; fix "
                        "the globs or leave policy-paths empty to auto-detect",
                        where="policy-paths")
    relative = [p.relative_to(root).as_posix() for p in found if p.is_relative_to(root)]
    for pattern in (p for p in named if any(ch in p for ch in "*?[")):
        regex = glob_regex(pattern)
        if not any(regex.match(rel) for rel in relative):
            notices.add("policy-paths-unmatched", "a policy-paths glob matches no file; the "
                        "files it was meant for are not compared: fix it or remove it",
                        pattern)


def _write_policy_file(analysis: Analysis, path: Path) -> None:
    import json

    from leastpriv_ci.report.files import write_atomically

    text = json.dumps({k: dict(v) for k, v in sorted(analysis.proposals.items())},
                      indent=2) + "\n"
    write_atomically(path, text, what="the proposed policy file",
                     remedy=f"the action writes its proposed policy to {path}: rename or "
                     "remove what the repository holds at that path")


def _changes(extra: Mapping[str, object]) -> Mapping[str, object] | None:
    changes = extra.get("changes")
    return changes if isinstance(changes, dict) else None


def _gate(extra: Mapping[str, object]) -> Mapping[str, object] | None:
    gate = extra.get("gate_changes")
    return gate if isinstance(gate, dict) else None


def _gate_annotations(extra: Mapping[str, object], locate: Callable[[str], str], *,
                      passed: bool) -> list[Annotation]:
    """A warning on the config file when the pull request changes its own gate."""
    from leastpriv_ci.runner import Annotation

    gate = _gate(extra)
    if gate is None:
        return []
    changes = gate.get("changes")
    listed = "; ".join(f"{c.get('setting')}: {c.get('base')} → {c.get('head')}"
                       for c in changes if isinstance(c, Mapping)) \
        if isinstance(changes, list) else ""
    fails = " With the base commit's settings this check fails." \
        if passed and gate.get("base_verdict") == "fail" else ""
    return [Annotation(level="warning", file=locate(str(gate.get("config_file"))), line=None,
                       message=f"This pull request changes the settings that gate it: "
                       f"{listed}.{fails}", title="leastpriv-ci")]


def _unverified_annotation(report: Report) -> list[Annotation]:
    """Why the scan verified nothing, if it did not: the error that failed the check (a
    warning in a shadow run), which a finding-less run would otherwise not show."""
    from leastpriv_ci.gate import nothing_verified
    from leastpriv_ci.runner import Annotation

    reason = nothing_verified(report.analysis.coverage)
    if reason is None:
        return []
    level = "warning" if report.verdict.passed else "error"
    return [Annotation(level=level, message=reason, file=None, line=None,
                       title="leastpriv-ci: nothing verified")]


def _publish(
    report: Report,
    settings: Settings,
    files: Mapping[str, str],
    extra: Mapping[str, object],
    *,
    root: Path,
    notes: Sequence[str] = (),
    errors_after: int = 0,
) -> None:
    from leastpriv_ci.github import file_link, pull_request_context
    from leastpriv_ci.grants.checkout import repository_paths
    from leastpriv_ci.publish import Publication, publish_to_actions
    from leastpriv_ci.runner import Annotation

    context = pull_request_context(os.environ)
    # Reports name files under the workspace; GitHub places them by the repository's path.
    locate = repository_paths(root)

    def link(path: str, line: int | None) -> str | None:
        return file_link(context, locate(path), line) or None

    counts = report.verdict.counts
    outputs = {
        "verdict": report.verdict.name,
        "excess-count": str(counts.get("excess", 0)),
        "missing-count": str(counts.get("missing", 0)),
        "denied-count": str(counts.get("denied", 0)),
        **files,
    }
    publish_to_actions(
        Publication(
            outputs=outputs,
            summary=summary.render(report, link=link, locate=locate, changes=_changes(extra),
                                   gate=_gate(extra), key=settings.comment_key),
            # Notes first: emit_annotations keeps the order within a level, so they are
            # never among the notices cut at the runner's per-step limit.
            annotations=_unverified_annotation(report)
            + [Annotation(level="notice", message=note, file=None, line=None,
                          title="leastpriv-ci") for note in notes]
            + _gate_annotations(extra, locate, passed=report.verdict.passed)
            + report_annotations.from_findings(report.analysis.findings, locate=locate),
            comment=markdown.render(report, link=link, locate=locate,
                                    changes=_changes(extra), gate=_gate(extra),
                                    key=settings.comment_key),
        ),
        os.environ,
        comment_mode=settings.comment,
        comment_key=settings.comment_key,
        notices=report.analysis.notices,
        errors_after=errors_after,
    )


def _workflow_file(environ: Mapping[str, str]) -> str | None:
    """The running workflow's file (``.github/workflows/x.yml``) from ``GITHUB_WORKFLOW_REF``."""
    ref = environ.get("GITHUB_WORKFLOW_REF", "").split("@", 1)[0]
    repository = environ.get("GITHUB_REPOSITORY", "")
    if repository and ref.startswith(f"{repository}/"):
        return ref.removeprefix(f"{repository}/") or None
    return None


RENDERERS: Mapping[str, Callable[[Report, dict[str, object]], str]] = {
    "text": lambda report, extra: text.render(report),
    "json": lambda report, extra: json_report.dumps(report, extra),
    "markdown": lambda report, extra: markdown.render(report, changes=_changes(extra),
                                                       gate=_gate(extra)),
    "sarif": lambda report, extra: sarif.dumps(report),
}


def _skip_untrusted_pull_request(why: str) -> int:
    """Fork and Dependabot pull requests get no OIDC token: say so, and do not fail."""
    from leastpriv_ci.runner import append_summary, command, set_outputs

    message = (f"leastpriv-ci skipped: {why}. The gate runs on pull requests from branches "
               "of this repository.")
    print(command("warning", message, title="leastpriv-ci"))
    set_outputs({"verdict": "skipped"}, os.environ)
    append_summary(f"### leastpriv-ci: skipped\n\n{message}\n", os.environ)
    return EXIT_PASS


def _note_sarif_cap(report: Report) -> None:
    """Say in the log, the summary and the comment when the SARIF file left findings out."""
    omitted = len(report.analysis.findings) - sarif.MAX_RESULTS
    if omitted > 0:
        message = sarif.omitted_message(omitted)
        _log(f"leastpriv-ci: warning: {message}")
        report.analysis.notices.add("sarif-capped", message)


def _report_failure(message: str, settings: Settings, exit_code: int) -> None:
    """Before exit 2 (the scan's input) or 3 (an AWS call): the report file states the
    error; in Actions the outputs say ``error`` and the job summary says what failed and
    what to do (the CLI prints the ``::error::`` annotation)."""
    from leastpriv_ci.cli import report_user_error
    from leastpriv_ci.report import summary

    service = exit_code == EXIT_SERVICE_ERROR
    advice = summary.SERVICE_FAILURE_ADVICE if service else summary.INPUT_ERROR_ADVICE
    render = summary.render_service_failure if service else summary.render_input_error
    files: dict[str, str] = {}
    try:
        if settings.report_file:
            json_report.write_error_report(Path(settings.report_file), message,
                                           exit_code=exit_code, advice=advice)
            files["report-file"] = settings.report_file
        if settings.github_actions:
            from leastpriv_ci.runner import append_summary, set_outputs

            set_outputs({"verdict": "error", **files}, os.environ)
            append_summary(render(message, settings.report_file), os.environ)
    except UserError as exc:  # said, but the first failure stays the exit code's reason
        report_user_error(exc, actions=settings.github_actions)


def _check_report_paths(settings: Settings, workspace: Path) -> None:
    """In Actions only the workspace outlives the container: a report file outside it
    (``../x``, or ``${{ github.workspace }}/x``, the runner's path on its host) would be
    lost unseen, and the step's output would name a file no later step finds."""
    from leastpriv_ci.grants.checkout import inside

    for name, value in (("report-file", settings.report_file),
                        ("sarif-file", settings.sarif_file)):
        # The folder it goes into: a link at the path itself is replaced, never followed
        if value and not inside((workspace / value).parent, workspace):
            raise UserError(f"{value!r} is outside the workspace {workspace}, which alone "
                            "outlives the action's container; name a path relative to the "
                            "repository's root", where=f"input {name}")


def run(args: argparse.Namespace) -> int:
    """Scan, write the reports, print; 0 pass, 1 gate failed (2/3 via UserError, 4 for a
    bug via the CLI's boundary)."""
    explicit = args.config_file is not None
    config = load_config(args.config_file or DEFAULT_CONFIG_FILE, explicit=explicit)
    settings = Settings.from_sources(vars(args), config)
    if settings.github_actions:
        settings = replace(
            settings,
            report_file=settings.report_file or "leastpriv-report.json",
        )
    root = Path.cwd()
    if settings.github_actions:
        _check_report_paths(settings, root)
    notes = [note for note in (unused_role_note(args, settings), unused_endpoint_note(args))
             if note]
    if not settings.github_actions:  # in Actions: a notice annotation, with the others
        for note in notes:
            print(f"leastpriv-ci: note: {note}", file=sys.stderr)
    try:
        report, extra = build_report(args, settings, root=root)
    except UserError as exc:
        if settings.github_actions and getattr(exc, "untrusted_pr", False):
            return _skip_untrusted_pull_request(str(exc))
        _report_failure(str(exc), settings, exc.exit_code)
        raise
    except Exception as exc:
        from leastpriv_ci.cli import service_failure

        message = service_failure(exc)  # an AWS SDK error no stage translated
        if message is None:
            raise
        _report_failure(message, settings, EXIT_SERVICE_ERROR)
        raise ServiceError(message) from None

    files: dict[str, str] = {}
    if settings.report_file:  # first: everything after this may fail
        json_report.write_report(report, Path(settings.report_file), extra)
        files["report-file"] = settings.report_file
    # A file that cannot be written fails the run (exit 2) once the others, the summary
    # and the comment are out: one bad path must not cost the rest of the report.
    unwritten: list[UserError] = []
    if settings.sarif_file:
        try:
            sarif.write_sarif(report, Path(settings.sarif_file), root=root,
                              fallback_uri=_workflow_file(os.environ))
            files["sarif-file"] = settings.sarif_file
            _note_sarif_cap(report)
        except UserError as exc:
            unwritten.append(exc)
    if settings.github_actions:
        try:
            _write_policy_file(report.analysis, Path(DEFAULT_POLICY_FILE))
            files["policy-file"] = DEFAULT_POLICY_FILE
        except UserError as exc:
            unwritten.append(exc)
        _publish(report, settings, files, extra, root=root, notes=notes,
                 errors_after=len(unwritten))

    rendered = RENDERERS[settings.format](report, extra)
    if settings.output:
        from leastpriv_ci.report.files import write_atomically

        try:
            write_atomically(Path(settings.output), rendered, what="the output file",
                             remedy="name another file with --output")
        except UserError as exc:
            unwritten.append(exc)
        rendered = ""
    if settings.github_actions:
        # Trace and PR text must not be read as workflow commands: suspend them, and
        # print the reasons on the same stream so they stay inside the suspension.
        from leastpriv_ci.runner import stop_commands

        with stop_commands(sys.stdout):
            sys.stdout.write(rendered)
            for reason in report.verdict.reasons:
                print(reason)
    else:
        sys.stdout.write(rendered)
        sys.stdout.flush()
        for reason in report.verdict.reasons:
            print(reason, file=sys.stderr)
    for error in unwritten[1:]:  # the first is the CLI's to report
        from leastpriv_ci.cli import report_user_error

        report_user_error(error, actions=settings.github_actions)
    if unwritten:
        raise unwritten[0]
    return EXIT_PASS if report.verdict.passed else EXIT_GATE_FAILED


def _with_service_platforms(options: PlatformOptions, declared: GrantSet) -> PlatformOptions:
    """``options`` with what a service does with a role handed to it (the ECS agent's
    image pulls and logs) switched on for the roles traced code runs as too, unless the
    configuration set those groups itself."""
    from leastpriv_ci.grants.compute import service_role_platforms

    groups = frozenset(g for g in service_role_platforms() if g not in options.modes)
    if not groups or not declared.serving_too():
        return options
    return replace(options, roles={**options.roles, **{
        key: options.roles.get(key, frozenset()) | groups for key in declared.serving_too()}})
