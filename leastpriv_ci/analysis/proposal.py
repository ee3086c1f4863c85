"""The least-privilege proposal: the smallest IAM policy that allows what was used.

Built from :class:`Access` records (denied ones included: a denied call shows a need):

- one grant per used (action, resource); actions that support no resource type are
  granted on ``*`` (the only way IAM grants them), every other action on the ARNs used;
- S3 object keys (data written at run time) are generalised, per action and bucket, to
  the top-level folder they share (``arn:aws:s3:::b/uploads/*``), else the bucket; the
  part within that folder of declared patterns narrower there that cover the keys is
  kept instead (``b/uploads/*.png`` of ``b/*.png``), and so are the declared patterns
  with policy variables that alone granted a use;
- what Lambda sends with a role to some objects of an S3 destination (``BUCKET/*``: it
  chooses the keys) is granted on the part of the declared patterns within the bucket
  (``BUCKET/failures/*`` stays, ``*`` narrows to ``BUCKET/*``), never on more;
- resources with identical action sets become one statement; the order is sorted, so
  the same usage always gives the same document;
- a use the declared policy grants only under Condition blocks is granted under the same
  blocks (one statement per block: IAM allows when any does), so adopting the proposal
  does not lift them; such statements are never merged with others;
- literal ``*``, ``?`` and ``$`` in an observed ARN are written as ``${*}``, ``${?}``
  and ``${$}`` so that they do not become wildcards;
- past IAM's size limit, action sets of one service are merged over that service's
  resources, then a service's actions become ``service:*`` when they share one
  resource set and that makes the policy fit; else the merged policy is split, with
  the used actions only. No step grants a resource that was not used, and none drops a
  Condition; for a role, none grants an action on a resource its policies do not
  already grant it on (unconditionally), beyond what was used there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import orjson

from leastpriv_ci.catalog import ActionInfo, Catalog, get_catalog
from leastpriv_ci.codemarks import mark
from leastpriv_ci.policy.match import (
    UNNAMED_SUFFIX,
    pattern_covers,
    residuals_after,
    resource_matches,
    same_secret,
    sender_identities,
    widest,
)
from leastpriv_ci.policy.model import VERSION_2012
from leastpriv_ci.records import Access

INLINE_LIMIT = 10_240  # characters of an inline policy (IAM quota, whitespace excluded)
MANAGED_LIMIT = 6_144  # characters of a customer managed policy

S3_OBJECT = re.compile(r"^arn:([^:]+):s3:::([^/]+)/(.*)$", re.DOTALL)
_SPECIAL = re.compile(r"[$*?]")
# What IAM's policy grammar takes: tab, line feed, carriage return, U+0020 to U+00FF
_NOT_IN_POLICIES = re.compile(r"[^\t\n\r\x20-\xff]")
_ARN_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Grant:
    """One (action, resource pattern) the proposal must allow, under ``condition`` (a
    Condition block as canonical JSON text, :func:`condition_text`) unless it is empty."""

    action: str
    resource: str
    condition: str = ""


def condition_text(block: object) -> str:
    """A Condition block as canonical JSON text (keys sorted): equal blocks, equal texts."""
    return orjson.dumps(block, option=orjson.OPT_SORT_KEYS).decode()


@dataclass(frozen=True)
class Proposal:
    """The proposed policy document(s) and what was done to fit them in IAM's limits."""

    documents: tuple[dict[str, object], ...]
    notes: tuple[str, ...] = ()
    unknown_resources: tuple[str, ...] = ()  # actions whose resource the traces did not name

    @property
    def document(self) -> dict[str, object]:
        """The whole proposal as one document (over the size limit when it was split)."""
        if len(self.documents) == 1:
            return self.documents[0]
        statements = [s for doc in self.documents for s in statements_of(doc)]
        return {"Version": VERSION_2012, "Statement": statements}


