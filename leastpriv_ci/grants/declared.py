"""Declared grants: find the infrastructure files in a checkout and load each with its source.

Sources live in :mod:`leastpriv_ci.grants.sources` (one module per format) and are
discovered like CLI subcommands, so a new format is a new file there.
"""

from __future__ import annotations

import fnmatch
import importlib
import os
import pkgutil
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from leastpriv_ci.collector import paused_gc
from leastpriv_ci.deployed_stack import StackDenied, StackUnreachable, read_stack
from leastpriv_ci.errors import ServiceError, UserError, excerpt
from leastpriv_ci.grants import sources
from leastpriv_ci.grants.cdk_assembly import (
    NESTED_STACK,
    NESTED_TEMPLATE,
    Assemblies,
    AssemblyFinder,
    CdkStack,
)
from leastpriv_ci.grants.checkout import (
    OUTSIDE_CHECKOUT,
    OUTSIDE_CHECKOUT_TEXT,
    checkout_root,
    inside,
    walk,
)
from leastpriv_ci.grants.model import GrantSet, ResolveContext, StackResource, cdk_stack
from leastpriv_ci.grants.references import role_arn
from leastpriv_ci.grants.sources import cloudformation, policy_json, sam
from leastpriv_ci.loaders import MAX_FILE_BYTES
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import PARTIAL, Policy, Role, unresolved
from leastpriv_ci.records import Origin

ROLE_ELSEWHERE = "attached-role-not-declared"
ROLE_ELSEWHERE_TEXT = (
    "a policy is attached by name to a role no scanned file declares: the role is judged on "
    "the policies attached to it here, its others unknown (a use they may grant is 'may be "
    "missing', not gated); with the attached-roles source, the account's role is read and "
    "these policies added to it")
# The policies of a partly declared role that no scanned file holds
OTHERS = unresolved("the role's policies outside the scan")
ROLES_APART = "role-id-in-several-files"
ROLES_APART_TEXT = (
    "files declare different roles under one logical ID or address (the templates of two "
    "CDK stacks of one class, roles bound to other functions): each is kept, the later "
    "ones named FILE#ID")

# Sources that read CloudFormation templates (a stack is deployed from one)
CLOUDFORMATION_SOURCES = frozenset({cloudformation.NAME, sam.NAME})

# Folders that hold other people's code, build output or tool state, never the PR's IaC.
# ("env" is not one: Terraform layouts keep environments there, as env/prod/main.tf; a
# virtualenv of that name is left out at its site-packages.)
SKIPPED_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", "vendor", ".venv", "venv", ".env",
    ".tox", ".nox", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache",
    ".aws-sam", ".serverless", ".terraform", "site-packages", "bower_components",
    "third_party", ".idea", ".vscode", "dist", "build", "target", ".cache",
})

# The usual names, as (directory pattern, file name pattern) over a POSIX relative path.
# CDK writes a Stage's stacks to cdk.out/assembly-STAGE/ (a Stage in a Stage deeper:
# assembly-A/assembly-A-B/), never into its asset.HASH/ folders; *.template.json takes in
# nested stacks' *.nested.template.json.
DEFAULT_GLOBS = (
    "**/template.yaml", "**/template.yml", "**/template.json",
    "**/cdk.out/*.template.json", "**/cdk.out/**/assembly-*/*.template.json",
    "**/serverless.yaml", "**/serverless.yml", "**/serverless.json",
    "**/*.tf",
    "**/*.tfplan.json", "**/plan.json",
    "**/iam/**/*.json", "**/policies/**/*.json",
)


