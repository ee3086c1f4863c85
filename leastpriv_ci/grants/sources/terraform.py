"""Terraform ``.tf`` files: IAM roles, their policies, and the Lambda functions using them.

A ``.tf`` file is read with the other ``.tf`` files of its folder (its module) as
context, so references across files resolve; each file yields the roles and functions
*declared in it*, with every policy attached to them anywhere in the module. A module
that the repository calls by a local path (``source = "./modules/fn"``) is read once per
chain of calls reaching it, its variables given the call's arguments (evaluated in the
calling module, read the same way); a call or a resource with a ``count`` or ``for_each``
known offline, once per instance. Reads
``aws_iam_role`` (``inline_policy``, ``managed_policy_arns``, ``permissions_boundary``),
``aws_iam_role_policy``, ``aws_iam_policy`` + ``aws_iam_role_policy_attachment`` /
``aws_iam_policy_attachment``, ``data "aws_iam_policy_document"`` (``dynamic
"statement"`` blocks expanded), and the compute resources running as a role
(``data/compute_roles.yaml``: ``aws_lambda_function.role``,
``aws_ecs_task_definition.task_role_arn``, never its ``execution_role_arn``, ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from lark import Tree

from leastpriv_ci import bundled
from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.checkout import (
    checkout_root,
    inside,
    repository_root,
)
from leastpriv_ci.grants.compute import (
    INSTANCE_PROFILE,
    ComputeType,
    launch_users,
    profile_name_of,
    terraform_profile_users,
    terraform_types,
)
from leastpriv_ci.grants.deliveries import function_name_of
from leastpriv_ci.grants.hcl import (
    EVAL_LIMIT,
    EVAL_LIMIT_TEXT,
    Block,
    Evaluator,
    Expression,
    FileText,
    HclFile,
    HeredocText,
    Spent,
    descend,
    index_text,
    traversal,
)
from leastpriv_ci.grants.hcl_parser import line as line_of_tree
from leastpriv_ci.grants.hcl_values import (
    MAX_VALUES,
    Absent,
    Encoded,
    Unknown,
    known_keys,
    pairs_of,
    within,
)
from leastpriv_ci.grants.managed import bundled_policies, managed_policy
from leastpriv_ci.grants.model import Binding, Delivery, GrantSet, ResolveContext
from leastpriv_ci.grants.optional_fields import FIELD, OptionalField, optional_fields, split_field
from leastpriv_ci.grants.references import role_arn
from leastpriv_ci.grants.resource_policies import (
    SELF,
    Permission,
    ResourceGrants,
    ResourcePolicyType,
    resource_policy_types,
)
from leastpriv_ci.grants.terraform_files import (
    called_folder,
    calls_of,
    local_source,
    module_calls,
    module_files,
    module_paths,
    parsed,
    text_of,
)
from leastpriv_ci.grants.terraform_modules import downloaded_folder
from leastpriv_ci.grants.undecided import under
from leastpriv_ci.loaders import LoadError, LocatedDict, loads_json
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import ALLOW, Policy, Role, Statement, is_unresolved, unresolved
from leastpriv_ci.policy.parse import parse_statement
from leastpriv_ci.records import Origin

NAME = "terraform"
MAX_MODULE_CALLS = 200  # instances of one module read
MAX_DYNAMIC_STATEMENTS = 1000  # statements one dynamic block expands to
MAX_INSTANCES = 1000  # instances one resource with count/for_each expands to
MAX_MODULE_DEPTH = 4  # modules deep whose outputs are read
MAX_MODULES_READ = 400  # modules one load reads to follow outputs (calls: MAX_MODULE_CALLS)
MAX_NESTING = 40  # references evaluated one inside the other (Python's stack)
MAX_STATEMENTS = 20_000  # statements one load builds
MAX_ATTACHED = 100_000  # statements one load puts in roles
MAX_SOURCE_DOCUMENTS = 50  # policy documents one policy's source_policy_documents reach
COUNT_NOT_EXPANDED = "terraform-count-not-expanded"
COUNT_NOT_EXPANDED_TEXT = (
    "module calls and resources whose count or for_each is not known offline are read "
    "once, not per instance; scan a plan (terraform show -json) for every instance")
LAMBDA_FUNCTION = "aws_lambda_function"
# The argument naming the role(s) a policy or attachment resource applies to.
_ROLE_ARGUMENT = {
    "aws_iam_role_policy": "role",
    "aws_iam_role_policy_attachment": "role",
    "aws_iam_policy_attachment": "roles",
}


@cache
def _declares() -> re.Pattern[str]:
    """Files declaring none of these yield nothing (roles, their policies, compute)."""
    compute = "|".join(map(re.escape, terraform_types()))
    return re.compile(rf'resource\s+"?(aws_iam_role\w*|aws_iam_policy_attachment|{compute})"?\s')


_PRINCIPAL = re.compile("principal", re.IGNORECASE)  # Principal, principals { … }


def _names_principals(text: str) -> bool:
    """Whether a file declares a resource-based policy (``data/resource_policies.yaml``)
    that may name a principal: read for the roles of other files it names."""
    return bool(_policy_holders().search(text)) and bool(_PRINCIPAL.search(text))


@cache
def _policy_holders() -> re.Pattern[str]:
    kinds = "|".join(map(re.escape, resource_policy_types("terraform")))
    return re.compile(rf'resource\s+"?(?:{kinds})"?\s')


@cache
def _read_types() -> re.Pattern[str]:
    """The resource types this source reads."""
    compute = "|".join(map(re.escape, terraform_types()))
    return re.compile(rf"aws_iam_role\w*|aws_iam_polic\w*|(?:{compute})\Z")


def _at_call(grants: GrantSet, folder: Path, caller: Path, line: int) -> GrantSet:
    """What a downloaded module declares, pointed at the call that downloads it: the
    module's files are not the pull request's (``.terraform`` is not committed), the
    call's arguments are. Addresses (``module.fn.aws_iam_role.lambda``) still name it."""
    def fix(origin: Origin) -> Origin:
        if origin.file and Path(origin.file).resolve().is_relative_to(folder):
            return replace(origin, file=str(caller), line=line)
        return origin
    return grants.with_origins(fix)


def detect(path: Path) -> bool:
    """``*.tf`` by suffix."""
    return path.suffix.lower() == ".tf"


def load(path: Path, context: ResolveContext, notices: Notices) -> GrantSet:
    """Roles and functions declared in ``path``, resolved against its whole module, and
    those of the registry or git modules it calls that ``terraform init`` downloaded (which
    discovery does not find: they lie under ``.terraform``)."""
    return _load(path, context, notices, frozenset(), {})


def _load(path: Path, context: ResolveContext, notices: Notices,
          seen: frozenset[Path], loaded: dict[Path, GrantSet]) -> GrantSet:
    """``load``; ``seen``: the downloaded folders on the way here, ``loaded``: the
    downloaded files this load has read (each is read once: modules may call each other
    in any number of ways)."""
    text = text_of(path)
    repository = repository_root(path)
    downloaded = GrantSet()
    for call in calls_of(path):
        if local_source(call) is not None:
            continue
        folder = downloaded_folder(path, call.labels[0], repository)
        if folder is None:
            notices.add("terraform-module-not-followed",
                        "modules from a registry or another remote source are followed only "
                        "once terraform init has downloaded them (its .terraform/modules is "
                        "read); run it before the scan, or scan a plan (terraform show -json)",
                        f"{path}:{call.line} module.{call.labels[0]}")
        elif folder not in seen and len(seen) < MAX_MODULE_DEPTH:
            for module_file in module_paths(folder, repository, notices):
                if module_file not in loaded:
                    if len(loaded) >= MAX_MODULES_READ:
                        notices.add(EVAL_LIMIT, f"more than {MAX_MODULES_READ} downloaded "
                                    "module files; the rest are not read", str(module_file))
                        break
                    loaded[module_file] = GrantSet()  # while it is read: a cycle ends here
                    loaded[module_file] = _load(module_file, context, notices,
                                                seen | {folder}, loaded)
                downloaded = downloaded.merged(
                    _at_call(loaded[module_file], folder, path, call.line))
    if not _declares().search(text) and not _names_principals(text):
        # Nothing here can yield a role, a function or a resource policy naming a role;
        # the module is parsed only for the files that do (HCL parses at ~0.25 MB/s).
        return GrantSet(files=(str(path),)).merged(downloaded)
    target = parsed(path)  # a syntax error in the file itself is the user's to fix
    siblings = module_files(path.parent, repository, notices, target)
    readings = _readings(path.parent, siblings, repository, context, notices, Budget())
    if len(readings) > MAX_MODULE_CALLS:
        notices.add("terraform-module-calls-capped",
                    f"a module called more than {MAX_MODULE_CALLS} times is read for its first "
                    f"{MAX_MODULE_CALLS} calls", str(path.parent))
    grants = GrantSet(files=(str(path),))
    for module in readings[:MAX_MODULE_CALLS]:  # each call's instances of the same file
        grants = grants.merged(replace(module.grants(target), files=()))
    return grants.merged(downloaded)