# For accesses whose resource the traces did not name: the grants of the action (the
# analysis passes the declared policy's patterns, each under its conditions); None → the
# catalog's ARN formats scoped to the principal's partition, region and account.
UnknownBound = Callable[[str, Access], tuple[Grant, ...] | None]
# The declared resource patterns granting an action (the analysis passes the role's): an
# S3 key pattern among them that is narrower than the folder the keys generalise to is
# kept instead of the folder.
DeclaredPatterns = Callable[[str], tuple[str, ...]]
# The Condition blocks (condition_text) under which the declared policy grants an access;
# () when it grants it unconditionally, or when its conditions are not carried.
GrantConditions = Callable[[Access], tuple[str, ...]]
# The declared patterns with policy variables through which alone the role granted an
# access (() when it granted it otherwise): an S3 object use is granted on them.
VariablePatterns = Callable[[Access], tuple[str, ...]]
# Whether the role grants an action on a resource (pattern) unconditionally: fitting the
# proposal in IAM's size limit never grants past that what was not used.
Granted = Callable[[str, str], bool]


def propose(
    accesses: Iterable[Access], *, catalog: Catalog | None = None, limit: int = MANAGED_LIMIT
) -> dict[str, object]:
    """The least-privilege IAM policy document allowing every given access.

    Fitted into ``limit`` characters by merging (see the module docstring); when even
    that cannot fit, the returned document is over the limit and
    :func:`propose_policies` gives it split into several.
    """
    return propose_policies(accesses, catalog=catalog, limit=limit).document


def propose_policies(
    accesses: Iterable[Access],
    *,
    catalog: Catalog | None = None,
    limit: int = MANAGED_LIMIT,
    extra: Iterable[Grant] = (),
    unknown_bound: UnknownBound | None = None,
    declared: DeclaredPatterns | None = None,
    conditions: GrantConditions | None = None,
    variables: VariablePatterns | None = None,
    granted: Granted | None = None,
    delivered: Iterable[Access] = (),
) -> Proposal:
    """The proposal as one or more documents, each within ``limit`` characters.

    ``extra`` grants are added as given (the analysis keeps platform permissions so).
    ``granted`` bounds what fitting may merge (:func:`fit`). ``delivered`` are what
    Lambda sends with the role (:func:`needed_grants`).
    """
    catalog = catalog or get_catalog()
    grants, unknown = needed_grants(accesses, catalog=catalog, unknown_bound=unknown_bound,
                                    declared=declared, conditions=conditions,
                                    variables=variables, delivered=delivered)
    grants.update(extra)
    documents, notes = fit(grants, limit=limit, granted=granted)
    if unknown:
        notes = (*notes, "the traces did not name the resource of "
                 + ", ".join(sorted(unknown)) + "; granted on the declared or ARN-format pattern")
    return Proposal(documents, notes, tuple(sorted(unknown)))


def needed_grants(
    accesses: Iterable[Access],
    *,
    catalog: Catalog | None = None,
    unknown_bound: UnknownBound | None = None,
    declared: DeclaredPatterns | None = None,
    conditions: GrantConditions | None = None,
    variables: VariablePatterns | None = None,
    delivered: Iterable[Access] = (),
) -> tuple[set[Grant], set[str]]:
    """The grants the accesses need, and actions of unknown resource.

    ``delivered`` are what Lambda sends with the role (a dead-letter queue, destinations):
    uses of the target's ARN, or of some objects of an S3 destination
    (``arn:aws:s3:::BUCKET/*``: Lambda chooses their keys), granted on the part of the
    declared patterns within the bucket (:func:`_declared_part`).
    """
    catalog = catalog or get_catalog()
    grants: set[Grant] = set()
    unknown: set[str] = set()
    # (action, partition, bucket, condition) → keys
    s3_keys: dict[tuple[str, str, str, str], set[str]] = {}
    # action as recorded → (catalog spelling, resource-level?, info)
    infos: dict[str, tuple[str, bool, ActionInfo | None]] = {}
    spread: list[tuple[Access, str]] = []  # deliveries to some resources of a pattern
    targets: list[Access] = []
    for access in delivered:
        prefix = _prefix_of(access.resource)
        if prefix is None:
            targets.append(access)
        else:
            spread.append((access, prefix))
    for access in [*accesses, *targets]:
        known = infos.get(access.action)
        if known is None:
            info = catalog.action(access.action)
            known = infos[access.action] = (
                info.full_name if info else access.action,
                info.resource_level if info else True,
                info,
            )
        action, resource_level, info = known
        blocks = (conditions(access) if conditions else ()) or ("",)
        if not resource_level or (access.resource == "*" and access.resource_known):
            # "*" as IAM authorized it: an action on no resource type, a request that
            # named none of its optional one, or IAM's own message naming "*"
            grants.update(Grant(action, "*", block) for block in blocks)
            continue
        if not access.resource_known or access.resource == "*":
            unknown.add(action)
            if access.resource != "*":
                # the usage stage bounded it from what the trace did say (the bucket): the
                # role's part of that bound, as for a delivery (a denied call: a need)
                prefix = _prefix_of(access.resource)
                if prefix is None or access.denied:
                    grants.add(Grant(action, access.resource))
                else:
                    grants.update(_declared_part(action, access, prefix, declared,
                                                 conditions))
                continue
            declared_grants = unknown_bound(action, access) if unknown_bound else None
            if declared_grants is not None:
                grants.update(declared_grants)
                continue
            formats = _format_patterns(info, access.principal) if info else ("*",)
            grants.update(Grant(action, pattern, _own_account(pattern, access.principal))
                          for pattern in formats)
            continue
        s3 = S3_OBJECT.match(access.resource)
        kept = variables(access) if s3 and variables else ()
        if kept:  # the declared indirection, not the value it took at staging
            grants.update(Grant(action, pattern) for pattern in kept)
            continue
        for block in blocks:
            if s3:
                s3_keys.setdefault((action, s3.group(1), s3.group(2), block),
                                   set()).add(s3.group(3))
            else:
                patterns = declared(action) if declared else ()
                grants.update(Grant(action, pattern, block)
                              for pattern in grant_patterns(action, access.resource, patterns))
    for (action, partition, bucket, block), keys in s3_keys.items():
        patterns = declared(action) if declared else ()
        grants.update(Grant(action, p, block)
                      for p in _declared_within(partition, bucket, keys, patterns))
    for access, prefix in spread:
        grants.update(_declared_part(catalog.canonical(access.action) or access.action,
                                     access, prefix, declared, conditions))
    return grants, unknown