def discover(root: Path, globs: Sequence[str] | None = None, *,
             notices: Notices | None = None) -> list[Path]:
    """Infrastructure files under ``root`` matching ``globs`` (default: the usual names).

    Globs are relative to ``root`` with ``**`` for any number of folders; vendored and
    tool folders (``node_modules``, ``.git``, ``.aws-sam``, ...) are skipped unless a glob
    names them literally. The order is sorted by relative path, so runs are repeatable.
    A glob naming an existing file is taken as that file.

    Without globs, a CDK app's cloud assembly is found under any name too (``cdk synth
    --output``): a folder holding the ``cdk.out`` marker and ``manifest.json``, and the
    folder a ``cdk.json`` names as ``"output"``, skipped folders or not (see
    :class:`~leastpriv_ci.grants.cdk_assembly.AssemblyFinder`; a cdk.json it cannot
    follow is a warning in ``notices``).
    """
    patterns = list(globs) if globs else list(DEFAULT_GLOBS)
    assemblies = None if globs else AssemblyFinder(root, notices)
    found: set[Path] = set()
    compiled: list[re.Pattern[str]] = []
    for pattern in patterns:
        literal = root / pattern
        if not any(ch in pattern for ch in "*?[") and literal.is_file():
            found.add(literal)
            continue
        if not any(ch in pattern for ch in "*?[") and literal.is_dir():
            pattern = pattern.rstrip("/") + "/**/*"
        compiled.append(glob_regex(pattern))
    explicit_dirs = {part for p in patterns for part in Path(p).parts} & SKIPPED_DIRS
    if compiled:
        skipped = SKIPPED_DIRS - explicit_dirs
        for directory, dirnames, filenames in walk(root):
            dirnames[:] = [d for d in dirnames if d not in skipped]
            rel_dir = os.path.relpath(directory, root)
            prefix = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
            for filename in filenames:
                rel = prefix + filename
                if any(regex.match(rel) for regex in compiled):
                    found.add(Path(directory) / filename)
            if assemblies is not None:
                found.update(assemblies.visit(directory, dirnames, filenames))
    if assemblies is not None:
        found.update(assemblies.outputs())
    ordered = sorted(found, key=lambda p: p.relative_to(root).as_posix()
                     if p.is_relative_to(root) else p.as_posix())
    # One file of the folder reached by two paths (through a symlinked file or folder: a
    # cdk.json output naming a link to the assembly) is read once, by the first; a path
    # leading out is kept, for load_declared to refuse by name
    first: dict[str, Path] = {}
    top = os.path.join(os.path.realpath(root), "")
    for path in ordered:
        real = os.path.realpath(path)
        first.setdefault(real if real.startswith(top) else str(path), path)
    return list(first.values())


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob with ``**`` (any folders, including none) as a regex over POSIX paths."""
    pieces = pattern.replace(os.sep, "/").removeprefix("./").split("/")
    parts = []
    for i, piece in enumerate(pieces):
        if piece == "**":
            parts.append("(?:[^/]+/)*" if i < len(pieces) - 1 else ".*")
            continue
        translated = fnmatch.translate(piece).removeprefix("(?s:").removesuffix(r")\Z")
        parts.append(translated.replace(".*", "[^/]*") + ("/" if i < len(pieces) - 1 else ""))
    return re.compile("".join(parts) + r"\Z")


@cache
def source_modules() -> tuple[ModuleType, ...]:
    """Every grants source, in the order they are asked (``PRIORITY``, then name)."""
    found = []
    for info in pkgutil.iter_modules(sources.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{sources.__name__}.{info.name}")
        if all(hasattr(module, attr) for attr in ("NAME", "detect", "load")):
            found.append(module)
    return tuple(sorted(found, key=lambda m: (getattr(m, "PRIORITY", 50), m.NAME)))


def source_for(path: Path) -> ModuleType | None:
    """The first source whose ``detect`` recognises ``path`` (``None``: not infrastructure)."""
    for module in source_modules():
        if module.detect(path):
            return module
    return None


def _load(module: ModuleType, path: Path, context: ResolveContext, notices: Notices,
          shown: str) -> GrantSet:
    """One file's grants. Every source bounds its own nesting; should a hostile file still
    reach Python's stack limit, that is an input error naming the file, not a crash."""
    try:
        with paused_gc():  # loading builds many containers, none of them garbage
            loaded: GrantSet = module.load(path, context, notices)
    except RecursionError:
        raise UserError("nested or self-referring past what can be resolved; simplify "
                        "the file or leave it out of policy-paths", where=shown) from None
    return loaded


