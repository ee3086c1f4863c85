from __future__ import annotations

from leastpriv_ci.catalog import get_catalog


def test_lookup_is_case_insensitive_and_returns_catalog_spelling() -> None:
    catalog = get_catalog()
    assert catalog.canonical("S3:getobject") == "s3:GetObject"
    assert catalog.canonical("s3:HeadObject") is None  # an API operation, not an IAM action


def test_access_levels_and_resource_level_support() -> None:
    catalog = get_catalog()
    get_object = catalog.action("s3:GetObject")
    list_buckets = catalog.action("s3:ListAllMyBuckets")
    assert get_object is not None and list_buckets is not None
    assert get_object.access_level == "Read"
    assert get_object.resource_level
    assert list_buckets.access_level == "List"
    assert not list_buckets.resource_level


def test_an_action_may_name_none_of_its_one_optional_resource_type() -> None:
    catalog = get_catalog()

    def scoped(name: str) -> bool:
        info = catalog.action(name)
        assert info is not None
        return info.optionally_scoped

    assert scoped("cloudwatch:PutMetricData")  # a dataset only when the request names one
    assert not scoped("lambda:InvokeFunction")  # its function is required
    assert not scoped("s3:DeleteObject")  # an object or an access point's: one applies
    assert not scoped("sts:GetCallerIdentity")  # no resource type at all


def test_combined_access_level_takes_the_most_sensitive_part() -> None:
    catalog = get_catalog()
    levels = {info.access_level for info in catalog}
    assert levels <= {"List", "Read", "Tagging", "Write", "Permissions management"}


def test_wildcard_expansion_follows_iam_rules() -> None:
    catalog = get_catalog()
    all_actions = catalog.expand("*")
    assert len(all_actions) == len(catalog) > 15_000
    s3_all = {a.full_name for a in catalog.expand("s3:*")}
    assert "s3:GetObject" in s3_all
    assert not any(name.startswith("s3express:") for name in s3_all)
    gets = {a.full_name for a in catalog.expand("dynamodb:Get*")}
    assert gets >= {"dynamodb:GetItem", "dynamodb:GetRecords"}
    assert all(name.startswith("dynamodb:Get") for name in gets)
    assert {a.full_name for a in catalog.expand("dynamodb:getitem")} == {"dynamodb:GetItem"}
    assert {a.full_name for a in catalog.expand("s?s:SendMessage")} == {
        "sqs:SendMessage", "sms:SendMessage"}
    assert catalog.expand("dynamodb:[G]etItem") == []  # no character classes in IAM


def test_covers_any_agrees_with_expansion() -> None:
    catalog = get_catalog()
    for pattern in ("dynamodb:GetItem", "DYNAMODB:getitem", "dynamodb:MakeCoffee", "dynamodb",
                    "nosuchservice:GetItem", "s3:Get*", "s3:Teleport*", "s?s:SendMessage",
                    "dynamodb:GetItem:extra", ":", ""):
        assert catalog.covers_any(pattern) == bool(catalog.expand(pattern)), pattern
    assert catalog.covers_any("DYNAMODB:getitem")
    assert not catalog.covers_any("dynamodb:MakeCoffee")