def _prefix_of(resource: str) -> str | None:
    """The literal text a resource pattern of the form ``TEXT*`` starts with (an S3
    destination's ``arn:aws:s3:::BUCKET/*``); None for an ARN, or another pattern."""
    prefix = resource[:-1]
    if not resource.endswith("*") or not prefix or _SPECIAL.search(prefix):
        return None
    return prefix


def _declared_part(action: str, access: Access, prefix: str,
                   declared: DeclaredPatterns | None, conditions: GrantConditions | None
                   ) -> set[Grant]:
    """The grants of a use of some resources within ``prefix*``, which ones not known (an
    S3 destination's objects, whose keys Lambda chooses; an object call whose trace named
    the bucket only): the part within it of each declared pattern of the action
    (:func:`part_within`: ``arn:aws:s3:::*`` narrows to ``BUCKET/*``, ``BUCKET/failures/*``
    stays), each under the Condition blocks the role grants it with, so that the proposal
    grants no more than the role there. A pattern whose part cannot be told offline (a
    policy variable) is kept as declared if it may reach there; ``prefix*`` itself when
    the role grants none of it (a need)."""
    parts: dict[str, None] = {}
    for pattern in declared(action) if declared else ():
        found = part_within(pattern, prefix)
        if found is None and part_within(widest(pattern), prefix) != ():
            found = (pattern,)  # with its variables as any value, it may reach there
        parts.update(dict.fromkeys(found or ()))
    found_grants = {
        Grant(action, part, block)
        for part in (parts or {literal(prefix) + "*": None})
        for block in (conditions(replace(access, resource=part, resource_known=True))
                      if conditions else ()) or ("",)}
    # a part that an unconditioned grant covers needs no grant of its own
    return {g for g in found_grants
            if not any(o != g and not o.condition and pattern_covers(o.resource, g.resource)
                       for o in found_grants)}