def load_declared(
    paths: Iterable[Path],
    context: ResolveContext,
    notices: Notices,
    *,
    root: Path | None = None,
    session: object | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    stack_reads: StackReads | None = None,
) -> GrantSet:
    """Load the grants declared in ``paths`` (each by the first source that detects it).

    Files no source recognises are ignored (counted). Files past ``max_bytes`` are skipped
    with a warning. A file a source recognises but cannot parse is a :class:`UserError`
    naming the file and line. With ``root``, origins name files relative to it, and a
    file that resolves outside its checkout (a symlink in the pull request pointing at
    the runner's files, an absolute or ``..`` path from its config) is not read
    (counted). With a boto3 ``session``, AWS managed policies the files name are read
    from IAM, and the stacks the files deploy as are read as deployed (``stack_reads``
    shares what is read and found out with another reading of the scan: the base's). A
    CDK stack's functions know the stack's deployed name (from the cloud assembly's
    ``manifest.json``, see :mod:`~leastpriv_ci.grants.cdk_assembly`).
    """
    from leastpriv_ci.grants.managed import resolve_managed

    checkout = checkout_root(root) if root is not None else None
    assemblies = Assemblies(notices, checkout, lambda path: _display(path, root))
    stacks: dict[Path, CdkStack | None] = {}
    read: list[tuple[Path, str, ModuleType, GrantSet, Notices]] = []
    found: list[tuple[Path, str, ModuleType]] = []
    for path in paths:
        shown = _display(path, root)
        if checkout is not None and not inside(path, checkout):
            notices.add(OUTSIDE_CHECKOUT, OUTSIDE_CHECKOUT_TEXT, shown)
            continue
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise UserError(f"cannot read policy file ({exc.strerror})", where=shown) from None
        if size > max_bytes:
            notices.add(
                "file-too-large",
                f"infrastructure files over {max_bytes} bytes are skipped; split the file or "
                "point policy-paths at a smaller one",
                f"{shown} ({size} bytes)",
            )
            continue
        module = source_for(path)
        if module is None:
            notices.add("not-infrastructure", "files that hold no roles or policies are ignored",
                        shown)
            continue
        found.append((path, shown, module))
        stacks[path] = assemblies.stack(path)
    deployed = _deployed_templates(found, stacks, context, notices)
    reader = None if session is None else _StackReader(session, context, notices,
                                                       stack_reads or StackReads())
    deployed.update(_cdk_deployed(found, stacks, context, reader))
    parents = {stack.name: deployed[path] for path in deployed
               if (stack := stacks[path]) is not None}
    if context.stack_name is not None and context.deployed:
        parents[context.stack_name] = context.deployed
    deployed.update(_nested_deployed(found, stacks, parents, context, reader))

    def context_of(path: Path, context: ResolveContext) -> ResolveContext:
        """The names the deployed stack gave are its own template's only (and its nested
        stacks' their templates'); a CDK stack's template is in its environment."""
        return replace(_environment_context(context, stacks[path]),
                       deployed=deployed.get(path, {}))

    for path, shown, module in found:
        own = Notices()  # a file read again drops what its first reading said
        loaded = _load(module, path, context_of(path, context), own, shown)
        if (reader is not None and path not in deployed and own.count("unresolved-value")
                and (resources := _stack_deployed_as(loaded, path, reader))):
            deployed[path] = resources  # read again, with the names the stack gave
            own = Notices()
            loaded = _load(module, path, context_of(path, context), own, shown)
        read.append((path, shown, module, loaded, own))
    included = _included(read, notices)
    apart = _keys_apart([(path, shown, loaded) for path, shown, _, loaded, _ in read], stacks,
                        notices)
    read = [(path, shown, module, _renamed(loaded, apart[path]), own)
            for path, shown, module, loaded, own in read]
    # A template importing what another exports (CDK's cross-stack references) is read
    # again knowing every export (a parameter of the same name still wins)
    exports = {name: value for *_, loaded, _ in read for name, value in loaded.exports.items()}
    role_exports = {name: key for *_, loaded, _ in read
                    for name, key in loaded.role_exports.items()}
    unknown = {name: why for *_, loaded, _ in read
               for name, why in loaded.unknown_exports.items()}
    grants = GrantSet()
    for path, shown, module, loaded, own in read:
        if loaded.imports & (exports.keys() | role_exports.keys() | unknown.keys()):
            own = Notices()
            loaded = _renamed(_load(module, path, replace(
                context_of(path, context), exports=exports, role_exports=role_exports,
                unknown_exports=unknown), own, shown), apart[path])
        notices.extend(own, shown=_in_checkout(root))
        loaded = _in_stack(loaded, stacks[path])
        if root is not None:
            loaded = _relocate(loaded, str(path), shown, root)
        grants = grants.merged(loaded)
    accounts = {(shown if root is not None else str(path)): account
                for path, shown, *_ in read
                if (account := _environment_context(context, stacks[path]).account)
                != context.account}
    grants, unmatched = grants.with_attached(accounts, context.account)
    partial: dict[str, list[Policy]] = {}
    for name, policy in unmatched:
        notices.add(ROLE_ELSEWHERE, ROLE_ELSEWHERE_TEXT,
                    f"{policy.origin.file}:{policy.origin.line or ''} {policy.name} → {name}")
        partial.setdefault(name, []).append(policy)
    roles = dict(grants.roles)
    for name, policies in partial.items():
        key = role_arn(context, name)
        origin = policies[0].origin
        # the files' resource policies naming it by name, or every role, grant it too
        roles.setdefault(key, grants.granted_to(Role(
            key=key, name=name, policies=(*policies, Policy.unknown(OTHERS, origin)),
            origin=origin, source=PARTIAL)))
    grants = replace(grants, roles=roles, included=frozenset(
        key for key, role in roles.items() if role.origin.file in included))
    return resolve_managed(grants, session, notices, partition=context.partition)


