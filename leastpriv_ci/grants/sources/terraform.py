"""Terraform ``.tf`` files: IAM roles, their policies, and the Lambda functions using them.

A ``.tf`` file is read with the other ``.tf`` files of its folder (its module) as
context, so references across files resolve; each file yields the roles and functions
*declared in it*, with every policy attached to them anywhere in the module. A module
that the repository calls by a local path (``source = "./modules/fn"``) is read once per
call, its variables given the call's arguments (evaluated in the calling module). Reads
``aws_iam_role`` (``inline_policy``, ``managed_policy_arns``, ``permissions_boundary``),
``aws_iam_role_policy``, ``aws_iam_policy`` + ``aws_iam_role_policy_attachment`` /
``aws_iam_policy_attachment``, ``data "aws_iam_policy_document"``, and
``aws_lambda_function.role``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources as package_data
from pathlib import Path
from typing import Any

from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.checkout import (
    OUTSIDE_CHECKOUT,
    OUTSIDE_CHECKOUT_TEXT,
    inside,
    repository_root,
)
from leastpriv_ci.grants.declared import SKIPPED_DIRS
from leastpriv_ci.grants.hcl import (
    MAX_VALUES,
    Block,
    Encoded,
    Evaluator,
    Expression,
    FileText,
    HclFile,
    HeredocText,
    Unknown,
    descend,
    parse_hcl,
    traversal,
    within,
)
from leastpriv_ci.grants.managed import managed_policy
from leastpriv_ci.grants.model import Binding, GrantSet, ResolveContext
from leastpriv_ci.grants.references import role_arn
from leastpriv_ci.loaders import LoadError, LocatedDict, loads_json, read_text
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import ALLOW, Policy, Role, Statement, is_unresolved, unresolved
from leastpriv_ci.policy.parse import parse_statement
from leastpriv_ci.records import Origin

NAME = "terraform"
MAX_MODULE_FILES = 500
MAX_REPOSITORY_FILES = 5000  # .tf files looked through for the calls of a module
MAX_MODULE_CALLS = 200  # instances of one module read
MAX_DYNAMIC_STATEMENTS = 1000  # statements one dynamic block expands to
COUNT_NOT_EXPANDED = "terraform-count-not-expanded"
COUNT_NOT_EXPANDED_TEXT = (
    "resources and module calls with count or for_each are read once, not per instance; "
    "scan a plan (terraform show -json) for every instance")
# Files declaring none of these yield nothing (roles, their policies, functions).
_DECLARES = re.compile(
    r'resource\s+"?(aws_iam_role\w*|aws_iam_policy_attachment|aws_lambda_function)"?\s')
# A module call at the start of a line (not in a comment).
_MODULE_CALL = re.compile(r'^[ \t]*module[ \t]+"([^"\n]+)"', re.MULTILINE)
# The resource types this source reads.
_READ_TYPES = re.compile(r"aws_iam_role\w*|aws_iam_polic\w*|aws_lambda_function\Z")
# The argument naming the role(s) a policy or attachment resource applies to.
_ROLE_ARGUMENT = {
    "aws_iam_role_policy": "role",
    "aws_iam_role_policy_attachment": "role",
    "aws_iam_policy_attachment": "roles",
}


def detect(path: Path) -> bool:
    """``*.tf`` by suffix."""
    return path.suffix.lower() == ".tf"


def load(path: Path, context: ResolveContext, notices: Notices) -> GrantSet:
    """Roles and functions declared in ``path``, resolved against its whole module."""
    text = _text_of(path)
    for call in _calls_of(path):
        if _local_source(call) is None:
            notices.add("terraform-module-not-followed",
                        "modules from a registry or another remote source are not followed; "
                        "scan a plan (terraform show -json) for their roles",
                        f"{path}:{call.line} module.{call.labels[0]}")
        elif "count" in call.attributes or "for_each" in call.attributes:
            notices.add(COUNT_NOT_EXPANDED, COUNT_NOT_EXPANDED_TEXT,
                        f"{path}:{call.line} module.{call.labels[0]}")
    if not _DECLARES.search(text):
        # Nothing here can yield a role or a function; the module is parsed only for the
        # files that do (python-hcl2 parses ~0.1 MB/s).
        return GrantSet(files=(str(path),))
    target = _parsed(path)  # a syntax error in the file itself is the user's to fix
    repository = repository_root(path)
    siblings = _module_files(path.parent, repository, notices, target)
    callers = _callers(path.parent, repository, context, notices)
    if not callers:  # nothing in the checkout calls it: read as it is
        return Module(siblings, path.parent, context, notices).grants(target)
    if len(callers) > MAX_MODULE_CALLS:
        notices.add("terraform-module-calls-capped",
                    f"a module called more than {MAX_MODULE_CALLS} times is read for its first "
                    f"{MAX_MODULE_CALLS} calls", f"{path.parent} ({len(callers)} calls)")
    roles: dict[str, Role] = {}
    bindings: list[Binding] = []
    for caller, call in callers[:MAX_MODULE_CALLS]:
        instance = Module(siblings, path.parent, context, notices,
                          prefix=f"module.{call.labels[0]}.", caller=(caller, call))
        found = instance.grants(target)
        roles.update(found.roles)
        bindings.extend(found.bindings)
    return GrantSet(roles=roles, bindings=tuple(bindings), files=(str(path),))


def _module_files(folder: Path, repository: Path, notices: Notices,
                  first: HclFile | None = None) -> list[HclFile]:
    """The parsed ``.tf`` files of a module folder (``first`` first, if given); files that
    do not parse, or lie outside the repository, are skipped with a warning."""
    files = [first] if first is not None else []
    for other in sorted(folder.glob("*.tf"))[:MAX_MODULE_FILES]:
        if first is not None and other.resolve() == first.path.resolve():
            continue
        if not inside(other, repository):  # a symlink out of the repository: not read
            notices.add(OUTSIDE_CHECKOUT, OUTSIDE_CHECKOUT_TEXT, str(other))
            continue
        try:
            files.append(_parsed(other))
        except (UserError, OSError, ValueError) as exc:
            notices.add("terraform-module-file-skipped",
                        "a .tf file of the same module could not be parsed; references to it "
                        "stay unresolved", f"{other}: {exc}")
    return files


def _calls_of(path: Path) -> tuple[Block, ...]:
    """The ``module`` blocks of a ``.tf`` file; raises :class:`UserError` if it holds one
    and does not parse."""
    return _calls_cached(*_version(path))


@lru_cache(maxsize=MAX_REPOSITORY_FILES)
def _calls_cached(path: str, mtime_ns: int, size: int) -> tuple[Block, ...]:
    # Found by text first: most files have none, and are not parsed for it.
    if not _MODULE_CALL.search(_text_cached(path, mtime_ns, size)):
        return ()
    blocks = _parse_cached(path, mtime_ns, size).blocks
    return tuple(b for b in blocks if b.type == "module" and len(b.labels) == 1)


def _local_source(call: Block) -> str | None:
    """A module call's ``source`` when it is a local path (``./…``, ``../…``). Terraform
    takes only a literal string there, so it is read as written."""
    expression = call.attributes.get("source")
    text = expression.source.snippet(expression.tree).strip() if expression else ""
    source = text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else ""
    return source if source.startswith(("./", "../")) and "${" not in source else None


def _callers(folder: Path, repository: Path, context: ResolveContext,
             notices: Notices) -> list[tuple[Module, Block]]:
    """The module calls in the repository whose local source is ``folder``, each with its
    calling module (read without its own callers: one level of inputs is followed)."""
    files = _tf_files(repository)
    calls = _call_index(str(repository), tuple(map(_version, files))).get(folder.resolve(), [])
    modules: dict[Path, Module] = {}
    found: list[tuple[Module, Block]] = []
    for path, call in calls:
        caller = modules.get(path.parent)
        if caller is None:
            caller = modules[path.parent] = Module(
                _module_files(path.parent, repository, notices), path.parent, context, notices)
        found.append((caller, call))
    return found


@lru_cache(maxsize=4)
def _call_index(repository: str, versions: tuple[tuple[str, int, int], ...]
                ) -> dict[Path, list[tuple[Path, Block]]]:
    """Called folder → the local module calls naming it, over the checkout's ``.tf`` files
    at these versions (built once per scan, not once per module file)."""
    root = Path(repository)
    index: dict[Path, list[tuple[Path, Block]]] = {}
    for version in versions:
        try:
            calls = _calls_cached(*version)
        except (UserError, OSError, ValueError):
            continue  # that file's own load names what is wrong with it
        path = Path(version[0])
        for call in calls:
            source = _local_source(call)
            called = path.parent / source if source is not None else None
            if called is not None and inside(called, root):
                index.setdefault(called.resolve(), []).append((path, call))
    return index


class _TfFiles:
    """The ``.tf`` files of a checkout, tool and vendored folders left out.

    Every file of a called module looks for its callers, so the walk is remembered per
    checkout and reused while no folder it went through has changed (a folder's mtime
    moves when an entry is added, removed or renamed); what a file holds is checked by
    the parse cache, keyed by the file's own mtime and size.
    """

    def __init__(self) -> None:
        self._walks: dict[Path, tuple[list[Path], list[tuple[str, int]]]] = {}

    def __call__(self, repository: Path) -> list[Path]:
        known = self._walks.get(repository)
        if known is not None and all(_mtime(folder) == stamp for folder, stamp in known[1]):
            return known[0]
        files: list[Path] = []
        folders: list[tuple[str, int]] = []
        for folder, subfolders, names in os.walk(repository):
            subfolders[:] = sorted(f for f in subfolders if f not in SKIPPED_DIRS)
            folders.append((folder, _mtime(folder)))
            files.extend(Path(folder, name) for name in sorted(names) if name.endswith(".tf"))
            if len(files) >= MAX_REPOSITORY_FILES:
                break
        if len(self._walks) >= 16:
            self._walks.clear()
        self._walks[repository] = (files[:MAX_REPOSITORY_FILES], folders)
        return files[:MAX_REPOSITORY_FILES]


def _mtime(folder: str) -> int:
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return -1


_tf_files = _TfFiles()


def _text_of(path: Path) -> str:
    return _text_cached(*_version(path))


def _parsed(path: Path) -> HclFile:
    return _parse_cached(*_version(path))


def _version(path: Path) -> tuple[str, int, int]:
    """A file's cache key, with its mtime and size: each file is read and parsed once per
    scan, not once per sibling or per module looking for its callers."""
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=1024)
def _text_cached(path: str, mtime_ns: int, size: int) -> str:
    try:
        return read_text(Path(path))
    except LoadError as exc:
        raise UserError(f"cannot read Terraform file: {exc}", where=path) from None


@lru_cache(maxsize=256)
def _parse_cached(path: str, mtime_ns: int, size: int) -> HclFile:
    return parse_hcl(Path(path), _text_cached(path, mtime_ns, size))


@cache
def _arn_table() -> Mapping[str, Any]:
    text = package_data.files("leastpriv_ci.data").joinpath("terraform_arns.json").read_text()
    table: Mapping[str, Any] = json.loads(text)
    return table


@dataclass(frozen=True)
class DocumentRef:
    """``data.aws_iam_policy_document.NAME.json``."""

    name: str


@dataclass(frozen=True)
class PolicyArn:
    """``aws_iam_policy.NAME.arn``: the policy's document is in the module."""

    name: str