def grant_patterns(action: str, resource: str, declared: Sequence[str] = ()
                   ) -> tuple[str, ...]:
    """The patterns that grant ``action`` on a used resource (not an S3 object's), given
    the role's ``declared`` patterns for it: the resource itself (:func:`literal`), except

    - a secret the trace named without its random suffix (``secret:NAME-??????``): the
      declared full ARN of that secret if there is one, else the name with the six ``?``
      left as wildcards (they stand for the suffix);
    - an SES send from an address (``identity/ADDRESS``), which SES authorizes on the
      address's identity if that is verified, else on its domain's or a parent domain's
      (:func:`sender_identities`): the most specific of them the declared patterns cover,
      when they do not cover the address itself; the address when only it is covered;
      else all of them, so that the proposal works whichever is verified.
    """
    if resource.endswith(UNNAMED_SUFFIX):
        named = next((p for p in declared if same_secret(p, resource)), None)
        if named is None and ":secretsmanager:" in resource:  # the six "?" stay wildcards
            named = literal(resource[:-len(UNNAMED_SUFFIX)]) + UNNAMED_SUFFIX
        return (named or literal(resource),)
    domains = sender_identities(action, resource)
    if not domains:
        return (literal(resource),)
    own = any(pattern_covers(p, resource) for p in declared)
    covered = [d for d in domains if any(pattern_covers(p, d) for p in declared)]
    if own and not covered:
        return (literal(resource),)
    if covered and not own:
        return (literal(covered[0]),)
    return (literal(resource), *map(literal, domains))


def literal(resource: str) -> str:
    """An observed ARN as a resource pattern matching only itself (IAM 2012-10-17).

    A character IAM's policy grammar does not take (past Latin-1, or a control character:
    an S3 key in Japanese, an SSM parameter in Cyrillic) becomes ``?``, which matches it
    among any other one character: IAM refuses the whole document otherwise."""
    return _NOT_IN_POLICIES.sub("?", _SPECIAL.sub(lambda m: "${" + m.group(0) + "}", resource))


def s3_object_pattern(partition: str, bucket: str, keys: Iterable[str]) -> str:
    """The top-level folder the keys share (``bucket/uploads/*``), else the whole bucket.

    Object keys are data the application writes at run time (``uploads/alice/<uuid>``),
    not configuration: a staging run's keys never recur in production, so the proposal
    never grants single keys, nor folders below the first (often a user or tenant ID).
    """
    return literal(_folder_prefix(partition, bucket, keys)) + "*"


def _folder_prefix(partition: str, bucket: str, keys: Iterable[str]) -> str:
    """The text of :func:`s3_object_pattern`'s folder, before its ``*`` (not escaped)."""
    prefix = _common_prefix(sorted(set(keys)))
    folder = prefix[: prefix.find("/") + 1]  # "" when the keys share no top-level folder
    return f"arn:{partition}:s3:::{bucket}/{folder}"


def _declared_within(partition: str, bucket: str, keys: Iterable[str],
                     declared: Sequence[str]) -> tuple[str, ...]:
    """The parts within the keys' folder (:func:`s3_object_pattern`) of the declared
    patterns narrower there (``bucket/notes/*.png`` of ``bucket/*.png``) that together
    cover every key, the narrowest for each key; else ``(folder,)``: the proposal never
    grants more than the declared policy did where the declared policy was already
    narrower.

    A pattern with a policy variable cannot be compared offline and is not chosen.
    """
    prefix = _folder_prefix(partition, bucket, keys)
    folder = literal(prefix) + "*"
    within = [part for p in declared for part in part_within(p, prefix) or ()
              if part != folder]
    if not within:
        return (folder,)
    chosen: set[str] = set()
    for key in keys:
        arn = f"arn:{partition}:s3:::{bucket}/{key}"
        matching = [p for p in within if resource_matches(p, arn) is True]
        if not matching:
            return (folder,)
        narrowest = [p for p in matching
                     if not any(q != p and pattern_covers(p, q) for q in matching)]
        chosen.add(min(narrowest or matching))
    return tuple(sorted(chosen))


def part_within(pattern: str, prefix: str) -> tuple[str, ...] | None:
    """The part of resource ``pattern`` within ``prefix*`` (``prefix``: literal text, such
    as ``arn:aws:s3:::bucket/``), as patterns that begin with ``prefix``: ``arn:aws:s3:::*``
    gives ``bucket/*``, ``bucket/aws/lambda/*`` itself, ``bucket/*.png`` within
    ``bucket/notes/`` gives ``bucket/notes/*.png``; ``()`` when they share no resource.

    None when that cannot be told offline: a policy variable, a value not known offline,
    a part ``pattern`` is not certain to cover (a ``*`` IAM keeps within an ARN segment).
    """
    residuals = residuals_after(pattern, prefix)
    if residuals is None:
        return None
    parts = [literal(prefix) + residual for residual in residuals]
    if not all(pattern_covers(pattern, part) for part in parts):
        return None
    return tuple(sorted(p for p in parts
                        if not any(q != p and pattern_covers(q, p) for q in parts)))