STACK_TEMPLATE_UNKNOWN = "stack-template-unknown"
STACK_TEMPLATE_UNKNOWN_TEXT = (
    "several templates could be the configured stack's, so the names CloudFormation gave "
    "its resources when deployed are used for none of them: name the stack's template in "
    "policy-paths, or give the names as parameters")


def _deployed_templates(found: Sequence[tuple[Path, str, ModuleType]],
                        stacks: Mapping[Path, CdkStack | None], context: ResolveContext,
                        notices: Notices) -> dict[Path, Mapping[str, StackResource]]:
    """The templates the configured stack was deployed from, which the names it gave
    (``context.deployed``) are for: the CDK stack's of that name, else the one
    CloudFormation or SAM template not known to be another stack's (a cloud assembly's
    or a nested stack's; one only named like a CDK stack's, ``app.template.json``, may be
    it). Several: none, and a warning."""
    if not context.deployed:
        return {}
    cdk = [path for path, _, _ in found if (stack := stacks[path]) is not None
           and stack.name == context.stack_name
           and _environment_context(context, stack).region == context.region]
    if cdk:
        return dict.fromkeys(cdk, context.deployed)
    templates = [(path, shown) for path, shown, module in found
                 if module.NAME in CLOUDFORMATION_SOURCES
                 and not path.name.endswith(NESTED_TEMPLATE)
                 and stacks[path] in (None, CdkStack(cdk_stack(path.name) or ""))]
    if len(templates) > 1:
        notices.add(STACK_TEMPLATE_UNKNOWN, STACK_TEMPLATE_UNKNOWN_TEXT,
                    f"{context.stack_name}: {', '.join(shown for _, shown in templates)}")
        return {}
    return {path: context.deployed for path, _ in templates}


NESTED_UNREAD = "nested-stack-unread"
NESTED_UNREAD_TEXT = (
    "a nested stack of a stack read as deployed could not be read (ListStackResources), so "
    "the names CloudFormation generated in it stay unresolved: allow "
    "cloudformation:ListStackResources on the stack's nested stacks too (stack/NAME-*/*)")
# At most this many stacks the scanned files deploy as are read as deployed, one
# paginated ListStackResources each
MAX_STACKS = 100
STACK_UNREAD = "stack-unread"
STACK_UNREAD_TEXT = (
    "stacks the scanned files deploy as (a CDK app's, a Serverless service's) could not be "
    "read as deployed (ListStackResources: each example says why, a denial, a failure or "
    f"more than {MAX_STACKS} stacks), so the names CloudFormation generated in them "
    "(resources without a name of their own) stay unresolved: when denied, allow "
    "cloudformation:ListStackResources on those stacks")
STACK_NOT_DEPLOYED = "stack-not-deployed"
STACK_NOT_DEPLOYED_TEXT = (
    "a stack the scanned files deploy as (a CDK app's, a Serverless service's) does not "
    "exist in the scanned account, in the region its example names (else the scan's), so "
    "the names CloudFormation would generate in it stay unresolved: deploy it before the "
    "scan, or leave its file out of policy-paths")
_ENVIRONMENT = re.compile(r"aws://(?P<account>[^/]*)/(?P<region>[^/]*)")
_ACCOUNT = re.compile(r"[0-9]{12}")
_STACK_NAME = re.compile(r"[A-Za-z][-A-Za-z0-9]{0,127}")  # CloudFormation's rule