def _readings(folder: Path, files: list[HclFile], repository: Path, context: ResolveContext,
              notices: Notices, budget: Budget, depth: int = 0) -> list[Module]:
    """The module in ``folder`` as it is read: once per chain of local module calls that
    reaches it from a module nobody calls (its variables given each call's arguments,
    evaluated in the calling module read the same way), and per instance of a call with a
    ``count`` or ``for_each`` known offline; or once as it is when nothing in the checkout
    calls it. Chains end MAX_MODULE_DEPTH calls up; there are at most MAX_MODULE_CALLS + 1
    readings (the caller reports a cut)."""
    calls = module_calls(repository).get(folder.resolve(), [])
    if not calls or depth >= MAX_MODULE_DEPTH:
        return [Module(files, folder, context, notices, budget=budget)]
    readings: list[Module] = []
    callers: dict[Path, list[Module]] = {}
    for path, call in calls:
        if path.parent not in callers:
            callers[path.parent] = _readings(
                path.parent, module_files(path.parent, repository, notices), repository,
                context, notices, budget, depth + 1)
        for caller in callers[path.parent]:
            for instance in caller.call_instances(call):
                readings.append(Module(
                    files, folder, context, notices,
                    prefix=f"{caller.prefix}module.{call.labels[0]}{_index(instance.key)}.",
                    caller=Caller(caller, call, instance), budget=budget))
                if len(readings) > MAX_MODULE_CALLS:
                    return readings
    return readings


@cache
def _arn_table() -> Mapping[str, Any]:
    table: Mapping[str, Any] = bundled.load("terraform_arns.json")
    return table


@cache
def _optional_arguments() -> Mapping[str, OptionalField]:
    return optional_fields(_arn_table()["optional"])


@dataclass(frozen=True)
class DocumentRef:
    """``data.aws_iam_policy_document.NAME.json`` of the module ``owner`` (the value may
    travel to another module as an argument or an output)."""

    name: str
    owner: Module = field(compare=False, repr=False)
    instance: Instance | None = field(default=None, compare=False)  # of a repeated document


# What each resource type's destination_config holds: (block, delivery kind, attribute)
_DESTINATIONS: Mapping[str, tuple[tuple[str, str, str], ...]] = {
    "aws_lambda_function_event_invoke_config": (("on_failure", "on-failure", "destination"),
                                                ("on_success", "on-success", "destination")),
    "aws_lambda_event_source_mapping": (("on_failure", "source-on-failure",
                                         "destination_arn"),),
}


@dataclass(frozen=True)
class PolicyArn:
    """``aws_iam_policy.NAME.arn``: the policy's document is in the module ``owner``."""

    name: str
    key: str | int | None  # the instance, for a policy with count/for_each
    owner: Module = field(compare=False, repr=False)


@dataclass(frozen=True)
class ManagedRef:
    """``data.aws_iam_policy.NAME.policy``: the document of the managed policy ``arn``
    (a bundled AWS managed policy, or read from IAM with credentials, as attached ones)."""

    arn: str


@dataclass
class Budget(Spent):
    """What one load may spend across every module it reads: a pull request can nest and
    multiply modules, references, instances and statements at will."""

    modules: int = 0  # modules read to follow an output
    nesting: int = 0  # references being evaluated, one inside the other, across modules
    statements: int = 0  # statements built
    attached: int = 0  # statements in the roles' policies (a document may serve many)

    def spend(self, notices: Notices, what: str, where: str) -> None:
        notices.add(EVAL_LIMIT, EVAL_LIMIT_TEXT, f"{where}: {what}")


class Instance(NamedTuple):
    """One instance of a resource: ``key`` is its ``for_each`` key or ``count`` index
    (None: not repeated, or repeated over what is not known offline); ``scope`` defines
    ``each``/``count`` while its arguments are evaluated."""

    key: str | int | None
    scope: dict[str, Any] | None


SINGLE = Instance(None, None)


def _index(key: str | int | None) -> str:
    """An instance's index in its address: ``[0]``, ``["key"]``, or nothing."""
    return "" if key is None else f"[{key}]" if isinstance(key, int) else f'["{key}"]'


class Caller(NamedTuple):
    """What calls one reading of a module: the calling module, its ``module`` block, and
    the instance of that call (its ``count.index`` or ``each``) the reading is."""

    module: Module
    block: Block
    instance: Instance = SINGLE


class Attachment(NamedTuple):
    """A policy or attachment resource instance naming a role instance, under the
    conditions (``c ? a : b`` with ``c`` not known offline: its text → the value that
    names this role) it names it under."""

    kind: str
    name: str
    block: Block
    instance: Instance
    conditions: tuple[tuple[str, bool], ...] = ()