def _common_prefix(values: list[str]) -> str:
    first, last = values[0], values[-1]  # sorted: the common prefix of the extremes
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


def _format_patterns(info: ActionInfo, principal: str) -> tuple[str, ...]:
    """The catalog's ARN formats for the action, in the principal's account and region."""
    from leastpriv_ci.analysis.platform import arn_fields

    fields = arn_fields(principal) or {}
    known = {
        "partition": fields.get("partition", "*"),
        "region": fields.get("region", "*"),
        "account": fields.get("account", "*"),
    }
    catalog = get_catalog()
    patterns = []
    for ref in info.resource_types:
        resource_type = catalog.resource_type(info.service, ref.name)
        if resource_type is None:
            continue
        patterns.append(_ARN_VARIABLE.sub(
            lambda m: known.get(m.group(1).lower(), "*") or "*", resource_type.arn_format))
    return tuple(sorted(set(patterns))) or ("*",)


def _own_account(pattern: str, principal: str) -> str:
    """For an S3 ARN format, whose ARNs name no account (``arn:aws:s3:::*``): the
    Condition block that keeps it to the principal's account, as ``condition_text``
    (empty for other formats, or when the principal's account is unknown). S3 sets
    ``aws:ResourceAccount`` on every request; a service that does not would fail the
    condition, so no other format gets it."""
    from leastpriv_ci.analysis.platform import arn_fields

    parts = pattern.split(":", 5)
    account = (arn_fields(principal) or {}).get("account")
    if len(parts) < 6 or parts[2] != "s3" or parts[4] or not account:
        return ""
    return condition_text({"StringEquals": {"aws:ResourceAccount": account}})


# -- fitting the grants into documents -------------------------------------------------

# (actions, resources, condition_text or "")
Statement = tuple[tuple[str, ...], tuple[str, ...], str]


def fit(grants: Iterable[Grant], *, limit: int = MANAGED_LIMIT, granted: Granted | None = None
        ) -> tuple[tuple[dict[str, object], ...], tuple[str, ...]]:
    """Group grants into statements, then compress or split to respect ``limit``.

    With ``granted`` (a role's policies), merging a service's statements, or writing its
    actions ``service:*``, is done only where the role grants each action it adds on each
    resource already: the proposal never grants more than the role does, beyond what was
    used (a missing permission).
    """
    statements = exact = group(grants)
    notes: list[str] = []
    if _size(statements) <= limit:
        return (document(statements),), ()
    merged = _merge_per_service(statements, granted)
    if merged != statements:
        statements = merged
        notes.append(f"to fit IAM's {limit}-character limit, each service's actions were "
                     "merged over that service's used resources")
    if _size(statements) <= limit:
        return (document(statements),), tuple(notes)
    # `service:*` is only worth its extra actions when it spares a split: when the
    # policy must be split anyway, the used actions are split, not widened.
    widened = statements
    wildcards: list[str] = []
    for service in _wildcard_candidates(statements, granted):
        widened = _service_wildcard(widened, service)
        wildcards.append(f"to fit IAM's {limit}-character limit, `{service}:*` replaced the "
                         f"used {service} actions (on the used resources only)")
        if _size(widened) <= limit:
            return (document(widened),), (*notes, *wildcards)
    parts = _split(statements, limit)
    if statements is not exact and len(exact_parts := _split(exact, limit)) <= len(parts):
        # merging grants actions on resources they were not used on: only worth it when
        # it spares a document
        parts, notes = exact_parts, []
    notes.append(f"the proposal needs {len(parts)} policies of at most {limit} characters")
    if limit == INLINE_LIMIT:
        # IAM's quota is on the sum of a role's inline policies, not on each of them
        notes.append(f"a role's inline policies may hold {INLINE_LIMIT} characters in all, "
                     "so these cannot all be inline: attach them as managed policies "
                     f"(at most {MANAGED_LIMIT} characters each)")
    return tuple(document(part) for part in parts), tuple(notes)