@dataclass(frozen=True)
class _Warnings:
    """What the stack reader says of a stack it cannot read, and of one not deployed."""

    unread: tuple[str, str]  # code, text
    missing: tuple[str, str]
    missing_example: str  # of {stack} and {region}


_STACK_WARNINGS = _Warnings((STACK_UNREAD, STACK_UNREAD_TEXT),
                            (STACK_NOT_DEPLOYED, STACK_NOT_DEPLOYED_TEXT), "{stack} ({region})")
_NESTED_WARNINGS = _Warnings((NESTED_UNREAD, NESTED_UNREAD_TEXT),
                             (NESTED_UNREAD, NESTED_UNREAD_TEXT), "{stack} (it does not exist)")


@dataclass
class StackReads:
    """What a scan's readings of stacks as deployed found out, shared by the head's and
    the base's (``--base-ref``): each stack is read once, :data:`MAX_STACKS` of them at
    most in all, and a denial or a region that did not answer holds for both."""

    read: dict[tuple[str, str | None], Mapping[str, StackResource] | None] = field(
        default_factory=dict)  # (stack, region: None the session's) → its resources
    denied: bool = False
    unreachable: set[str | None] = field(default_factory=set)  # regions, None the session's
    elsewhere: bool | None = None  # the credentials are another account's than the scan's


class _StackReader:
    """The stacks the scanned files deploy as (a CDK app's, a Serverless service's), read
    as deployed: each once, only by a name CloudFormation gives a stack, in a region
    botocore knows, with credentials of the scan's account, at most :data:`MAX_STACKS` of
    them, none more after a denial, and none more in a region whose endpoint did not
    answer. A stack that cannot be read is a warning: the scan goes on with its names
    unresolved."""

    def __init__(self, session: Any, context: ResolveContext, notices: Notices,
                 reads: StackReads) -> None:
        self._session = session
        self._partition = context.partition
        self._account = context.account
        self._notices = notices
        self._state = reads

    def resources(self, stack: str, region: str) -> Mapping[str, StackResource] | None:
        """The stack's resources by logical ID in ``region``; None when it cannot be
        read (a region botocore does not know is not asked: its name would make the
        endpoint)."""
        if not _STACK_NAME.fullmatch(stack):  # an ARN, maybe another account's, or a hostile
            self._refuse((stack, region), (STACK_NOT_DEPLOYED, STACK_NOT_DEPLOYED_TEXT),
                         f"{excerpt(stack)} (no name CloudFormation gives a stack)")
            return None
        if region not in _regions(self._partition):
            self._refuse((stack, region), (STACK_UNREAD, STACK_UNREAD_TEXT),
                         f"{stack} (region {region!r}: not one botocore knows CloudFormation "
                         "in; update botocore)")
            return None
        return self._resources(stack, region, _STACK_WARNINGS)

    def _refuse(self, key: tuple[str, str | None], warning: tuple[str, str],
                example: str) -> None:
        """A stack not asked for, said once."""
        if key not in self._state.read:
            self._state.read[key] = None
            self._notices.add(*warning, example)

    def nested(self, stack_id: str, region: str | None) -> Mapping[str, StackResource] | None:
        """A nested stack's resources by logical ID, by the ID its parent lists for it,
        in ``region`` (None: the session's), under the same limits; one that cannot be
        read is the warning ``nested-stack-unread``."""
        return self._resources(stack_id, region, _NESTED_WARNINGS)

    def _resources(self, stack: str, region: str | None, said: _Warnings
                   ) -> Mapping[str, StackResource] | None:
        unread, unread_text = said.unread
        key = (stack, region)
        if key in self._state.read:
            return self._state.read[key]
        self._state.read[key] = None
        if self._state.denied or region in self._state.unreachable or self._other_account(stack):
            return None
        if len(self._state.read) > MAX_STACKS:
            self._notices.add(unread, unread_text, f"{stack} (more than {MAX_STACKS} stacks)")
            return None
        try:
            found = read_stack(self._session, *key)
        except StackDenied:
            self._state.denied = True
            self._notices.add(unread, unread_text, f"{stack} (denied)")
            return None
        except StackUnreachable as exc:  # botocore waited long enough: not again there
            self._state.unreachable.add(region)
            self._notices.add(unread, unread_text, f"{stack} ({exc})")
            return None
        except ServiceError as exc:
            self._notices.add(unread, unread_text, f"{stack} ({exc})")
            return None
        if found is None:
            self._notices.add(*said.missing, said.missing_example.format(stack=stack,
                                                                          region=region))
            return None
        self._state.read[key] = {resource.logical_id: resource for resource in found}
        return self._state.read[key]

    def _other_account(self, stack: str) -> bool:
        """Whether the credentials are another account's than the scan's (``--account``
        or the traces'): that account's stacks of these names are not the scan's. Asked
        once (``sts:GetCallerIdentity`` needs no permission); when STS does not answer,
        the stacks are read as before."""
        if self._state.elsewhere is None:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                account = self._session.client("sts").get_caller_identity()["Account"]
            except (BotoCoreError, ClientError, KeyError):
                account = self._account
            self._state.elsewhere = account != self._account
            if self._state.elsewhere:
                self._notices.add(STACK_UNREAD, STACK_UNREAD_TEXT,
                                  f"{stack} and the others (the credentials are account "
                                  f"{account}'s, the scan's is {self._account})")
        return self._state.elsewhere


