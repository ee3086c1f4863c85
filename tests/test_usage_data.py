"""The usage data files checked against the IAM catalog."""

from __future__ import annotations

import pytest

from leastpriv_ci.bundled import load
from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.usage.operations import RESOURCE_KINDS, operations
from leastpriv_ci.usage.resources import PARSERS, resource_fields
from leastpriv_ci.usage.services import ServiceNames, normalise, service_names


def test_every_action_the_exceptions_produce_exists_in_iam() -> None:
    catalog = get_catalog()
    missing = sorted(a for a in operations().data_actions() if not catalog.exists(a))
    assert missing == []


def test_operations_that_need_no_permission_name_real_iam_actions() -> None:
    # each is an action IAM lists (a typo would silently count the call as use again)
    catalog = get_catalog()
    listed = load("operations.yaml")["no_permission"]
    names = [f"{prefix}:{operation}" for prefix, ops in listed.items() for operation in ops]
    assert names and all(catalog.exists(name) for name in names), names
    table = operations()
    assert all(table.needs_no_permission(*name.split(":")) for name in names)
    assert table.needs_no_permission("sts", "getcalleridentity")  # case as SDKs vary
    assert not table.needs_no_permission("sts", "AssumeRole")  # the identity policy decides


def test_exceptions_use_the_catalogs_spelling_and_known_resource_kinds() -> None:
    catalog = get_catalog()
    for step in operations().data_steps():
        assert catalog.canonical(step.action) == step.action
        assert step.resource in RESOURCE_KINDS


def test_every_sdk_service_prefix_is_an_iam_service() -> None:
    catalog = get_catalog()
    prefixes = set(load("sdk_services.yaml")["services"])
    assert sorted(p for p in prefixes if not catalog.has_service(p)) == []


def test_spellings_do_not_collide_between_services() -> None:
    seen: dict[str, str] = {}
    for prefix, spellings in load("sdk_services.yaml")["services"].items():
        for spelling in (prefix, *spellings):
            key = normalise(spelling)
            assert seen.setdefault(key, prefix) == prefix, f"{spelling} names two services"


def test_each_sdks_spelling_resolves() -> None:
    names = service_names()
    cases = {
        "dynamodb": "dynamodb", "DynamoDB": "dynamodb", "AmazonDynamoDBv2": "dynamodb",
        "DynamoDb": "dynamodb", "DynamoDBv2": "dynamodb", "Secrets Manager": "secretsmanager",
        "SecretsManager": "secretsmanager", "AWSSecretsManager": "secretsmanager",
        "s3": "s3", "AmazonS3": "s3", "SimpleNotificationService": "sns", "AWSLambda": "lambda",
        "Sfn": "states", "EventBridge": "events", "AWSKMS": "kms", "Firehose": "firehose",
        "AWSSimpleSystemsManagement": "ssm", "SimpleEmailServiceV2": "ses", "STS": "sts",
        "Kinesis": "kinesis", "SQS": "sqs",
    }
    assert {name: names.prefix(name) for name in cases} == cases
    assert names.prefix("my-function") is None


def test_a_name_that_is_an_iam_prefix_resolves_through_the_catalog() -> None:
    # Services the data file does not list, in the Node/Go (serviceId) and Python
    # (endpoint prefix) spellings
    names = service_names()
    cases = {"AppSync": "appsync", "appsync": "appsync", "CodeBuild": "codebuild",
             "Route 53": "route53", "ECR": "ecr", "api.ecr": "ecr", "Cognito Identity":
             "cognito-identity", "portal.sso": "sso",
             # the data wins: OpenSearch Service is authorized as es, not as IAM's
             # "opensearch" (another service)
             "OpenSearch": "es", "opensearch": "es"}
    assert {name: names.prefix(name) for name in cases} == cases
    # still no guess for a name that is no IAM prefix nor a botocore service's
    assert names.prefix("Elastic Load Balancing v3") is None


def test_a_java_v1_client_name_resolves_through_the_catalog() -> None:
    # Java v1 names the service by its client class, which the data file cannot list
    # for every service: AWS or Amazon, the service, perhaps Client
    names = service_names()
    cases = {"AWSCodeBuild": "codebuild", "AmazonTextract": "textract",
             "AWSMediaConvert": "mediaconvert", "AmazonRekognitionClient": "rekognition",
             "AmazonRoute53": "route53",
             # the data still wins where it has the spelling
             "AmazonCloudWatchLogs": "logs", "AmazonOpenSearch": "es",
             # and a name that is no service stays unknown
             "AWSNoSuchService": None, "Amazon": None, "AWSClient": None}
    assert {name: names.prefix(name) for name in cases} == cases


def test_catalog_spellings_never_name_another_service_than_botocore_signs_for() -> None:
    # A serviceId or endpoint prefix that is another service's IAM prefix would put its
    # calls on the wrong service: the data must override it (as for OpenSearch)
    import botocore.session

    catalog = get_catalog()
    names = service_names()
    session = botocore.session.get_session()
    wrong = []
    for service in ("opensearch", "appsync", "ecr", "codebuild", "route53", "sso",
                    "cognito-identity", "sms-voice", "iot-jobs-data", "appstream"):
        metadata = session.get_service_model(service).metadata
        signs = metadata.get("signingName") or metadata["endpointPrefix"]
        for spelling in (service, metadata.get("serviceId") or "", metadata["endpointPrefix"]):
            found = names.prefix(spelling)
            if found is not None and catalog.has_service(signs) and found != signs:
                wrong.append((spelling, found, signs))
    assert wrong == []


