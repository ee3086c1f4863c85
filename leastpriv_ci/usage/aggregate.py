"""Counting accesses per (principal, action, resource, denied) while traces stream by."""

from __future__ import annotations

from dataclasses import dataclass, field

from leastpriv_ci.records import MAX_SAMPLE_TRACES, Access, PrincipalUsage


@dataclass(slots=True)
class _Tally:
    count: int = 0
    first: float | None = None
    last: float | None = None
    trace_ids: list[str] = field(default_factory=list)
    known: bool = True
    regions: tuple[str, ...] = ()  # recorded by the calls, sorted (shared: see _alone)
    region_known: bool = True  # every call recorded its region


@dataclass
class Aggregate:
    """Mutable totals; :meth:`principals` freezes them into records."""

    _tallies: dict[tuple[str, str, str, bool], _Tally] = field(default_factory=dict)
    _traces: dict[str, int] = field(default_factory=dict)
    _roles: dict[str, str | None] = field(default_factory=dict)
    # Actions calls may have needed (PrincipalUsage.possible), keyed denied=False
    _possible: dict[tuple[str, str, str, bool], _Tally] = field(default_factory=dict)
    # One tuple per region, shared by the tallies of calls to it alone (most of them): one
    # per access would grow with the accesses (an S3 object key per trace)
    _regions: dict[str | None, tuple[str, ...]] = field(default_factory=dict)
    # Denied accesses: what their errors said refused them (Access.refused_by)
    _refusals: dict[tuple[str, str, str, bool], set[str]] = field(default_factory=dict)

    def seen(self, principal: str, role: str | None) -> None:
        """The principal appears in one more trace."""
        self._traces[principal] = self._traces.get(principal, 0) + 1
        if self._roles.get(principal) is None:
            self._roles[principal] = role

    def merge(self, principal: str, action: str, resource: str, denied: bool, known: bool,
              count: int, first: float | None, last: float | None,
              trace_ids: tuple[str, ...], possible: bool = False,
              region: str | None = None) -> None:
        """Add ``count`` calls seen between ``first`` and ``last`` at once (``possible``:
        calls that may have needed the action, whether refused or not), sent to ``region``
        (None: their subsegments recorded none)."""
        tallies = self._possible if possible else self._tallies
        key = (principal, action, resource, denied and not possible)
        tally = tallies.get(key)
        if tally is None:  # the common case: most accesses come from one call shape
            tallies[key] = _Tally(count, first, last,
                                  list(dict.fromkeys(trace_ids))[:MAX_SAMPLE_TRACES], known,
                                  self._alone(region), region is not None)
            return
        if region is None:
            tally.region_known = False
        elif region not in tally.regions:
            tally.regions = tuple(sorted((*tally.regions, region)))
        tally.count += count
        if first is not None and (tally.first is None or first < tally.first):
            tally.first = first
        if last is not None and (tally.last is None or last > tally.last):
            tally.last = last
        samples = tally.trace_ids
        for trace_id in trace_ids:
            if len(samples) >= MAX_SAMPLE_TRACES:
                break
            if trace_id not in samples:
                samples.append(trace_id)
        if not known:
            tally.known = False

    def refused(self, principal: str, action: str, resource: str, outside: str) -> None:
        """The denied access's calls met ``outside``, a policy outside the role's own."""
        self._refusals.setdefault((principal, action, resource, True), set()).add(outside)

    def _alone(self, region: str | None) -> tuple[str, ...]:
        found = self._regions.get(region)
        if found is None:
            found = self._regions[region] = (region,) if region is not None else ()
        return found

    def principals(self) -> dict[str, PrincipalUsage]:
        """Each principal's accesses, sorted by (action, resource, denied)."""
        accesses = _by_principal(self._tallies, self._traces, self._refusals)
        possible = _by_principal(self._possible, self._traces)
        return {
            principal: PrincipalUsage(
                principal=principal,
                role=self._roles.get(principal),
                traces=self._traces.get(principal, 0),
                accesses=tuple(found),
                possible=tuple(possible.get(principal, ())),
            )
            for principal, found in sorted(accesses.items())
        }


def _by_principal(tallies: dict[tuple[str, str, str, bool], _Tally],
                  principals: dict[str, int],
                  refusals: dict[tuple[str, str, str, bool], set[str]] | None = None,
                  ) -> dict[str, list[Access]]:
    found: dict[str, list[Access]] = {p: [] for p in sorted(principals)}
    for key in sorted(tallies):  # tuples of text compare in C: one sort for all
        principal, action, resource, denied = key
        tally = tallies[key]
        own = found.get(principal)
        if own is None:
            own = found[principal] = []
        refused = refusals.get(key) if refusals and denied else None
        own.append(Access(principal, action, resource, tally.count, denied, tally.first,
                          tally.last, tuple(tally.trace_ids), tally.known,
                          tally.regions, tally.region_known,
                          tuple(sorted(refused)) if refused else ()))
    return found
