"""Counting accesses per (principal, action, resource, denied) across call shapes."""

from __future__ import annotations

from leastpriv_ci.records import MAX_SAMPLE_TRACES
from leastpriv_ci.usage.aggregate import Aggregate

FN = "arn:aws:lambda:eu-west-1:1:function:f"
OTHER = "arn:aws:lambda:eu-west-1:1:function:a"
TABLE = "arn:aws:dynamodb:eu-west-1:1:table/t"


def test_batches_of_one_access_add_up() -> None:
    totals = Aggregate()
    totals.seen(FN, None)
    many = tuple(f"t{n}" for n in range(MAX_SAMPLE_TRACES + 3))
    totals.merge(FN, "dynamodb:GetItem", TABLE, False, True, 3, 20.0, 30.0, ("t1", "t1", "t2"))
    totals.merge(FN, "dynamodb:GetItem", TABLE, False, False, 2, 10.0, 25.0, many)
    totals.merge(FN, "dynamodb:GetItem", TABLE, False, True, 1, None, None, ())
    (access,) = totals.principals()[FN].accesses
    assert access.count == 6
    assert (access.first_seen, access.last_seen) == (10.0, 30.0)
    assert access.trace_ids == ("t1", "t2", *many[:MAX_SAMPLE_TRACES])[:MAX_SAMPLE_TRACES]
    assert len(set(access.trace_ids)) == len(access.trace_ids)
    assert access.resource_known is False  # one batch without a known resource is enough


def test_a_first_batch_keeps_its_samples_unique_and_capped() -> None:
    totals = Aggregate()
    samples = ("a", "a", *(f"t{n}" for n in range(MAX_SAMPLE_TRACES + 3)))
    totals.merge(FN, "s3:GetObject", "*", True, False, 1, None, None, samples)
    (access,) = totals.principals()[FN].accesses
    assert access.trace_ids == ("a", *(f"t{n}" for n in range(MAX_SAMPLE_TRACES - 1)))
    assert access.denied and not access.resource_known
    assert (access.first_seen, access.last_seen) == (None, None)


def test_principals_and_their_accesses_come_sorted() -> None:
    totals = Aggregate()
    totals.seen(FN, "arn:aws:iam::1:role/r")
    totals.seen(FN, None)
    totals.seen(OTHER, None)
    for principal, action, resource, denied in [
        (FN, "s3:GetObject", "arn:aws:s3:::b/k", False),
        (FN, "dynamodb:GetItem", TABLE, True),
        (OTHER, "sqs:SendMessage", "arn:aws:sqs:eu-west-1:1:q", False),
        (FN, "dynamodb:GetItem", TABLE, False),
        ("arn:aws:lambda:eu-west-1:1:function:never-seen", "sns:Publish", "*", False),
    ]:
        totals.merge(principal, action, resource, denied, True, 1, None, None, ())
    usage = totals.principals()
    assert list(usage) == sorted(usage)
    assert [(a.action, a.denied) for a in usage[FN].accesses] == [
        ("dynamodb:GetItem", False), ("dynamodb:GetItem", True), ("s3:GetObject", False)]
    assert usage[FN].traces == 2 and usage[FN].role == "arn:aws:iam::1:role/r"
    assert usage[OTHER].traces == 1
    assert usage["arn:aws:lambda:eu-west-1:1:function:never-seen"].traces == 0


def test_an_access_keeps_the_regions_its_calls_recorded() -> None:
    totals = Aggregate()
    totals.merge(FN, "s3:GetObject", "arn:aws:s3:::b/k", False, True, 2, None, None, (),
                 region="eu-west-1")
    totals.merge(FN, "s3:GetObject", "arn:aws:s3:::b/k", False, True, 1, None, None, (),
                 region="eu-central-1")
    totals.merge(FN, "s3:GetObject", "arn:aws:s3:::b/k", False, True, 1, None, None, (),
                 region="eu-west-1")
    totals.merge(FN, "s3:PutObject", "arn:aws:s3:::b/k", False, True, 1, None, None, (),
                 region="eu-west-1")
    totals.merge(FN, "s3:PutObject", "arn:aws:s3:::b/k", False, True, 1, None, None, ())
    get, put = totals.principals()[FN].accesses
    assert (get.regions, get.region_known) == (("eu-central-1", "eu-west-1"), True)
    # a batch that recorded no region leaves the access's region open
    assert (put.regions, put.region_known) == (("eu-west-1",), False)


def test_calls_to_one_region_share_one_tuple() -> None:
    # one per access would grow with the accesses: an S3 object key per trace
    totals = Aggregate()
    for n in range(3):
        totals.merge(FN, "s3:GetObject", f"arn:aws:s3:::b/{n}", False, True, 1, None, None, (),
                     region="eu-west-1")
    first, *others = totals.principals()[FN].accesses
    assert all(a.regions is first.regions for a in others)