@dataclass
class Module:
    """The ``.tf`` files of one folder, indexed, with a reference resolver; read as one
    call's instance (``caller``), its variables take the call's arguments."""

    files: list[HclFile]
    folder: Path
    context: ResolveContext
    notices: Notices
    prefix: str = ""  # "module.NAME." for an instance read with its caller's arguments
    caller: Caller | None = None  # the calling module, its module block, the instance
    depth: int = 0  # modules above this one whose outputs are being read
    budget: Budget = field(default_factory=Budget)  # shared by the modules one load reads
    resources: dict[tuple[str, str], Block] = field(default_factory=dict)
    data: dict[tuple[str, str], Block] = field(default_factory=dict)
    variables: dict[str, Block] = field(default_factory=dict)
    locals: dict[str, Expression] = field(default_factory=dict)
    _active: set[str] = field(default_factory=set)
    _evaluator: Evaluator | None = None
    _attachments: dict[tuple[str, str | int | None], list[Attachment]] | None = None
    # Attachments in the file read naming, by name, a role another module declares
    _elsewhere: list[tuple[str, Attachment]] = field(default_factory=list)
    _values: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    _instances: dict[tuple[str, str], list[Instance]] = field(default_factory=dict)
    _keyed: dict[tuple[str, str], dict[str, Instance]] = field(default_factory=dict)
    outputs: dict[str, Expression] = field(default_factory=dict)
    calls: dict[str, Block] = field(default_factory=dict)
    _children: dict[tuple[str, str | None], Module | None] = field(default_factory=dict)
    _documents: dict[tuple[str, str | int | None, str], tuple[Statement, ...]] = field(
        default_factory=dict)

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
                elif block.type == "output" and len(block.labels) == 1 \
                        and "value" in block.attributes:
                    self.outputs.setdefault(block.labels[0], block.attributes["value"])
                elif block.type == "module" and len(block.labels) == 1:
                    self.calls.setdefault(block.labels[0], block)

    @property
    def evaluator(self) -> Evaluator:
        if self._evaluator is None:
            self._evaluator = Evaluator(self.resolve, self.folder, self.notices.add,
                                        spent=self.budget, splat=self.splat)
        return self._evaluator

    def value(self, expression: Expression | None, scope: dict[str, Any] | None = None) -> Any:
        if expression is None:
            return None
        budget = self.budget
        if budget.nesting >= MAX_NESTING:
            budget.spend(self.notices, "references nested too deep",
                         f"{expression.source.path}:{expression.line}")
            return Unknown(expression.source.snippet(expression.tree))
        budget.nesting += 1
        try:
            return self.evaluator.value(expression, scope)
        finally:
            budget.nesting -= 1

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
            caller = self.caller
            argument = caller.block.attributes.get(path[1]) if caller else None
            if caller is not None and argument is not None:
                memo = ("var", path[1], "")  # evaluated once, however often it is read
                if memo not in self._values:
                    self._values[memo] = caller.module.value(argument, caller.instance.scope)
                return descend(self._values[memo], path[2:], spelled)
            if f"var.{path[1]}" in self.context.parameters:
                # The scan's parameters, where no call gives the variable: a module repository
                # is the root it is scanned as, even when its examples call it.
                return descend(self.context.parameters[f"var.{path[1]}"], path[2:], spelled)
            block = self.variables.get(path[1])
            default = block.attributes.get("default") if block else None
            if default is None:
                self.notices.add("terraform-variable-without-default",
                                 "a variable has no default; its value stays unresolved "
                                 "(pass it in the parameters)", spelled)
                return Unknown(spelled)
            return descend(self.value(default), path[2:], spelled)
        if head == "local" and len(path) >= 2 and path[1] in self.locals:
            memo = ("local", path[1], "")
            if memo not in self._values:
                self._values[memo] = self.value(self.locals[path[1]])
            return descend(self._values[memo], path[2:], spelled)
        if head == "module" and len(path) >= 2:
            return self._module_value(path, spelled)
        if head == "path" and len(path) == 2 and path[1] in ("module", "root", "cwd"):
            return str(self.folder.resolve())
        if head == "data" and len(path) >= 4:
            return self._data(path[1], path[2], path[3:], spelled)
        if len(path) >= 3 and (path[0], path[1]) in self.resources:
            return self._attribute(path[0], path[1], path[2], path[3:], spelled)
        return Unknown(spelled)

    def _module_value(self, path: list[str], spelled: str) -> Any:
        """``module.NAME.OUT``; for a call with ``count``/``for_each``, ``module.NAME[KEY]
        .OUT``, an instance ``module.NAME[KEY]`` (an object of its outputs), or the whole
        ``module.NAME`` (a list by index, or a map by key, of those objects)."""
        call = self.calls.get(path[1])
        if call is None:
            return Unknown(spelled)
        if "count" not in call.attributes and "for_each" not in call.attributes:
            child = self.child(path[1])
            return self._output(child, path[1], None, path[2:], spelled)
        if len(path) >= 3:
            return self._output(self.child(path[1], path[2]), path[1], path[2], path[3:],
                                spelled)
        instances = [i for i in self._expand(call) if i is not SINGLE]
        if not instances:
            return Unknown(spelled)
        whole = {str(i.key): self._output(self.child(path[1], str(i.key)), path[1],
                                          str(i.key), [], spelled) for i in instances}
        return list(whole.values()) if "count" in call.attributes else whole

    def _output(self, child: Module | None, name: str, step: str | None, path: list[str],
                spelled: str) -> Any:
        """Output ``path[0]`` of a called module (then ``path[1:]`` into it); with no
        ``path``, an object of all its outputs."""
        if child is None or (path and path[0] not in child.outputs):
            return Unknown(spelled)
        wanted = path[:1] or list(child.outputs)
        for output in wanted:
            memo = ("module", f"{name}[{step}]", output)
            if memo not in self._values:
                self._values[memo] = child.value(child.outputs[output])
        if not path:
            return {output: self._values[("module", f"{name}[{step}]", output)]
                    for output in wanted}
        return descend(self._values[("module", f"{name}[{step}]", path[0])], path[1:], spelled)

    def child(self, name: str, step: str | None = None) -> Module | None:
        """The module this one calls as ``name`` by a local path, read with the call's
        arguments, to read its outputs: its instance ``step`` (a ``for_each`` key or
        ``count`` index known offline) when the call is repeated. None: no such call or
        instance, a remote source, outside the checkout, or past MAX_MODULE_DEPTH modules
        deep."""
        memo = (name, step)
        if memo not in self._children:
            call = self.calls.get(name)
            repository = checkout_root(self.folder)
            folder = called_folder(call, call.source.path, repository) \
                if call is not None else None
            self._children[memo] = None
            instance = self._call_instance(call, step) if call is not None else None
            if call is not None and folder is not None and instance is not None \
                    and self.depth < MAX_MODULE_DEPTH and folder.is_dir() \
                    and inside(folder, repository):
                if self.budget.modules >= MAX_MODULES_READ:
                    self.budget.spend(self.notices, f"more than {MAX_MODULES_READ} modules",
                                      f"{call.source.path}:{call.line}")
                    return None
                self.budget.modules += 1
                self._children[memo] = Module(
                    module_files(folder, repository, self.notices), folder, self.context,
                    self.notices, prefix=f"{self.prefix}module.{name}{_index(instance.key)}.",
                    caller=Caller(self, call, instance), depth=self.depth + 1,
                    budget=self.budget)
        return self._children[memo]

    def _call_instance(self, call: Block, step: str | None) -> Instance | None:
        """The instance ``step`` of a module call (SINGLE for a call not repeated; None
        for a repeated call without ``step``, or an instance not known offline)."""
        repeated = "count" in call.attributes or "for_each" in call.attributes
        if not repeated:
            return SINGLE if step is None else None
        if step is None:
            return None
        return next((i for i in self._expand(call) if i is not SINGLE and str(i.key) == step),
                    None)

    def _data(self, kind: str, name: str, rest: list[str], spelled: str) -> Any:
        if (kind, name) not in self.data:
            return Unknown(spelled)
        instance: Instance | None = SINGLE
        block = self.data[(kind, name)]
        if "count" in block.attributes or "for_each" in block.attributes:
            instances = self.data_instances(kind, name)
            if instances == [SINGLE]:
                return Unknown(spelled)  # its count or for_each is not known offline
            instance = next((i for i in instances if str(i.key) == rest[0]), None)
            if instance is None:
                return Absent(spelled)
            rest = rest[1:]
            if not rest:
                return Unknown(spelled)
        if kind == "aws_iam_policy_document" and rest in (["json"], ["minified_json"]):
            return DocumentRef(name, self, instance)
        if kind == "aws_iam_policy" and rest in (["policy"], ["arn"], ["id"]):
            arn = self._data_policy_arn(block, instance or SINGLE)
            if arn is None:
                return Unknown(spelled)
            return ManagedRef(arn) if rest == ["policy"] else arn
        template = _arn_table()["data"].get(kind, {}).get(rest[0])
        if template is not None:
            return template.format_map(self.context.location())
        return Unknown(spelled)

    def _data_policy_arn(self, block: Block, instance: Instance) -> str | None:
        """The ARN a ``data "aws_iam_policy"`` finds: its ``arn``, or an AWS managed policy
        by ``name`` (and ``path_prefix``) when it is bundled. Terraform looks the name up
        among every policy and fails on two matches, so a name AWS manages is that one."""
        arn = self.value(block.attributes.get("arn"), instance.scope)
        if isinstance(arn, str) and arn.startswith("arn:") and not is_unresolved(arn):
            return arn
        name = self.value(block.attributes.get("name"), instance.scope)
        prefix = self.value(block.attributes.get("path_prefix"), instance.scope) or "/"
        known = bundled_policies().get(name) if isinstance(name, str) else None
        if known is None or not isinstance(prefix, str) or not str(known["Path"]).startswith(
                prefix):
            return None
        return f"arn:{self.context.partition}:iam::aws:policy{known['Path']}{name}"

    def _attribute(self, kind: str, name: str, attribute: str, rest: list[str],
                   spelled: str) -> Any:
        block = self.resources[(kind, name)]
        instance = self.instance(kind, name, attribute)
        if instance is None:  # its count or for_each is known, and makes no such instance
            return Absent(spelled)
        if instance.key is not None:  # repeated: the step after the name is the instance key
            if not rest:
                return Unknown(spelled)
            attribute, rest = rest[0], rest[1:]
        if kind == "aws_iam_policy" and attribute in ("arn", "id") and not rest:
            return PolicyArn(name, instance.key, self)
        if attribute in block.attributes:
            memo = (kind, f"{name}[{instance.key}]", attribute)
            if memo not in self._values:
                self._values[memo] = self.value(block.attributes[attribute], instance.scope)
            return descend(self._values[memo], rest, spelled)
        known = _arn_table()["types"].get(kind)
        template = known["attrs"].get(attribute) if known else None
        if template is None:
            return Unknown(spelled)
        resource_name = self.value(block.attributes.get(known["name"]), instance.scope)
        if not isinstance(resource_name, str) or is_unresolved(resource_name):
            return Unknown(spelled)
        location = self.context.location()
        values = {"name": resource_name, "lowercase_name": resource_name.lower(),
                  "slash": "" if resource_name.startswith("/") else "/"}
        for placeholder in FIELD.findall(template):
            if placeholder in values or placeholder in location:
                continue
            part = self._part(block, instance, *split_field(placeholder), location)
            if part is None:
                return Unknown(spelled)
            values[placeholder] = part
        return descend(template.format_map({**location, **values}), rest, spelled)

    def _part(self, block: Block, instance: Instance, argument: str, separator: str,
              location: Mapping[str, str]) -> str | None:
        """What ``{argument}`` or ``{argument/}`` stands for in an attribute's template
        (``data/terraform_arns.json``): the argument's value, else its ``defaults`` entry;
        an optional part as its ``optional`` rule reads it. None: not known offline, or
        naming another account or Region."""
        value = self.value(block.attributes.get(argument), instance.scope)
        if value is None:  # unset, or null: the provider's default
            return "" if separator else _arn_table()["defaults"].get(argument)
        if not isinstance(value, str) or is_unresolved(value):
            return None
        if separator:
            return _optional_arguments()[argument].part(value, separator, location)
        return value

    # -- instances (count, for_each) -----------------------------------------------------

    def instances(self, kind: str, name: str) -> list[Instance]:
        """The instances of a resource: one per ``for_each`` key or ``count`` index when
        those are known offline, else the resource read once."""
        found = self._instances.get((kind, name))
        if found is None:
            found = self._instances[(kind, name)] = self._expand(self.resources[(kind, name)])
        return found

    def data_instances(self, kind: str, name: str) -> list[Instance]:
        """The instances of ``data "kind" "name"``, as for a resource."""
        found = self._instances.get((f"data.{kind}", name))
        if found is None:
            found = self._instances[(f"data.{kind}", name)] = self._expand(
                self.data[(kind, name)])
        return found

    def _expand(self, block: Block) -> list[Instance]:
        if "for_each" in block.attributes:
            items = self.value(block.attributes["for_each"])
            if isinstance(items, Mapping) and known_keys(items):
                pairs: list[tuple[str, Any]] = [(str(k), v) for k, v in items.items()]
            elif isinstance(items, list) and all(isinstance(v, str) for v in items):
                pairs = [(v, v) for v in dict.fromkeys(items)]  # a set of strings
            else:
                return [SINGLE]
            return [Instance(key, {"each": {"key": key, "value": value}})
                    for key, value in pairs[:MAX_INSTANCES]]
        if "count" in block.attributes:
            count = self.value(block.attributes["count"])
            if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
                return [Instance(index, {"count": {"index": index}})
                        for index in range(min(count, MAX_INSTANCES))]
            return [SINGLE]
        return [SINGLE]

    def splat(self, path: list[str]) -> list[list[str]] | Unknown | None:
        """The references a splat over ``path`` spans when it names a resource
        (``aws_sqs_queue.q[*]``): one per ``count`` instance, or the resource itself when
        it is not repeated. A resource with ``for_each`` is a map, which Terraform does not
        splat, and a ``count`` not known offline is not guessed: both stay unknown. None:
        ``path`` is no resource."""
        if len(path) not in (2, 3) or (path[0], path[1]) not in self.resources:
            return None
        block = self.resources[(path[0], path[1])]
        repeated = "count" in block.attributes or "for_each" in block.attributes
        instances = self.instances(path[0], path[1])
        if len(path) == 3:  # one instance, splatted as a list of it
            instance = self.instance(path[0], path[1], path[2]) if repeated else None
            return [path] if instance is not None else Unknown(".".join(path))
        if not repeated:
            return [path]
        if "for_each" in block.attributes or instances == [SINGLE]:
            return Unknown(".".join(path))
        return [[*path, str(i.key)] for i in instances]

    def call_instances(self, call: Block) -> list[Instance]:
        """The instances of a module call this module makes: one per ``count`` index or
        ``for_each`` key known offline, else the call read once (and said so)."""
        instances = self._expand(call)
        if instances == [SINGLE] and ("count" in call.attributes
                                      or "for_each" in call.attributes):
            self.notices.add(COUNT_NOT_EXPANDED, COUNT_NOT_EXPANDED_TEXT,
                             f"{call.source.path}:{call.line} {self.prefix}module.{call.labels[0]}")
        return instances

    def instance(self, kind: str, name: str, step: str) -> Instance | None:
        """The instance a reference names: ``step`` is the instance key of a repeated
        resource (None when no instance has it), else already the attribute."""
        instances = self.instances(kind, name)
        if instances == [SINGLE]:
            return SINGLE
        keyed = self._keyed.get((kind, name))
        if keyed is None:  # looked up once per reference: splats read every instance
            keyed = self._keyed[(kind, name)] = {str(i.key): i for i in reversed(instances)}
        return keyed.get(step)  # none for count = 0

    def reference(self, tree: Tree[Any], scope: dict[str, Any] | None,
                  source: HclFile) -> list[str] | None:
        """A reference's path, its indexes (``[each.key]``) evaluated in ``scope``."""
        def index(node: Tree[Any]) -> str | None:
            return index_text(self.value(Expression(node, line_of_tree(node), source), scope))
        return traversal(tree, index)

    def reachable(self, expression: Expression, scope: dict[str, Any] | None
                  ) -> list[tuple[Tree[Any], tuple[tuple[str, bool], ...]]]:
        """Every node of the expression its conditionals (``c ? a : b``, at any depth) can
        reach, top-down: the branch of one whose condition is known, both branches of one
        whose condition is not. Each node comes with the undecided conditions (their text
        → the value taken) it is reached under; no condition's own nodes are reached."""
        found: list[tuple[Tree[Any], tuple[tuple[str, bool], ...]]] = []
        pending: list[tuple[Tree[Any], tuple[tuple[str, bool], ...]]] = [
            (expression.tree, ())]
        while pending:
            tree, conditions = pending.pop()
            inner = [c for c in tree.children if isinstance(c, Tree)
                     and c.data != "new_line_or_comment"]
            if tree.data != "conditional" or len(inner) != 3:
                found.append((tree, conditions))
                pending += [(child, conditions) for child in reversed(inner)]
                continue
            condition = self.value(Expression(inner[0], expression.line, expression.source),
                                   scope)
            text = " ".join(expression.source.snippet(inner[0]).split())
            if not isinstance(condition, bool):
                # nested under the same condition, its value is the one already taken
                condition = dict(conditions).get(text)
            if isinstance(condition, bool):
                pending.append((inner[1] if condition else inner[2], conditions))
                continue
            pending += [(inner[2], (*conditions, (text, False))),
                        (inner[1], (*conditions, (text, True)))]
        return found

    def role_named(self, tree: Tree[Any], scope: dict[str, Any] | None,
                   source: HclFile) -> tuple[str, Instance] | None:
        """The role instance ``aws_iam_role.NAME[KEY].attr`` refers to, if it is one."""
        path = self.reference(tree, scope, source)
        if not path or len(path) < 3 or path[0] != "aws_iam_role" \
                or ("aws_iam_role", path[1]) not in self.resources:
            return None
        instance = self.instance("aws_iam_role", path[1], path[2])
        return None if instance is None else (path[1], instance)

    def roles_splatted(self, tree: Tree[Any], scope: dict[str, Any] | None,
                       source: HclFile) -> list[tuple[str, str | int | None]]:
        """The role instances ``aws_iam_role.NAME[*].attr`` spans (none when it is no
        splat over a role, or spans what is not known offline)."""
        operand = next((c for c in tree.children if isinstance(c, Tree)), None)
        path = self.reference(operand, scope, source) if operand is not None else None
        if not path or path[0] != "aws_iam_role":
            return []
        references = self.splat(path)
        if not isinstance(references, list):
            return []
        roles: list[tuple[str, str | int | None]] = []
        for reference in references:
            instance = SINGLE if len(reference) == 2 \
                else self.instance("aws_iam_role", reference[1], reference[2])
            if instance is not None:
                roles.append((reference[1], instance.key))
        return roles

    # -- grants -------------------------------------------------------------------------

    def grants(self, target: HclFile) -> GrantSet:
        roles: dict[str, Role] = {}
        bindings: list[Binding] = []
        service_roles: set[str] = set()
        self._unexpanded(target)
        self.attachments(target)  # warns about policies for roles the module lacks
        for (kind, name), block in self.resources.items():
            compute = terraform_types().get(kind)
            if block.source is not target or (kind != "aws_iam_role" and compute is None):
                continue
            for instance in self.instances(kind, name):
                if compute is None:
                    role = self.role(name, block, instance)
                    roles[role.key] = role
                else:
                    # unset or null (a module variable defaulting to null): no role
                    named = block.attributes.get(compute.role)
                    if named is not None and self.value(named, instance.scope) is not None:
                        bindings.append(self.binding(compute, name, block, instance))
                    service_roles.update(self.service_role(compute, block, instance))
        attached = tuple((role, self.attached(attachment))
                         for role, attachment in self._elsewhere)
        return self.resource_grants(roles).onto(GrantSet(
            roles=roles, bindings=tuple(bindings), files=(str(target.path),),
            attached=attached, service_roles=frozenset(service_roles)))

    def resource_grants(self, roles: Mapping[str, Role]) -> ResourceGrants:
        """The Allow statements of the module's resource-based policies
        (``data/resource_policies.yaml``) naming one of ``roles`` by its ARN (a role whose
        name is not known offline is named by no ARN), per role key; those naming another
        role of the account, per its name. Read after the roles, and without warnings:
        nobody asked the scan about them."""
        granted = ResourceGrants.empty()
        types = resource_policy_types("terraform")
        with self.notices.unheard():
            for (kind, name), block in self.resources.items():
                found = types.get(kind)
                if found is None or (found.permission is None
                                     and found.document[0] not in block.attributes):
                    continue
                for instance in self.instances(kind, name):
                    address = self.address(kind, name, instance)
                    policy = self._permission(found, found.permission, address, block,
                                              instance) if found.permission else \
                        self._policy(block.attributes[found.document[0]], found.kind,
                                     address, block, instance.scope)
                    star = self._star(found, kind, name, block, instance)
                    for statement in policy.statements:
                        granted.add(statement, roles, self.context.account, star, replace(
                            statement.origin, logical_id=address, policy_name=found.kind))
        return granted

    def _star(self, found: ResourcePolicyType, kind: str, name: str, block: Block,
              instance: Instance) -> str:
        """What a resource policy's Resource ``*`` stands for (an unresolved marker when
        that is not known offline)."""
        value: Any = None
        if found.star == SELF:
            step = [] if instance.key is None else [str(instance.key)]
            value = self.resolve([kind, name, *step, "arn"], self.evaluator)
        elif found.star is not None:
            value = self.value(block.attributes.get(found.star), instance.scope)
        qualifier = block.attributes.get(found.qualifier or "")
        return found.star_arn(value, self.context.location(), None if qualifier is None
                              else _plain(self.value(qualifier, instance.scope)))

    def _permission(self, found: ResourcePolicyType, permission: Permission, address: str,
                    block: Block, instance: Instance) -> Policy:
        """The policy a permission's arguments write (``data/resource_policies.yaml``)."""
        origin = Origin(file=str(block.source.path), line=block.line, logical_id=address,
                        policy_name=found.kind)
        values = {name: _plain(self.value(block.attributes[name], instance.scope))
                  for name in permission.properties if name in block.attributes}
        return Policy(name=found.kind, origin=origin, statements=self.statements(
            permission.document(values, block.line), found.kind, origin))

    def service_role(self, compute: ComputeType, block: Block, instance: Instance
                     ) -> list[str]:
        """The key of the role the resource hands to an AWS service for its own use (a
        task definition's ``execution_role_arn``), when it names one: as a binding's role
        may be named (a reference, a caller's role through a variable, a name or ARN)."""
        expression = block.attributes.get(compute.service_role or "")
        if expression is None:
            return []
        reachable = self.reachable(expression, instance.scope)
        found = [self.role_key(*named) for node, _ in reachable
                 if node.data == "get_attr_expr_term"
                 and (named := self.role_named(node, instance.scope, expression.source))]
        value = None if found else self.value(expression, instance.scope)
        if isinstance(value, str) and value and not is_unresolved(value):
            found.append(value if value.startswith("arn:") else self.role_by_name(value))
        return found

    def _unexpanded(self, target: HclFile) -> None:
        """Say where the file uses ``count``/``for_each`` that is not known offline on a
        resource this source reads: it is read once (a plan JSON has every instance)."""
        for block in target.blocks:
            where = f"{target.path}:{block.line}"
            if (block.type == "resource" and len(block.labels) == 2
                    and _read_types().match(block.labels[0])
                    and ("count" in block.attributes or "for_each" in block.attributes)
                    and self.instances(block.labels[0], block.labels[1]) == [SINGLE]):
                self.notices.add(COUNT_NOT_EXPANDED, COUNT_NOT_EXPANDED_TEXT,
                                 f"{where} {self.prefix}{'.'.join(block.labels)}")

    def role_key(self, name: str, instance: Instance = SINGLE) -> str:
        block = self.resources[("aws_iam_role", name)]
        role_name = self.value(block.attributes.get("name"), instance.scope)
        if isinstance(role_name, str) and not is_unresolved(role_name):
            path = self.value(block.attributes.get("path"), instance.scope)
            return role_arn(self.context, role_name, path if isinstance(path, str) else "/")
        return self.address("aws_iam_role", name, instance)

    def role_by_name(self, role_name: str) -> str:
        """The key of the module's role named ``role_name``, else of the account's."""
        for (kind, name), block in self.resources.items():
            if kind == "aws_iam_role":
                for instance in self.instances(kind, name):
                    if self.value(block.attributes.get("name"), instance.scope) == role_name:
                        return self.role_key(name, instance)
        return role_arn(self.context, role_name)

    def address(self, kind: str, name: str, instance: Instance = SINGLE) -> str:
        """A resource's Terraform address (``module.NAME.`` first in a called module,
        ``["KEY"]`` or ``[INDEX]`` after a repeated one)."""
        return f"{self.prefix}{kind}.{name}{_index(instance.key)}"

    def role(self, name: str, block: Block, instance: Instance = SINGLE) -> Role:
        address = self.address("aws_iam_role", name, instance)
        scope = instance.scope
        policies: list[Policy] = []
        for inline in block.nested("inline_policy"):
            if "policy" not in inline.attributes:
                continue  # an empty block: "no inline policies"
            policy_name = self.value(inline.attributes.get("name"), scope)
            policies.append(self.policy(inline.attributes.get("policy"),
                                        _text(policy_name, address), address, inline, scope))
        for dynamic in block.nested("dynamic"):
            if dynamic.labels == ("inline_policy",):  # its grants stay unresolved, not lost
                where = f"{dynamic.source.path}:{dynamic.line}"
                self.notices.add("terraform-dynamic-block", "dynamic inline_policy blocks are "
                                 "not expanded; their grants stay unresolved", where)
                marker = unresolved(f"dynamic inline_policy of {address}")
                here = Origin(file=str(dynamic.source.path), line=dynamic.line,
                              logical_id=address)
                policies.append(Policy.unknown(marker, here))
        managed = self.value(block.attributes.get("managed_policy_arns"), scope)
        for arn in managed if isinstance(managed, list) else []:
            policies.append(self.managed(arn, address, block))
        policies += map(self.attached, self.attachments().get((name, instance.key), []))
        boundary_value = self.value(block.attributes.get("permissions_boundary"), scope)
        boundary = self.managed(boundary_value, address, block) \
            if boundary_value is not None else None
        role_name = self.value(block.attributes.get("name"), scope)
        return Role(
            key=self.role_key(name, instance),
            name=role_name if isinstance(role_name, str) and not is_unresolved(role_name)
            else None,
            policies=tuple(policies), boundary=boundary,
            origin=Origin(file=str(block.source.path), line=block.line, logical_id=address),
        )

    def attached(self, attachment: Attachment) -> Policy:
        """The policy an attachment resource instance attaches, under its conditions."""
        address = self.address(attachment.kind, attachment.name, attachment.instance)
        arguments = attachment.block.attributes
        own = attachment.instance.scope
        if attachment.kind == "aws_iam_role_policy":
            policy_name = _text(self.value(arguments.get("name"), own), address)
            policy = self.policy(arguments.get("policy"), policy_name, address,
                                 attachment.block, own)
        else:
            policy = self.managed(self.value(arguments.get("policy_arn"), own), address,
                                  attachment.block)
        return under(policy, dict(attachment.conditions))

    def attachments(
        self, target: HclFile | None = None
    ) -> dict[tuple[str, str | int | None], list[Attachment]]:
        """Role instance (resource name, key) → the policy and attachment resource
        instances that name it.

        Built once per module: a role is named by reference (``aws_iam_role.x.id``,
        ``aws_iam_role.x[each.key].id``) or by its literal name. Policies in ``target``
        naming no role here are warned about.
        """
        if self._attachments is not None:
            return self._attachments
        by_name: dict[str, tuple[str, str | int | None]] = {}
        for (kind, name), block in self.resources.items():
            if kind == "aws_iam_role":
                for instance in self.instances(kind, name):
                    role_name = self.value(block.attributes.get("name"), instance.scope)
                    if isinstance(role_name, str):
                        by_name.setdefault(role_name, (name, instance.key))
        found: dict[tuple[str, str | int | None], list[Attachment]] = {}
        for (kind, other), block in self.resources.items():
            attribute = _ROLE_ARGUMENT.get(kind)
            expression = block.attributes.get(attribute) if attribute else None
            if expression is None:
                continue
            for instance in self.instances(kind, other):
                roles: list[tuple[tuple[str, str | int | None], tuple[tuple[str, bool], ...]]] = []
                for node, conditions in self.reachable(expression, instance.scope):
                    if node.data == "get_attr_expr_term":
                        named = self.role_named(node, instance.scope, expression.source)
                        if named is not None:
                            roles.append(((named[0], named[1].key), conditions))
                    elif node.data in ("full_splat_expr_term", "attr_splat_expr_term"):
                        roles.extend((role, conditions) for role in self.roles_splatted(
                            node, instance.scope, expression.source))
                elsewhere: list[str] = []  # role names no role of this module has
                if not roles:
                    value = self.value(expression, instance.scope)
                    for item in value if isinstance(value, list) else [value]:
                        if isinstance(item, str) and item in by_name:
                            roles.append((by_name[item], ()))
                        elif isinstance(item, str) and not is_unresolved(item) and item:
                            elsewhere.append(item.rsplit("/", 1)[-1])  # a name, or an ARN
                if elsewhere and block.source is target:
                    attachment = Attachment(kind, other, block, instance)
                    self._elsewhere += [(role, attachment) for role in elsewhere]
                if any(conditions for _, conditions in roles):
                    self.notices.add(
                        "terraform-attachment-undecided",
                        "a policy is attached to a role only under a condition not known "
                        "offline; its statements count as conditional there (set the "
                        "variables the condition depends on)",
                        f"{block.source.path}:{block.line}: {self.address(kind, other, instance)}")
                if not roles and not elsewhere and block.source is target:
                    self.notices.add("terraform-role-not-in-module",
                                     "a policy is attached to a role this module does not "
                                     "declare; the attached-roles source reads it from the "
                                     "account", f"{block.source.path}:{block.line}: "
                                     f"{self.address(kind, other, instance)}")
                for role, conditions in dict.fromkeys(roles):
                    found.setdefault(role, []).append(
                        Attachment(kind, other, block, instance, conditions))
        self._attachments = found
        return found

    def binding(self, compute: ComputeType, name: str, block: Block,
                instance: Instance = SINGLE) -> Binding:
        """The resource instance's binding to the role its ``compute.role`` argument names
        (a function's ``role``, a task definition's ``task_role_arn``), by the first of its
        ``compute.names`` that is known offline, else its address."""
        address = self.address(compute.type, name, instance)
        named = [value for argument in compute.names
                 if isinstance(value := self.value(block.attributes.get(argument),
                                                   instance.scope), str)
                 and not is_unresolved(value)]
        function_name = named[0] if named else address
        role = self.role_reference(block.attributes.get(compute.role), instance.scope)
        deliveries = self.deliveries(block, instance, function_name) \
            if compute.type == LAMBDA_FUNCTION else ()
        users = self.profile_users(name, instance, named[0] if named else None) \
            if compute.kind == INSTANCE_PROFILE else []
        return Binding(
            function=function_name, role=role, names=(address, *users),
            origin=Origin(file=str(block.source.path), line=block.line, logical_id=address),
            deliveries=deliveries, kind=compute.kind,
        )

    def profile_users(self, profile: str, instance: Instance,
                      profile_name: str | None) -> list[str]:
        """The addresses of the module's EC2 instances and launch templates that run as
        instance profile ``aws_iam_instance_profile.PROFILE`` (its ``instance``): by a
        reference to it, or by its name (``profile_name``) or ARN written out."""
        found: list[str] = []
        launched: list[tuple[str, str, Instance]] = []  # launch templates, configurations
        for (kind, other), block in self.resources.items():
            user = terraform_profile_users().get(kind)
            if user is None:
                continue
            for each in self.instances(kind, other):
                expression = self.profile_argument(block, user.profile)
                if expression is not None and self.names_profile(
                        expression, each.scope, profile, instance, profile_name):
                    found.append(self.address(kind, other, each))
                    launched.append((kind, other, each))
        return found + self.groups_launching(launched)

    def groups_launching(self, launched: list[tuple[str, str, Instance]]) -> list[str]:
        """The addresses of the module's Auto Scaling groups that run the instances of
        one of ``launched`` (launch templates or configurations), naming it by reference
        (``aws_launch_template.web.id``)."""
        found: list[str] = []
        if not launched:
            return found
        for (kind, name), block in self.resources.items():
            group = launch_users("terraform").get(kind)
            if group is None:
                continue
            for each in self.instances(kind, name):
                if any(self.names_launcher(expression, each.scope, launched)
                       for path in group.launch
                       if (expression := self.launch_argument(block, path)) is not None):
                    found.append(self.address(kind, name, each))
        return found

    @staticmethod
    def launch_argument(block: Block, path: tuple[str, ...]) -> Expression | None:
        """The argument at ``path``: its last step an argument, the others blocks."""
        for step in path[:-1]:
            nested = block.nested(step)
            if len(nested) != 1:
                return None
            block = nested[0]
        return block.attributes.get(path[-1])

    def names_launcher(self, expression: Expression, scope: dict[str, Any] | None,
                       launched: list[tuple[str, str, Instance]]) -> bool:
        """Whether ``expression`` refers to one of ``launched`` (its instance)."""
        for node, _ in self.reachable(expression, scope):
            if node.data != "get_attr_expr_term":
                continue
            path = self.reference(node, scope, expression.source) or []
            for kind, name, instance in launched if len(path) >= 3 else ():
                if path[:2] == [kind, name] and self.instance(kind, name, path[2]) == instance:
                    return True
        return False

    @staticmethod
    def profile_argument(block: Block, path: tuple[str, ...]) -> Expression | None:
        """The argument at ``path`` naming an instance profile: an argument, or a block's
        ``arn`` or ``name`` (a launch template's ``iam_instance_profile { name = ... }``)."""
        for step in path:
            if step in block.attributes:
                return block.attributes[step]
            nested = block.nested(step)
            if len(nested) != 1:
                return None
            block = nested[0]
        return block.attributes.get("arn") or block.attributes.get("name")

    def names_profile(self, expression: Expression, scope: dict[str, Any] | None,
                      profile: str, instance: Instance, profile_name: str | None) -> bool:
        for node, _ in self.reachable(expression, scope):
            if node.data != "get_attr_expr_term":
                continue
            path = self.reference(node, scope, expression.source)
            if path and len(path) >= 3 and path[:2] == ["aws_iam_instance_profile", profile]:
                return self.instance(path[0], profile, path[2]) == instance
        value = self.value(expression, scope)
        return isinstance(value, str) and bool(profile_name) \
            and profile_name_of(value) == profile_name

    def deliveries(self, block: Block, instance: Instance, function: str
                   ) -> tuple[Delivery, ...]:
        """What Lambda sends for the function: its ``dead_letter_config`` target, and the
        destinations of the module's ``aws_lambda_function_event_invoke_config`` and
        ``aws_lambda_event_source_mapping`` of it."""
        found = [Delivery("dead-letter", target)
                 for config, scope in self.blocks_of(block, "dead_letter_config",
                                                     instance.scope)
                 if isinstance(target := self.value(config.attributes.get("target_arn"),
                                                    scope), str)]
        for (kind, name), config in self.resources.items():
            if kind not in _DESTINATIONS:
                continue
            for each in self.instances(kind, name):
                named = self.value(config.attributes.get("function_name"), each.scope)
                if not isinstance(named, str) or function_name_of(named) != function:
                    continue
                for destinations, scope in self.blocks_of(config, "destination_config",
                                                          each.scope):
                    for key, label, attribute in _DESTINATIONS[kind]:
                        for target, inner in self.blocks_of(destinations, key, scope):
                            arn = self.value(target.attributes.get(attribute), inner)
                            if isinstance(arn, str):
                                found.append(Delivery(label, arn))
        return tuple(found)

    def role_reference(self, expression: Expression | None,
                       scope: dict[str, Any] | None = None) -> str:
        if expression is None:
            return unresolved("role")
        # c ? aws_iam_role.r[0].arn : var.arn, with c known: the branch it takes; not
        # known: neither (the function runs as one role, which the trace cannot tell)
        reachable = self.reachable(expression, scope)
        if not any(conditions for _, conditions in reachable):
            for node, _ in reachable:
                if node.data == "get_attr_expr_term":
                    named = self.role_named(node, scope, expression.source)
                    if named is not None:
                        return self.role_key(*named)
                    break
            value = self.value(expression, scope)
            if isinstance(value, str) and not value.startswith("arn:") \
                    and not is_unresolved(value):
                return self.role_by_name(value)  # an instance profile's role: its name
            if isinstance(value, str):
                return value
        self.notices.add("terraform-unresolved-role",
                         "the role a function, task definition, state machine or instance "
                         "profile runs as is not resolvable offline",
                         f"{expression.source.path}:{expression.line}")
        return unresolved(expression.source.snippet(expression.tree))

    # -- policies -----------------------------------------------------------------------

    def managed(self, arn: Any, address: str, block: Block) -> Policy:
        origin = Origin(file=str(block.source.path), line=block.line, logical_id=address)
        if isinstance(arn, PolicyArn):  # read in the module that declares the policy
            owner = arn.owner
            policy_block = owner.resources[("aws_iam_policy", arn.name)]
            instance = next((i for i in owner.instances("aws_iam_policy", arn.name)
                             if i.key == arn.key), SINGLE)
            address = owner.address("aws_iam_policy", arn.name, instance)
            name = _text(owner.value(policy_block.attributes.get("name"), instance.scope),
                         address)
            return owner.policy(policy_block.attributes.get("policy"), name, address,
                                policy_block, instance.scope)
        if isinstance(arn, str):
            return managed_policy(arn, origin, self.notices)
        text = arn.text if isinstance(arn, Unknown) else repr(arn)
        self.notices.add("terraform-unresolved-policy-arn",
                         "a managed policy ARN is not resolvable; its grants stay unresolved",
                         f"{block.source.path}:{block.line}: {text}")
        return managed_policy(unresolved(text), origin, self.notices)

    def policy(self, expression: Expression | None, name: str, address: str,
               anchor: Block, scope: dict[str, Any] | None = None) -> Policy:
        """A policy argument (jsonencode, heredoc, file(), a policy document) → Policy
        (``scope``: the instance's ``each``/``count``). Past MAX_ATTACHED statements in
        one load, a policy's grants are left unresolved."""
        policy = self._policy(expression, name, address, anchor, scope)
        budget = self.budget
        budget.attached += len(policy.statements)
        if budget.attached <= MAX_ATTACHED:
            return policy
        budget.spend(self.notices, f"more than {MAX_ATTACHED} statements in roles",
                     f"{anchor.source.path}:{anchor.line}")
        marker = unresolved(f"policy {name} (past {MAX_ATTACHED} statements)")
        return Policy.unknown(marker, policy.origin, name)

    def _policy(self, expression: Expression | None, name: str, address: str,
                anchor: Block, scope: dict[str, Any] | None) -> Policy:
        file = str(anchor.source.path)
        line = expression.line if expression else anchor.line
        origin = Origin(file=file, line=line, logical_id=address, policy_name=name)
        value = self.value(expression, scope)
        document: Any
        if not within(value, MAX_VALUES):
            self.notices.add(EVAL_LIMIT, EVAL_LIMIT_TEXT, f"{file}:{line}")
            value = Unknown(f"{name} (past {MAX_VALUES} values)")
        if isinstance(value, DocumentRef):
            return Policy(name=name, statements=value.owner.document(
                value.name, name, address, value.instance), origin=origin)
        if isinstance(value, ManagedRef):  # a copy of a managed policy's document
            return replace(managed_policy(value.arn, origin, self.notices), name=name)
        document, origin = self.json_document(value, line, origin)
        if not isinstance(document, Mapping):
            text = value.text if isinstance(value, Unknown) else name
            self.notices.add("terraform-unresolved-policy",
                             "a policy document is not resolvable offline; its grants stay "
                             "unresolved", f"{file}:{line}: {text}")
            marker = unresolved(f"policy {text}")
            return Policy.unknown(marker, origin, name)
        return Policy(name=name, statements=self.statements(document, name, origin),
                      origin=origin)

    def json_document(self, value: Any, line: int, origin: Origin) -> tuple[Any, Origin]:
        """A policy value given as JSON (``jsonencode``, a heredoc, ``file()``, text) as a
        document (None when it is none of those), and the origin its statements get."""
        if isinstance(value, Encoded):
            return _plain(value.value), origin
        if isinstance(value, HeredocText):
            return self.json_text(value.text, value.line, origin), origin
        if isinstance(value, FileText):
            origin = replace(origin, file=str(value.path), line=1)
            return self.json_text(value.text, 1, origin), origin
        if isinstance(value, str) and not is_unresolved(value):
            return self.json_text(value, line, origin), origin
        return None, origin

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
        if raw is not None and not isinstance(raw, Mapping | list):
            items = [raw]  # not known offline (an unresolved entry), or not a statement
        out = []
        for index, item in enumerate(items):
            if isinstance(item, str) and is_unresolved(item):
                # A statement (or list of them) not known offline, such as a for
                # expression over an unknown condition: its grants stay unresolved, never
                # silently missing.
                self.notices.add("terraform-unresolved-policy",
                                 "a policy document is not resolvable offline; its grants "
                                 "stay unresolved", f"{origin.file}:{origin.line}: {name}")
                out.append(Statement.unknown(item, origin))
                continue
            parsed = self.statement(item, index, name, origin)
            if parsed is not None:
                out.append(parsed)
        return tuple(out)

    def statement(self, raw: Any, index: int, name: str, origin: Origin) -> Statement | None:
        self.budget.statements += 1
        if self.budget.statements > MAX_STATEMENTS:  # unresolved, never silently missing
            if self.budget.statements == MAX_STATEMENTS + 1:
                self.budget.spend(self.notices, f"more than {MAX_STATEMENTS} statements",
                                  f"{origin.file}:{origin.line}")
            marker = unresolved(f"statement {index + 1} of {name} (past {MAX_STATEMENTS})")
            return Statement.unknown(marker, origin)
        try:
            return parse_statement(raw, index=index, policy_name=name, origin=origin,
                                   notices=self.notices)
        except UserError as exc:
            # One bad statement is skipped and counted; the rest of the role still counts.
            self.notices.add("terraform-bad-statement", "IAM statement skipped", str(exc))
            return None

    def document(self, data_name: str, policy: str, address: str,
                 instance: Instance | None = None) -> tuple[Statement, ...]:
        """The statements of a policy document (its ``instance``, when repeated) named in
        policy ``policy``, built once for every role (instance) that uses it."""
        memo = (data_name, instance.key if instance else None, policy)
        found = self._documents.get(memo)
        if found is None:
            found = self._documents[memo] = self.document_statements(
                data_name, policy, address, set(), instance)
        return found

    def document_statements(self, data_name: str, policy: str, address: str,
                            seen: set[tuple[int, str]], instance: Instance | None = None
                            ) -> tuple[Statement, ...]:
        """The statements of ``data "aws_iam_policy_document" data_name`` (its
        ``instance``, when repeated: ``count.index`` or ``each`` defined)."""
        instance = instance or SINGLE
        data_name_at = f"{data_name}{_index(instance.key)}"
        if (id(self), data_name_at) in seen:
            return ()
        if len(seen) >= MAX_SOURCE_DOCUMENTS:
            self.budget.spend(self.notices, f"more than {MAX_SOURCE_DOCUMENTS} source policy "
                              "documents", f"data.aws_iam_policy_document.{data_name}")
            marker = unresolved(f"policy document {data_name}")
            return (Statement.unknown(marker),)
        seen.add((id(self), data_name_at))
        block = self.data[("aws_iam_policy_document", data_name)]
        file = str(block.source.path)
        here = Origin(file=file, line=block.line,
                      logical_id=f"data.aws_iam_policy_document.{data_name_at}",
                      policy_name=policy)
        # As the provider merges: the source documents' statements (source_json, the
        # older spelling, first), then this document's own, then the override documents'
        # (override_json last); a statement with a Sid replaces an earlier one with the
        # same Sid, the rest are appended.
        merged: list[Statement] = []
        for argument in ("source_json", "source_policy_documents", None,
                         "override_policy_documents", "override_json"):
            if argument is None:
                found: list[Statement] = []
                unexpanded: list[Block] = []
                for index, (written, scope) in enumerate(
                        self.blocks_of(block, "statement", instance.scope, unexpanded)):
                    raw = self.document_statement(written, scope)
                    parsed = self.statement(raw, index, policy, Origin(
                        file=file, line=written.line, logical_id=here.logical_id,
                        policy_name=policy))
                    if parsed is not None:
                        found.append(parsed)
                # Statements not known offline grant what they may: unresolved, never none
                found.extend(Statement.unknown(
                    unresolved(f"dynamic statement of {here.logical_id}"),
                    replace(here, line=dynamic.line)) for dynamic in unexpanded)
            else:
                found = self.documents_in(block, argument, policy, address, seen, here,
                                          instance.scope)
            for statement in found:
                sid = statement.sid  # a Sid not known offline replaces nothing
                known = bool(sid) and not is_unresolved(sid or "")
                same = next((i for i, s in enumerate(merged) if known and s.sid == sid), None)
                if same is None:
                    merged.append(statement)
                else:
                    merged[same] = statement
        return tuple(merged)

    def documents_in(self, block: Block, argument: str, policy: str, address: str,
                     seen: set[tuple[int, str]], here: Origin,
                     scope: dict[str, Any] | None = None) -> list[Statement]:
        """The statements of the documents a policy document lists in ``argument``: other
        policy documents, or JSON (``jsonencode``, text); others stay unresolved."""
        if argument not in block.attributes:
            return []
        listed = self.value(block.attributes[argument], scope) or []
        out: list[Statement] = []
        for item in listed if isinstance(listed, list) else [listed]:
            if isinstance(item, DocumentRef):
                out.extend(item.owner.document_statements(item.name, policy, address, seen,
                                                           item.instance))
                continue
            document, origin = self.json_document(item, block.line, here)
            if isinstance(document, Mapping):
                out.extend(self.statements(document, policy, origin))
                continue
            self.notices.add("terraform-unresolved-policy",
                             "a policy document is not resolvable offline; its grants stay "
                             "unresolved", f"{here.file}:{here.line}: {argument}")
            marker = unresolved(f"{argument} of {here.logical_id}")
            out.append(Statement.unknown(marker, here))
        return out

    def blocks_of(self, parent: Block, kind: str, scope: dict[str, Any] | None,
                  unexpanded: list[Block] | None = None
                  ) -> Iterator[tuple[Block, dict[str, Any] | None]]:
        """``parent``'s ``kind`` blocks in order, each with the scope its arguments are
        evaluated in: ``scope``, and for the ``content`` of a ``dynamic "kind"`` block, one
        per element of its ``for_each``, its iterator too. One whose ``for_each`` is not
        known offline is left out, said so, and added to ``unexpanded``."""
        for block in parent.blocks:
            if block.type == kind:
                yield block, scope
                continue
            if block.type != "dynamic" or block.labels != (kind,):
                continue
            where = f"{block.source.path}:{block.line}"
            contents = block.nested("content")
            pairs = pairs_of(self.value(block.attributes.get("for_each"), scope))
            iterator = traversal(block.attributes["iterator"].tree) \
                if "iterator" in block.attributes else [kind]
            if pairs is None:
                self.notices.add("terraform-dynamic-block", f"dynamic {kind} blocks whose "
                                 "for_each is not known offline are not expanded", where)
                if unexpanded is not None:
                    unexpanded.append(block)
                continue
            if len(contents) != 1 or iterator is None or len(iterator) != 1:
                self.notices.add("terraform-dynamic-block", f"a dynamic {kind} block needs "
                                 "one content block and a plain iterator name", where)
                continue
            for key, item in pairs[:MAX_DYNAMIC_STATEMENTS]:
                yield contents[0], {**(scope or {}), iterator[0]: {"key": key, "value": item}}

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
                value = self.value(block.attributes[argument], scope)
                if value is not None:  # null is unset, as the provider reads it
                    raw[key] = _plain(value)
        raw.setdefault("Effect", ALLOW)
        conditions: dict[str, dict[str, Any]] = {}
        for condition, inner in self.blocks_of(block, "condition", scope):
            test = _plain(self.value(condition.attributes.get("test"), inner))
            variable = _plain(self.value(condition.attributes.get("variable"), inner))
            values = _plain(self.value(condition.attributes.get("values"), inner))
            conditions.setdefault(str(test), {})[str(variable)] = values
        if conditions:
            raw["Condition"] = conditions
        for kind, key in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
            principals: dict[str, Any] = {}
            for principal, inner in self.blocks_of(block, kind, scope):
                principal_type = _plain(self.value(principal.attributes.get("type"), inner))
                identifiers = _plain(self.value(principal.attributes.get("identifiers"), inner))
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
    if isinstance(value, ManagedRef):
        return unresolved(f"{type(value).__name__} {value.arn}")
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