def _cdk_deployed(found: Sequence[tuple[Path, str, ModuleType]],
                  stacks: Mapping[Path, CdkStack | None], context: ResolveContext,
                  reader: _StackReader | None) -> dict[Path, Mapping[str, StackResource]]:
    """The names CloudFormation gave the resources of the scanned CDK app's other stacks
    (the configured one is read already), per template: each stack a cloud assembly's
    manifest lists by name, in the scanned account (or no account said), in the region
    its environment names."""
    read: dict[Path, Mapping[str, StackResource]] = {}
    if reader is None:
        return read
    for path, _, module in found:
        stack = stacks[path]
        if (stack is None or stack.nested_in is not None or stack.environment is None
                or stack.name == context.stack_name or module.NAME not in CLOUDFORMATION_SOURCES):
            continue  # not named by a manifest: a stack of that name may be anybody's
        account, region = _environment(stack)
        if account not in (None, context.account):
            continue  # another account's stack: the scanning role cannot see it
        resources = reader.resources(stack.name, region or context.region)
        if resources is not None:
            read[path] = resources
    return read


def _environment_context(context: ResolveContext, stack: CdkStack | None) -> ResolveContext:
    """``context`` in the account and region a CDK stack's manifest gives it (its
    ``environment``, ``aws://ACCOUNT/REGION``), where CloudFormation deploys it: its
    ``AWS::Region`` and its resources' ARNs. An environment-agnostic stack's
    (``unknown-region``), or a region botocore does not know in the partition, is the
    scan's."""
    account, region = _environment(stack)
    if account is None and region is None:
        return context
    return replace(context, account=account or context.account,
                   region=region if region in _regions(context.partition) else context.region)


def _environment(stack: CdkStack | None) -> tuple[str | None, str | None]:
    """The account and region a CDK stack's manifest names (``aws://ACCOUNT/REGION``),
    the region known to botocore or not; None for what it leaves open
    (environment-agnostic: ``unknown-account``, ``unknown-region``)."""
    found = _ENVIRONMENT.fullmatch(stack.environment or "") if stack is not None else None
    if found is None:
        return None, None
    account, region = found["account"], found["region"]
    return (account if _ACCOUNT.fullmatch(account) else None,
            None if not region or region.startswith("unknown") else region)


def _stack_deployed_as(loaded: GrantSet, path: Path, reader: _StackReader
                       ) -> Mapping[str, StackResource] | None:
    """The resources of the stack a file deploys as once read (a Serverless service's),
    when it is deployed and may be read."""
    deployed_as = loaded.deployed_as.get(str(path))
    return None if deployed_as is None else reader.resources(deployed_as.stack,
                                                              deployed_as.region)


def _nested_region(stack_id: str, stack: CdkStack, context: ResolveContext) -> str | None:
    """Where a nested stack is: the region its ID (an ARN,
    ``arn:aws:cloudformation:REGION:...``) names, else its parent's (the configured
    stack's is the session's: None), when botocore knows CloudFormation there."""
    parts = stack_id.split(":")
    if len(parts) > 3:
        region: str | None = parts[3]
    elif stack.nested_in == context.stack_name:
        return None
    else:
        region = _environment(stack)[1] or context.region
    return region if region in _regions(context.partition) else None