def group(grants: Iterable[Grant]) -> list[Statement]:
    """Statements grouping resources that need identical action sets under one Condition
    block (or none), sorted."""
    by_resource: dict[tuple[str, str], set[str]] = {}
    spelling: dict[str, str] = {}
    for grant in grants:
        key = grant.action.lower()
        spelling.setdefault(key, grant.action)
        by_resource.setdefault((grant.condition, grant.resource), set()).add(key)
    by_actions: dict[tuple[str, frozenset[str]], list[str]] = {}
    for (condition, resource), actions in by_resource.items():
        by_actions.setdefault((condition, frozenset(actions)), []).append(resource)
    return _sorted([
        (tuple(spelling[a] for a in actions), tuple(resources), condition)
        for (condition, actions), resources in by_actions.items()
    ])


def document(statements: Iterable[Statement]) -> dict[str, object]:
    """An IAM policy document of Allow statements."""
    return {
        "Version": VERSION_2012,
        "Statement": [_statement(s) for s in statements],
    }


def _statement(statement: Statement) -> dict[str, object]:
    actions, resources, condition = statement
    found: dict[str, object] = {"Effect": "Allow", "Action": _one_or_list(actions),
                                "Resource": _one_or_list(resources)}
    if condition:
        found["Condition"] = orjson.loads(condition)
    return found


def policy_size(doc: Mapping[str, object]) -> int:
    """Characters IAM counts for a policy document (JSON without whitespace)."""
    return len(orjson.dumps(doc).decode("utf-8"))


def _size(statements: list[Statement]) -> int:
    return policy_size(document(statements))


def _sorted(statements: Iterable[Statement]) -> list[Statement]:
    normal = [
        (tuple(sorted(actions, key=lambda a: (a.lower(), a))), tuple(sorted(resources)),
         condition)
        for actions, resources, condition in statements
    ]
    return sorted(normal, key=lambda s: ([a.lower() for a in s[0]], s[1], s[2]))


# The S3 object pattern of s3_object_pattern: a named bucket, a folder, then "*"
_S3_FOLDER = re.compile(r"arn:[\w-]+:s3:::[^*?/]+/[^*?]*\*")


def _service(action: str) -> str:
    return action.partition(":")[0].lower()


def _single_service(statement: Statement) -> str | None:
    """The one service of a statement that may be merged with others of its service."""
    services = {_service(a) for a in statement[0]}
    if len(services) != 1 or not all(_used(r) for r in statement[1]) or statement[2]:
        # A pattern standing for resources the traces did not name (`*`, the declared or
        # ARN-format pattern of an unknown resource) must never take other actions along;
        # nor may a Condition, which holds for its own grants only
        return None
    return services.pop()


def _used(resource: str) -> bool:
    """Whether a proposed resource names used resources only: an ARN as used, or the
    folder pattern S3 keys are generalised to (``bucket/notes/*``)."""
    bare = resource.replace("${*}", "").replace("${?}", "")
    return ("*" not in bare and "?" not in bare) or _S3_FOLDER.fullmatch(bare) is not None


def _merge_per_service(statements: list[Statement], granted: Granted | None = None
                       ) -> list[Statement]:
    """Each service's statements as one, its actions on all its resources; a service
    whose merged statement would grant an action on a resource neither used there nor
    already granted there (``granted``) is left as it is."""
    merged: dict[str, list[Statement]] = {}
    kept: list[Statement] = []
    for statement in statements:
        service = _single_service(statement)
        if service is None:
            kept.append(statement)
            continue
        merged.setdefault(service, []).append(statement)
    for found in merged.values():
        actions = {a for statement in found for a in statement[0]}
        resources = {r for statement in found for r in statement[1]}
        used = {(a.lower(), r) for statement in found for a in statement[0]
                for r in statement[1]}
        if granted is None or all((a.lower(), r) in used or granted(a, r)
                                  for a in actions for r in resources):
            kept.append((tuple(actions), tuple(resources), ""))
        else:
            kept.extend(found)
    return _sorted(kept)


def _wildcard_candidates(statements: list[Statement], granted: Granted | None = None
                         ) -> list[str]:
    """Services whose used actions all sit in one statement with one resource set (and,
    with ``granted``, on whose resources the role grants every action of the service)."""
    homes: dict[str, list[Statement]] = {}
    for statement in statements:
        for service in {_service(a) for a in statement[0]}:
            homes.setdefault(service, []).append(statement)
    candidates = [
        (len(found[0][0]), service)
        for service, found in homes.items()
        if len(found) == 1 and _single_service(found[0]) == service and len(found[0][0]) > 1
        and (granted is None or _grants_service(granted, service, found[0][1]))
    ]
    return [service for _, service in sorted(candidates, reverse=True)]