@dataclass
class Module:
    """The ``.tf`` files of one folder, indexed, with a reference resolver; read as one
    call's instance (``caller``), its variables take the call's arguments."""

    files: list[HclFile]
    folder: Path
    context: ResolveContext
    notices: Notices
    prefix: str = ""  # "module.NAME." for an instance read with its caller's arguments
    caller: tuple[Module, Block] | None = None  # the calling module and its module block
    resources: dict[tuple[str, str], Block] = field(default_factory=dict)
    data: dict[tuple[str, str], Block] = field(default_factory=dict)
    variables: dict[str, Block] = field(default_factory=dict)
    locals: dict[str, Expression] = field(default_factory=dict)
    _active: set[str] = field(default_factory=set)
    _evaluator: Evaluator | None = None
    _attachments: dict[str, list[tuple[str, str, Block]]] | None = None
    _values: dict[tuple[str, str, str], Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for source in self.files:
            for block in source.blocks:
                if block.type == "resource" and len(block.labels) == 2:
                    self.resources.setdefault((block.labels[0], block.labels[1]), block)
                elif block.type == "data" and len(block.labels) == 2:
                    self.data.setdefault((block.labels[0], block.labels[1]), block)
                elif block.type == "variable" and block.labels:
                    self.variables.setdefault(block.labels[0], block)
                elif block.type == "locals":
                    for name, expression in block.attributes.items():
                        self.locals.setdefault(name, expression)

    @property
    def evaluator(self) -> Evaluator:
        if self._evaluator is None:
            self._evaluator = Evaluator(self.resolve, self.folder, self.notices.add)
        return self._evaluator

    def value(self, expression: Expression | None, scope: dict[str, Any] | None = None) -> Any:
        return None if expression is None else self.evaluator.value(expression, scope)

    # -- references ---------------------------------------------------------------------

    def resolve(self, path: list[str], evaluator: Evaluator) -> Any:
        """The value of ``var.x``, ``local.x``, ``data.T.N.attr``, ``T.N.attr``."""
        spelled = ".".join(path)
        if spelled in self._active:
            self.notices.add("terraform-reference-cycle", "references form a cycle", spelled)
            return Unknown(spelled)
        self._active.add(spelled)
        try:
            return self._resolve(path, spelled)
        finally:
            self._active.discard(spelled)

    def _resolve(self, path: list[str], spelled: str) -> Any:
        head = path[0]
        if head == "var" and len(path) >= 2:
            argument = self.caller[1].attributes.get(path[1]) if self.caller else None
            if self.caller is not None and argument is not None:
                return descend(self.caller[0].value(argument), path[2:], spelled)
            block = self.variables.get(path[1])
            default = block.attributes.get("default") if block else None
            if default is None:
                self.notices.add("terraform-variable-without-default",
                                 "a variable has no default; its value stays unresolved "
                                 "(pass it in the parameters)", spelled)
                return Unknown(spelled)
            if f"var.{path[1]}" in self.context.parameters:
                return descend(self.context.parameters[f"var.{path[1]}"], path[2:], spelled)
            return descend(self.value(default), path[2:], spelled)
        if head == "local" and len(path) >= 2 and path[1] in self.locals:
            memo = ("local", path[1], "")
            if memo not in self._values:
                self._values[memo] = self.value(self.locals[path[1]])
            return descend(self._values[memo], path[2:], spelled)
        if head == "path" and len(path) == 2 and path[1] in ("module", "root", "cwd"):
            return str(self.folder.resolve())
        if head == "data" and len(path) >= 4:
            return self._data(path[1], path[2], path[3:], spelled)
        if len(path) >= 3 and (path[0], path[1]) in self.resources:
            return self._attribute(path[0], path[1], path[2], path[3:], spelled)
        return Unknown(spelled)

    def _data(self, kind: str, name: str, rest: list[str], spelled: str) -> Any:
        if kind == "aws_iam_policy_document" and rest[0] == "json" and (kind, name) in self.data:
            return DocumentRef(name)
        template = _arn_table()["data"].get(kind, {}).get(rest[0])
        if template is not None and (kind, name) in self.data:
            return self._fill(template, {})
        return Unknown(spelled)

    def _attribute(self, kind: str, name: str, attribute: str, rest: list[str],
                   spelled: str) -> Any:
        block = self.resources[(kind, name)]
        if kind == "aws_iam_policy" and attribute in ("arn", "id") and not rest:
            return PolicyArn(name)
        if attribute in block.attributes:
            memo = (kind, name, attribute)
            if memo not in self._values:
                self._values[memo] = self.value(block.attributes[attribute])
            return descend(self._values[memo], rest, spelled)
        known = _arn_table()["types"].get(kind)
        template = known["attrs"].get(attribute) if known else None
        if template is None:
            return Unknown(spelled)
        resource_name = self.value(block.attributes.get(known["name"]))
        if not isinstance(resource_name, str) or is_unresolved(resource_name):
            return Unknown(spelled)
        path = self.value(block.attributes.get("path")) or "/"
        return descend(self._fill(template, {"name": resource_name, "path": str(path),
                                           "slash": "" if resource_name.startswith("/")
                                           else "/"}), rest, spelled)

    def _fill(self, template: str, values: Mapping[str, str]) -> str:
        return template.format_map({
            "partition": self.context.partition, "region": self.context.region,
            "account": self.context.account, **values,
        })

    # -- grants -------------------------------------------------------------------------

    def grants(self, target: HclFile) -> GrantSet:
        roles: dict[str, Role] = {}
        bindings: list[Binding] = []
        self._unexpanded(target)
        self.attachments(target)  # warns about policies for roles the module lacks
        for (kind, name), block in self.resources.items():
            if block.source is not target:
                continue
            if kind == "aws_iam_role":
                role = self.role(name, block)
                roles[role.key] = role
            elif kind == "aws_lambda_function":
                bindings.append(self.binding(name, block))
        return GrantSet(roles=roles, bindings=tuple(bindings), files=(str(target.path),))

    def _unexpanded(self, target: HclFile) -> None:
        """Say where the file uses ``count``/``for_each`` on a resource this source reads:
        a static read cannot expand them (a plan JSON has every instance)."""
        for block in target.blocks:
            where = f"{target.path}:{block.line}"
            if (block.type == "resource" and len(block.labels) == 2
                    and _READ_TYPES.match(block.labels[0])
                    and ("count" in block.attributes or "for_each" in block.attributes)):
                self.notices.add(COUNT_NOT_EXPANDED, COUNT_NOT_EXPANDED_TEXT,
                                 f"{where} {self.prefix}{'.'.join(block.labels)}")

    def role_key(self, name: str) -> str:
        block = self.resources[("aws_iam_role", name)]
        role_name = self.value(block.attributes.get("name"))
        if isinstance(role_name, str) and not is_unresolved(role_name):
            path = self.value(block.attributes.get("path"))
            return role_arn(self.context, role_name, path if isinstance(path, str) else "/")
        return self.address("aws_iam_role", name)

    def address(self, kind: str, name: str) -> str:
        """A resource's Terraform address (``module.NAME.`` first in a called module)."""
        return f"{self.prefix}{kind}.{name}"

    def role(self, name: str, block: Block) -> Role:
        address = self.address("aws_iam_role", name)
        policies: list[Policy] = []
        for inline in block.nested("inline_policy"):
            policy_name = self.value(inline.attributes.get("name"))
            policies.append(self.policy(inline.attributes.get("policy"),
                                        _text(policy_name, address), address, inline))
        managed = self.value(block.attributes.get("managed_policy_arns"))
        for arn in managed if isinstance(managed, list) else []:
            policies.append(self.managed(arn, address, block))
        for kind, other, attachment in self.attachments().get(name, []):
            address_of = self.address(kind, other)
            if kind == "aws_iam_role_policy":
                policy_name = _text(self.value(attachment.attributes.get("name")), address_of)
                policies.append(self.policy(attachment.attributes.get("policy"), policy_name,
                                            address_of, attachment))
            else:
                policies.append(self.managed(self.value(attachment.attributes.get("policy_arn")),
                                             address_of, attachment))
        boundary_value = self.value(block.attributes.get("permissions_boundary"))
        boundary = self.managed(boundary_value, address, block) \
            if boundary_value is not None else None
        role_name = self.value(block.attributes.get("name"))
        return Role(
            key=self.role_key(name),
            name=role_name if isinstance(role_name, str) and not is_unresolved(role_name)
            else None,
            policies=tuple(policies), boundary=boundary,
            origin=Origin(file=str(block.source.path), line=block.line, logical_id=address),
        )

    def attachments(
        self, target: HclFile | None = None
    ) -> dict[str, list[tuple[str, str, Block]]]:
        """Role (its resource name) → the policy and attachment resources that name it.

        Built once per module: a role is named by reference (``aws_iam_role.x.id``) or by
        its literal name. Policies in ``target`` naming no role here are warned about.
        """
        if self._attachments is not None:
            return self._attachments
        by_name: dict[str, str] = {}
        for (kind, name), block in self.resources.items():
            if kind == "aws_iam_role":
                role_name = self.value(block.attributes.get("name"))
                if isinstance(role_name, str):
                    by_name.setdefault(role_name, name)
        found: dict[str, list[tuple[str, str, Block]]] = {}
        for (kind, other), block in self.resources.items():
            attribute = _ROLE_ARGUMENT.get(kind)
            expression = block.attributes.get(attribute) if attribute else None
            if expression is None:
                continue
            roles: list[str] = []
            for node in expression.tree.iter_subtrees():
                if node.data == "get_attr_expr_term":
                    path = traversal(node)
                    if path and len(path) >= 3 and path[0] == "aws_iam_role" \
                            and ("aws_iam_role", path[1]) in self.resources:
                        roles.append(path[1])
            if not roles:
                value = self.value(expression)
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str) and item in by_name:
                        roles.append(by_name[item])
            if not roles and block.source is target:
                self.notices.add("terraform-role-not-in-module",
                                 "a policy is attached to a role this module does not declare; "
                                 "the attached-roles source reads it from the account",
                                 f"{block.source.path}:{block.line}: {kind}.{other}")
            for role in dict.fromkeys(roles):
                found.setdefault(role, []).append((kind, other, block))
        self._attachments = found
        return found

    def binding(self, name: str, block: Block) -> Binding:
        address = self.address("aws_lambda_function", name)
        function = self.value(block.attributes.get("function_name"))
        function_name = function if isinstance(function, str) else address
        role = self.role_reference(block.attributes.get("role"))
        return Binding(
            function=function_name, role=role, names=(address,),
            origin=Origin(file=str(block.source.path), line=block.line, logical_id=address),
        )

    def role_reference(self, expression: Expression | None) -> str:
        if expression is None:
            return unresolved("role")
        for node in expression.tree.iter_subtrees_topdown():  # type: ignore[no-untyped-call]
            if node.data == "get_attr_expr_term":
                path = traversal(node)
                if path and len(path) >= 3 and path[0] == "aws_iam_role" \
                        and ("aws_iam_role", path[1]) in self.resources:
                    return self.role_key(path[1])
                break
        value = self.value(expression)
        if isinstance(value, str):
            return value
        self.notices.add("terraform-unresolved-role", "a function's role is not resolvable",
                         f"{expression.source.path}:{expression.line}")
        return unresolved(expression.source.snippet(expression.tree))

    # -- policies -----------------------------------------------------------------------

    def managed(self, arn: Any, address: str, block: Block) -> Policy:
        origin = Origin(file=str(block.source.path), line=block.line, logical_id=address)
        if isinstance(arn, PolicyArn):
            policy_block = self.resources[("aws_iam_policy", arn.name)]
            address = self.address("aws_iam_policy", arn.name)
            name = _text(self.value(policy_block.attributes.get("name")), address)
            return self.policy(policy_block.attributes.get("policy"), name, address,
                               policy_block)
        if isinstance(arn, str):
            return managed_policy(arn, origin, self.notices)
        text = arn.text if isinstance(arn, Unknown) else repr(arn)
        self.notices.add("terraform-unresolved-policy-arn",
                         "a managed policy ARN is not resolvable; its grants stay unresolved",
                         f"{block.source.path}:{block.line}: {text}")
        return managed_policy(unresolved(text), origin, self.notices)

    def policy(self, expression: Expression | None, name: str, address: str,
               anchor: Block) -> Policy:
        """A policy argument (jsonencode, heredoc, file(), a policy document) → Policy."""
        file = str(anchor.source.path)
        line = expression.line if expression else anchor.line
        origin = Origin(file=file, line=line, logical_id=address, policy_name=name)
        value = self.value(expression)
        document: Any
        if not within(value, MAX_VALUES):
            self.notices.add("terraform-eval-limit",
                             "expression evaluation past its limits; value left unresolved",
                             f"{file}:{line}")
            value = Unknown(f"{name} (past {MAX_VALUES} values)")
        if isinstance(value, Encoded):
            document = _plain(value.value)
        elif isinstance(value, DocumentRef):
            return Policy(name=name, statements=self.document_statements(
                value.name, name, address, set()), origin=origin)
        elif isinstance(value, HeredocText):
            document = self.json_text(value.text, value.line, origin)
        elif isinstance(value, FileText):
            origin = Origin(file=str(value.path), line=1, logical_id=address, policy_name=name)
            document = self.json_text(value.text, 1, origin)
        elif isinstance(value, str) and not is_unresolved(value):
            document = self.json_text(value, line, origin)
        else:
            document = None
        if not isinstance(document, Mapping):
            text = value.text if isinstance(value, Unknown) else name
            self.notices.add("terraform-unresolved-policy",
                             "a policy document is not resolvable offline; its grants stay "
                             "unresolved", f"{file}:{line}: {text}")
            marker = unresolved(f"policy {text}")
            statement = Statement(effect=ALLOW, actions=(marker,), resources=(marker,),
                                  origin=origin)
            return Policy(name=name, statements=(statement,), origin=origin)
        return Policy(name=name, statements=self.statements(document, name, origin),
                      origin=origin)

    def json_text(self, text: str, first_line: int, origin: Origin) -> Any:
        try:
            document = loads_json(text)
        except LoadError as exc:
            self.notices.add("terraform-bad-policy-json", "a policy is not valid JSON",
                             f"{origin.file}:{first_line + (exc.line or 1) - 1}: {exc}")
            return None
        _shift_lines(document, first_line - 1)
        return _plain(document, from_text=True)

    def statements(self, document: Mapping[str, Any], name: str,
                   origin: Origin) -> tuple[Statement, ...]:
        raw = document.get("Statement")
        items = [raw] if isinstance(raw, Mapping) else raw if isinstance(raw, list) else []
        out = []
        for index, item in enumerate(items):
            parsed = self.statement(item, index, name, origin)
            if parsed is not None:
                out.append(parsed)
        return tuple(out)

    def statement(self, raw: Any, index: int, name: str, origin: Origin) -> Statement | None:
        try:
            return parse_statement(raw, index=index, policy_name=name, origin=origin,
                                   notices=self.notices)
        except UserError as exc:
            # One bad statement is skipped and counted; the rest of the role still counts.
            self.notices.add("terraform-bad-statement", "IAM statement skipped", str(exc))
            return None

    def document_statements(self, data_name: str, policy: str, address: str,
                            seen: set[str]) -> tuple[Statement, ...]:
        """The statements of ``data "aws_iam_policy_document" data_name``."""
        if data_name in seen:
            return ()
        seen.add(data_name)
        block = self.data[("aws_iam_policy_document", data_name)]
        file = str(block.source.path)
        out: list[Statement] = []
        sources = self.value(block.attributes.get("source_policy_documents")) or []
        for item in sources if isinstance(sources, list) else [sources]:
            if isinstance(item, DocumentRef):
                out.extend(self.document_statements(item.name, policy, address, seen))
            else:
                self.notices.add("terraform-unresolved-policy",
                                 "a policy document is not resolvable offline; its grants stay "
                                 "unresolved", f"{file}:{block.line}: source_policy_documents")
        for index, (statement, scope) in enumerate(self.statement_blocks(block)):
            raw = self.document_statement(statement, scope)
            here = Origin(file=file, line=statement.line,
                          logical_id=f"data.aws_iam_policy_document.{data_name}",
                          policy_name=policy)
            parsed = self.statement(raw, index, policy, here)
            if parsed is not None:
                out.append(parsed)
        return tuple(out)

    def statement_blocks(self, document: Block
                         ) -> Iterator[tuple[Block, dict[str, Any] | None]]:
        """A policy document's ``statement`` blocks in order, each ``dynamic "statement"``
        expanded over its ``for_each`` (its ``content`` with the iterator defined)."""
        for block in document.blocks:
            if block.type == "statement":
                yield block, None
                continue
            if block.type != "dynamic" or block.labels != ("statement",):
                continue
            where = f"{block.source.path}:{block.line}"
            contents = block.nested("content")
            items = self.value(block.attributes.get("for_each"))
            iterator = traversal(block.attributes["iterator"].tree) \
                if "iterator" in block.attributes else ["statement"]
            if isinstance(items, Mapping):
                pairs: list[tuple[Any, Any]] = list(items.items())
            elif isinstance(items, list):
                pairs = list(enumerate(items))
            else:
                self.notices.add("terraform-dynamic-block", "dynamic statement blocks whose "
                                 "for_each is not known offline are not expanded", where)
                continue
            if len(contents) != 1 or iterator is None or len(iterator) != 1:
                self.notices.add("terraform-dynamic-block", "a dynamic statement block needs "
                                 "one content block and a plain iterator name", where)
                continue
            if any(b.type == "dynamic" for b in contents[0].blocks):
                self.notices.add("terraform-dynamic-block", "dynamic blocks inside a dynamic "
                                 "statement are not expanded", where)
            for key, item in pairs[:MAX_DYNAMIC_STATEMENTS]:
                yield contents[0], {iterator[0]: {"key": key, "value": item}}

    def document_statement(self, block: Block,
                           scope: dict[str, Any] | None = None) -> LocatedDict:
        """A ``statement { ... }`` block as an IAM JSON statement (``scope``: a dynamic
        block's iterator)."""
        raw = LocatedDict()
        raw.line = block.line
        pairs = (("sid", "Sid"), ("effect", "Effect"), ("actions", "Action"),
                 ("not_actions", "NotAction"), ("resources", "Resource"),
                 ("not_resources", "NotResource"))
        for argument, key in pairs:
            if argument in block.attributes:
                raw[key] = _plain(self.value(block.attributes[argument], scope))
        raw.setdefault("Effect", ALLOW)
        conditions: dict[str, dict[str, Any]] = {}
        for condition in block.nested("condition"):
            test = _plain(self.value(condition.attributes.get("test"), scope))
            variable = _plain(self.value(condition.attributes.get("variable"), scope))
            values = _plain(self.value(condition.attributes.get("values"), scope))
            conditions.setdefault(str(test), {})[str(variable)] = values
        if conditions:
            raw["Condition"] = conditions
        for kind, key in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
            principals: dict[str, Any] = {}
            for principal in block.nested(kind):
                principal_type = _plain(self.value(principal.attributes.get("type"), scope))
                identifiers = _plain(self.value(principal.attributes.get("identifiers"), scope))
                principals[str(principal_type)] = identifiers
            if principals:
                raw[key] = principals
        return raw