@cache
def _regions(partition: str) -> frozenset[str]:
    """The regions botocore knows CloudFormation in (a manifest's other words, such as
    ``unknown-region`` or a hostile name, are not asked for)."""
    import botocore.session

    return frozenset(botocore.session.get_session().get_available_regions(
        "cloudformation", partition_name=partition))


def _nested_deployed(found: Sequence[tuple[Path, str, ModuleType]],
                     stacks: Mapping[Path, CdkStack | None],
                     parents: Mapping[str, Mapping[str, StackResource]],
                     context: ResolveContext, reader: _StackReader | None
                     ) -> dict[Path, Mapping[str, StackResource]]:
    """The names the CDK nested stacks of the stacks read as deployed (``parents``, by
    stack name) gave their resources, per nested template: the parent lists each as an
    ``AWS::CloudFormation::Stack`` (its physical ID, the nested stack's ID), which is read
    in turn. One that cannot be read is a warning, not a failure (the permission may
    cover the parent alone)."""
    found_deployed: dict[Path, Mapping[str, StackResource]] = {}
    for path, _, _ in found:
        stack = stacks[path]
        if (reader is None or stack is None or stack.nested_in is None
                or stack.nested_in not in parents):
            continue
        nested = parents[stack.nested_in].get(stack.name[len(stack.nested_in) + 1:])
        if nested is None or nested.type != NESTED_STACK:
            continue
        # (copies of an assembly name one stack: the reader reads it once)
        names = reader.nested(nested.physical_id,
                              _nested_region(nested.physical_id, stack, context))
        if names is not None:
            found_deployed[path] = names
    return found_deployed


_Read = tuple[Path, str, ModuleType, GrantSet, Notices]
INCLUDED = "policy-file-included"
INCLUDED_TEXT = ("a policy file that another file includes (Terraform file(), Serverless "
                 "${file()}) is read as part of it; as a role of its own it gets no "
                 "'unobserved' finding, only a verdict when a principal is mapped to it")


def _included(read: list[_Read], notices: Notices) -> set[str]:
    """The plain policy files (as shown) that another file's statements come from
    (``policy = file("policies/x.json")``): on their own they would be roles nobody runs
    as. They stay roles (a principal may be mapped to one: a decoy file reading it must
    not take it away), but are not listed as unobserved."""
    sources = {Path(statement.origin.file).resolve()
               for _, _, module, loaded, _ in read if module.NAME != policy_json.NAME
               for policy in (*(p for r in loaded.roles.values() for p in r.policies),
                              *(p for _, p in loaded.attached))
               for statement in policy.statements if statement.origin.file}
    found = set()
    for path, shown, module, _, _ in read:
        if module.NAME == policy_json.NAME and path.resolve() in sources:
            notices.add(INCLUDED, INCLUDED_TEXT, shown)
            found.add(shown)
    return found


def _keys_apart(read: Sequence[tuple[Path, str, GrantSet]],
                stacks: Mapping[Path, CdkStack | None], notices: Notices
                ) -> dict[Path, dict[str, str]]:
    """Per file, the role keys to rename (old → new).

    A logical ID or Terraform address is unique only in its file: the same one in a later
    file is another role when that file is another CDK stack's template (another stack
    name or environment in its manifest, else another file name), or binds it to other
    functions; it is then named after its file (``FILE#ID``). Else (the same stack's
    template twice, a packaged copy of a template, a plan beside its .tf) it is the same
    role, and the later file's reading stands.
    """
    holders: dict[str, list[_Holder]] = {}  # role key as declared → the roles it names
    apart: dict[Path, dict[str, str]] = {}
    for path, shown, loaded in read:
        bound, stack = _bound_names(loaded), stacks[path]
        renamed = apart[path] = {}
        for key in loaded.roles:
            if key.startswith("arn:"):
                continue
            names = bound.get(key, set())
            earlier = holders.setdefault(key, [])
            same = next((h for h in earlier if not h.other(stack, names)), None)
            if same is None:
                same = _Holder(stack, set(), f"{shown}#{key}" if earlier else key)
                earlier.append(same)
                if same.key != key:
                    notices.add(ROLES_APART, ROLES_APART_TEXT, f"{shown}: {key}")
            same.bound.update(names)
            if same.key != key:
                renamed[key] = same.key
    return apart


