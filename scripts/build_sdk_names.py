"""Rebuild ``leastpriv_ci/data/sdk_names.json`` from botocore's service models.

Run after upgrading botocore, from the repository root: ``python -m scripts.build_sdk_names``.

Node, Go and Java v2 name a subsegment by the service's ``serviceId`` (``Bedrock Agent
Runtime``, ``ApiGatewayV2``, ``EFS``), Python by its endpoint prefix. Where the endpoint
prefix, botocore's name for the service or its signing name resolves to an IAM prefix
(through ``sdk_services.yaml`` and the catalog) and the service ID does not, the file
maps the service ID (and the service's botocore name and endpoint prefix, which the
Python SDK names it by) to that prefix. It also lists the botocore services under each
prefix, whose endpoint rule sets decide ``aws:RequestedRegion`` (``analysis/regions.py``).
``tests/test_sdk_names.py`` checks the file against the installed botocore.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import botocore
import orjson

from leastpriv_ci.analysis.regions import botocore_loader
from leastpriv_ci.bundled import load
from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.usage.operations import operations
from leastpriv_ci.usage.services import ServiceNames, normalise

OUTPUT = Path(__file__).resolve().parent.parent / "leastpriv_ci" / "data" / "sdk_names.json"


def build() -> dict[str, Any]:
    """The document to write."""
    # without the generated names: they must come from the data and the catalog alone
    names = ServiceNames(load("sdk_services.yaml"), get_catalog().service_names)
    loader = botocore_loader()
    spellings: dict[str, str] = {}
    services: dict[str, list[str]] = {}
    for service in loader.list_available_services("service-2"):
        model = loader.load_service_model(service, "service-2")
        metadata = model["metadata"]
        prefix = next((found for found in (
            names.prefix(metadata["endpointPrefix"]), names.prefix(service),
            names.prefix(metadata.get("signingName") or "")) if found), None)
        if prefix is None:
            continue
        # a service IAM authorizes none of under the prefix (IAM Toolbox, signed as iam)
        # makes no call the tool puts there
        if any(operations().steps(prefix, operation) for operation in model["operations"]):
            services.setdefault(prefix, []).append(service)
        for spelling in (metadata.get("serviceId"), service, metadata["endpointPrefix"]):
            if spelling and names.prefix(spelling) is None:
                spellings.setdefault(normalise(spelling), prefix)
    return {"schema": 1, "botocore": botocore.__version__,
            "spellings": dict(sorted(spellings.items())),
            "botocore_services": {p: sorted(found) for p, found in sorted(services.items())}}


def main() -> int:
    document = build()
    OUTPUT.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"wrote {OUTPUT}: {len(document['spellings'])} names, botocore {botocore.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