def test_resource_fields_name_catalog_types_and_known_parsers() -> None:
    table = resource_fields()  # raises on a type the catalog lacks
    for specs in table.by_service.values():
        for spec in specs:
            for _var, refs in spec.vars:
                assert all(ref.parser is None or ref.parser in PARSERS for ref in refs)
    catalog = get_catalog()
    assert all(catalog.has_service(s) for s in table.by_service)


def test_required_services_have_resource_rules() -> None:
    required = {"dynamodb", "s3", "sqs", "sns", "lambda", "kinesis", "firehose",
                "secretsmanager", "ssm", "kms", "events", "states", "sts", "ses"}
    assert required <= set(resource_fields().by_service)
    assert required <= set(load("sdk_services.yaml")["services"])


def test_unlisted_operation_maps_only_when_iam_has_it() -> None:
    table = operations()
    steps = table.steps("dynamodb", "GetItem")
    assert steps is not None
    assert [s.action for s in steps] == ["dynamodb:GetItem"]
    assert table.steps("dynamodb", "TransactWriteItems") is None
    assert table.steps("s3", "HeadObject") is not None


def test_every_sdk_spelling_of_a_known_service_names_the_same_service() -> None:
    # The Python SDK names a subsegment by the service's endpoint prefix (SES: "email"),
    # Node and Go by its serviceId, and botocore's own name is a third spelling. Known
    # spellings never disagree, and a service known by its serviceId or name is known by
    # its endpoint prefix too (several services share one: DocumentDB and Neptune "rds").
    # The data's spellings only: the catalog's prefixes resolve nearly every serviceId,
    # and a future botocore's new endpoint prefix must not fail this test.
    import botocore.session

    names = ServiceNames(load("sdk_services.yaml"))
    session = botocore.session.get_session()
    wrong = []
    for service in session.get_available_services():
        metadata = session.get_service_model(service).metadata
        by_name = names.prefix(service) or names.prefix(metadata.get("serviceId") or "")
        by_endpoint = names.prefix(metadata["endpointPrefix"])
        if by_name is not None and by_endpoint != by_name:
            wrong.append((service, metadata["endpointPrefix"], by_name, by_endpoint))
    assert wrong == []


def test_ruby_and_java_v1_names_never_resolve_to_another_service() -> None:
    # The Ruby SDK names a subsegment by the model's serviceAbbreviation ("Amazon SQS",
    # "AWS SFN"), Java v1 by its client class; both resolve through the data, the
    # catalog, or without their AWS/Amazon. None of them may land on another service
    # than botocore's own name for it does (resolving to none is allowed)
    import botocore.session

    names = service_names()
    session = botocore.session.get_session()
    wrong, resolved = [], 0
    for service in session.get_available_services():
        metadata = session.get_service_model(service).metadata
        own = names.prefix(service) or names.prefix(metadata["endpointPrefix"])
        for label in (metadata.get("serviceAbbreviation"), metadata.get("serviceId")):
            found = names.prefix(label) if label else None
            resolved += found is not None
            if found is not None and own is not None and found != own:
                wrong.append((service, label, found, own))
    assert wrong == []
    assert resolved > 400
    cases = {"Amazon SQS": "sqs", "AWS SFN": "states", "Amazon SES": "ses",
             "Amazon EC2": "ec2", "AWS Lambda": "lambda", "Amazon DynamoDB": "dynamodb"}
    assert {label: names.prefix(label) for label in cases} == cases


@pytest.mark.parametrize(("prefix", "operation", "action"), [
    ("s3", "GetObjectLockConfiguration", "s3:GetBucketObjectLockConfiguration"),
    ("s3", "DeletePublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
    ("s3", "ListBucketIntelligentTieringConfigurations", "s3:GetIntelligentTieringConfiguration"),
    ("s3", "PutBucketLifecycle", "s3:PutLifecycleConfiguration"),
    # Java v1 and .NET request-class names
    ("s3", "SetBucketNotificationConfiguration", "s3:PutBucketNotification"),
    ("s3", "SetBucketCrossOriginConfiguration", "s3:PutBucketCORS"),
    ("s3", "SetPublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
    ("s3", "GetS3AccountOwner", "s3:ListAllMyBuckets"),
    ("s3", "PutBucket", "s3:CreateBucket"),
    ("s3", "PutCORSConfiguration", "s3:PutBucketCORS"),
    ("lambda", "GetLayerVersionByArn", "lambda:GetLayerVersion"),
    ("dynamodb", "TransactGetItems", "dynamodb:GetItem"),
    ("dynamodb", "GetItem", "dynamodb:GetItem"),  # same name: from the catalog
])
def test_operations_whose_action_has_another_name(prefix: str, operation: str,
                                                  action: str) -> None:
    steps = operations().steps(prefix, operation)
    assert steps is not None and [s.action for s in steps] == [action]


def test_kms_on_behalf_names_catalog_actions_only() -> None:
    catalog = get_catalog()
    table = load("kms_on_behalf.yaml")["actions"]
    named = [a for call, kms in table.items() for a in (call, *kms)]
    assert sorted(a for a in named if catalog.canonical(a) != a) == []
    assert all(a.startswith("kms:") for kms in table.values() for a in kms)


def test_ses_send_actions_are_catalog_actions() -> None:
    catalog = get_catalog()
    named = load("ses_identities.yaml")["send_actions"]
    assert named and sorted(a for a in named if catalog.canonical(a) != a) == []