@dataclass
class _Holder:
    """A role a logical ID or address names in some file: its CDK stack (when its file is
    a stack's template), the functions bound to it, and the key it is given."""

    stack: CdkStack | None
    bound: set[str]
    key: str

    def other(self, stack: CdkStack | None, bound: set[str]) -> bool:
        """Whether a later file's role under that ID is another role: the two files are
        templates of different CDK stacks, or they bind it to other functions."""
        if self.stack is not None and stack is not None:
            return self.stack != stack
        return bool(self.bound) and bool(bound) and self.bound.isdisjoint(bound)


def _bound_names(grants: GrantSet) -> dict[str, set[str]]:
    """Role key → the names of the functions bound to it, logical IDs left out (the same
    in every stack one CDK class synthesizes)."""
    found: dict[str, set[str]] = {}
    for binding in grants.bindings:
        names = set(binding.names) - {binding.function, binding.origin.logical_id}
        found.setdefault(binding.role, set()).update(names)
    return found


def _in_stack(grants: GrantSet, stack: CdkStack | None) -> GrantSet:
    """``grants`` with its functions in CDK stack ``stack`` (when its file is a stack's
    template)."""
    if stack is None:
        return grants
    return replace(grants, bindings=tuple(replace(b, stack=stack.name, nested_in=stack.nested_in)
                                          for b in grants.bindings))


def _renamed(grants: GrantSet, keys: Mapping[str, str]) -> GrantSet:
    """``grants`` with its roles' keys renamed as ``keys`` says (old → new)."""
    if not keys:
        return grants
    return replace(
        grants,
        roles={keys.get(k, k): replace(r, key=keys.get(r.key, r.key))
               for k, r in grants.roles.items()},
        bindings=tuple(replace(b, role=keys.get(b.role, b.role)) for b in grants.bindings),
        role_exports={name: keys.get(k, k) for name, k in grants.role_exports.items()},
        service_roles=frozenset(keys.get(k, k) for k in grants.service_roles))


def with_policies(deployed: Role, partial: Role) -> Role:
    """The account's role with the policies files attach to it (a :data:`PARTIAL` role's),
    but those it already has by name (staging was deployed with them), and the resource
    grants the files' resource policies give it (:meth:`GrantSet.granted_to`, given the
    partial role)."""
    names = {policy.name for policy in deployed.policies}
    added = tuple(p for p in partial.policies if p.name != OTHERS and p.name not in names)
    return replace(deployed, policies=(*deployed.policies, *added),
                   resource_grants=(*deployed.resource_grants, *partial.resource_grants))


def _in_checkout(root: Path | None) -> Callable[[str], str] | None:
    """Warnings name the scanned files as findings do, relative to ``root`` (a template's
    resolver names the path it was given, the runner's)."""
    if root is None or not root.is_absolute() or root == Path(root.anchor):
        return None  # (only an absolute folder's name is told apart from other text)
    prefix = f"{root.as_posix()}/"
    return lambda where: where.replace(prefix, "")


def _display(path: Path, root: Path | None) -> str:
    if root is not None and path.is_relative_to(root):
        return path.relative_to(root).as_posix()
    return str(path)


def _relocate(grants: GrantSet, old: str, new: str, root: Path) -> GrantSet:
    """Rename file ``old`` to ``new`` in every origin (repository-relative paths), and show
    another file under ``root`` that statements come from (Terraform's ``file()``) the
    same way."""
    def fix(origin: Origin) -> Origin:
        if origin.file == old:
            return replace(origin, file=new)
        if origin.file and Path(origin.file).is_absolute():
            return replace(origin, file=_display(Path(origin.file), root))
        return origin

    def key(k: str) -> str:  # a plain policy file's role is keyed by its path
        return new if k == old else k

    moved = grants.with_origins(fix)
    return GrantSet(
        roles={key(k): replace(r, key=key(r.key)) for k, r in moved.roles.items()},
        bindings=tuple(replace(b, role=key(b.role)) for b in moved.bindings),
        files=tuple(map(key, grants.files)),
        attached=moved.attached,
        service_roles=frozenset(map(key, grants.service_roles)),
        granted_by_name=moved.granted_by_name,
        policy_resources=grants.policy_resources,
        public_statements=moved.public_statements,
    )