def _text(value: Any, fallback: str) -> str:
    return value if isinstance(value, str) and not is_unresolved(value) else fallback


def _plain(value: Any, from_text: bool = False) -> Any:
    """Evaluator values → JSON-like values; what is unknown becomes *unresolved*."""
    if isinstance(value, Unknown):
        return unresolved(value.text)
    if isinstance(value, Encoded):
        return json.dumps(_plain(value.value))
    if isinstance(value, FileText | HeredocText):
        return value.text
    if isinstance(value, DocumentRef | PolicyArn):
        return unresolved(f"{type(value).__name__} {value.name}")
    if isinstance(value, str):
        # A heredoc interpolation left as written (``${aws_x.y.arn}``) is not knowable.
        return unresolved(value) if from_text and "${" in value else value
    if isinstance(value, Mapping):
        out = LocatedDict()
        out.line = getattr(value, "line", None)
        for key, item in value.items():
            out[str(key)] = _plain(item, from_text)
        return out
    if isinstance(value, list):
        return [_plain(item, from_text) for item in value]
    return value


def _shift_lines(value: Any, offset: int) -> None:
    if offset == 0:
        return
    if isinstance(value, LocatedDict) and value.line is not None:
        value.line += offset
    if isinstance(value, Mapping):
        for item in value.values():
            _shift_lines(item, offset)
    elif isinstance(value, list):
        for item in value:
            _shift_lines(item, offset)