def _grants_service(granted: Granted, service: str, resources: Iterable[str]) -> bool:
    """Whether every action of ``service`` the catalog knows is granted on each resource."""
    actions = [info.full_name for info in get_catalog().expand(f"{service}:*")]
    return bool(actions) and all(granted(a, r) for r in resources for a in actions)


def _service_wildcard(statements: list[Statement], service: str) -> list[Statement]:
    return _sorted(
        ((f"{service}:*",), statement[1], "") if _single_service(statement) == service
        else statement
        for statement in statements
    )


def _split(statements: list[Statement], limit: int) -> list[list[Statement]]:
    """Greedy split into documents within ``limit``; a huge statement is cut by resource."""
    pieces: list[Statement] = []
    for statement in statements:
        if _size([statement]) <= limit:
            pieces.append(statement)
            continue
        actions, resources, condition = statement
        chunk: list[str] = []
        for resource in resources:
            if chunk and _size([(actions, (*chunk, resource), condition)]) > limit:
                pieces.append((actions, tuple(chunk), condition))
                chunk = []
            chunk.append(resource)
        pieces.append((actions, tuple(chunk), condition))
    parts: list[list[Statement]] = [[]]
    for piece in pieces:
        if parts[-1] and _size([*parts[-1], piece]) > limit:
            parts.append([])
        parts[-1].append(piece)
    return parts


def _one_or_list(values: tuple[str, ...]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)


def statements_of(doc: Mapping[str, object]) -> list[object]:
    """The statements of a policy document (none when it has no list of them)."""
    statements = doc.get("Statement")
    return list(statements) if isinstance(statements, list) else []


def guarded_note(denied: Sequence[Access]) -> str:
    """The proposal's note on denied calls it does not grant: the role's own Deny refused
    them."""
    shown = ", ".join(sorted({f"{mark(a.action)} on {mark(a.resource)}" for a in denied}))
    return (f"does not grant {shown}: denied at runtime by the role's own Deny statement, "
            "a guardrail the proposal keeps")


def possible_note(possible: Sequence[Access]) -> str:
    """The proposal's note on the actions calls may have needed (``PrincipalUsage.possible``)."""
    actions = ", ".join(mark(a) for a in sorted({a.action for a in possible}, key=str.lower))
    return (f"includes {actions}: traced calls may need them, as their request decides "
            "(DynamoDB write transactions, PartiQL, a role passed to a service, an S3 "
            "upload's tags) or a KMS "
            "key encrypting their resource does (S3, SQS, SNS, Secrets Manager, SSM, "
            "Kinesis), which the traces do not record; keep only those needed")


def conditions_note(actions: Sequence[str]) -> str:
    """The proposal's note on used actions the role grants only under a Condition that
    the proposal could not carry over (a Deny or a pattern decides too, or the template
    left a value, or the condition attaching the policy, undecided)."""
    shown = ", ".join(mark(a) for a in sorted(set(actions), key=str.lower))
    return (f"the role grants {shown} only under conditions this proposal does not repeat "
            "(a Deny's, beside patterns not known offline, or ones the template leaves "
            "undecided): copy them onto its statements, or it grants more than the role "
            "does now")


def not_resource_note(actions: Sequence[str], excluded: Sequence[str]) -> str:
    """The proposal's note on actions whose resource the traces did not name, granted on
    the catalog's ARN formats where the role grants them through ``NotResource`` only."""
    shown = ", ".join(mark(a) for a in actions)
    left_out = ", ".join(mark(r) for r in excluded)
    return (f"the role grants {shown} on every resource but {left_out} (NotResource); the "
            "proposal's ARN-format pattern, the traces naming no resource, may cover those: "
            "grant it with the role's NotResource instead, or it grants more than the role "
            "does")


def conditions_kept_note(actions: Sequence[str]) -> str:
    """The proposal's note on used actions it grants under the role's Condition blocks."""
    shown = ", ".join(mark(a) for a in sorted(set(actions), key=str.lower))
    return (f"the role grants {shown} only under Condition blocks: the proposal grants "
            "them under the same blocks")
