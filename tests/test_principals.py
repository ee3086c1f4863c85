from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from botocore.stub import Stubber

from leastpriv_ci.emulator import Emulator
from leastpriv_ci.errors import ServiceError
from leastpriv_ci.grants.model import Binding, GrantSet, ResolveContext
from leastpriv_ci.grants.sources import sam
from leastpriv_ci.notices import Notices
from leastpriv_ci.principals import PrincipalName, resolve_roles, untraced
from leastpriv_ci.records import Origin

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:"


@pytest.fixture
def grants(data_dir: Path) -> object:
    return sam.load(data_dir / "grants/sam/template.yaml", ResolveContext(), Notices())


def code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def deploy(aws: Emulator, name: str, role_name: str, tags: dict[str, str]) -> str:
    iam = aws.client("iam")
    try:
        role_arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        created = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=TRUST)
        role_arn = created["Role"]["Arn"]
    function = aws.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=role_arn, Handler="app.handler",
        Code={"ZipFile": code()}, Tags=tags)
    return str(function["FunctionArn"])


def test_principal_names() -> None:
    assert PrincipalName.parse(FUNCTION + "api:live").name == "api"
    assert PrincipalName.parse(
        "arn:aws:ecs:us-east-1:123456789012:task-definition/worker:7").name == "worker"
    assert PrincipalName.parse("worker").service == ""


def test_offline_matches_function_names_and_mapping_wins(grants: object) -> None:
    notices = Notices()
    resolved = resolve_roles(
        [FUNCTION + "create-note-staging", FUNCTION + "ReportFunction", FUNCTION + "unknown",
         FUNCTION + "ListNotesFunction"],
        grants, mapping={"ListNotesFunction": "SharedReportingRole"},  # type: ignore[arg-type]
        notices=notices)
    assert resolved == {
        FUNCTION + "create-note-staging": "CreateNoteFunctionRole",
        FUNCTION + "ReportFunction": "SharedReportingRole",
        FUNCTION + "unknown": None,
        FUNCTION + "ListNotesFunction": "SharedReportingRole",
    }
    assert notices.count("principal-unresolved") == 1


def _binding(logical: str, role: str, file: str = "template.yaml") -> Binding:
    return Binding(function=logical, role=role, names=(logical,),
                   origin=Origin(file=file, logical_id=logical))


def test_offline_names_cloudformation_generated_are_matched_to_their_logical_ids() -> None:
    # STACK-LOGICALID-SUFFIX, either part cut short to fit 64 characters; a CDK stack's
    # template (cdk.out/STACK.template.json) wants its own stack's name
    grants = GrantSet(bindings=(
        _binding("CreateNoteFunction", "CreateRole"),
        _binding("Handler886CB40B", "DevRole", "cdk.out/DevStack.template.json"),
        _binding("Handler886CB40B", "ProdRole", "cdk.out/ProdStack.template.json"),
        _binding("VeryLongLogicalIdOfTheHandler1234ABCD", "LongRole",
                 "cdk.out/VeryLongStackNameOfTheService.template.json"),
        _binding("HandlerFunctionAB", "OtherRole")))
    names = {
        "notes-app-CreateNoteFunction-AbC123XyZ789": "CreateRole",
        "DevStack-Handler886CB40B-AbCdEfGhIjKl": "DevRole",
        "ProdStack-Handler886CB40B-ZyXwVuTsRqPo": "ProdRole",
        "VeryLongStackName-VeryLongLogicalIdOf-ABCDEFGHIJKL": "LongRole",
        "OtherStack-Handler886CB40B-AbCdEfGhIjKl": None,  # no such CDK stack here
        "orders-Handler-ABCDEFGHIJKL": None,  # too little of a logical ID to tell
        "notes-app-CreateNoteFunction": None,  # no suffix: a name given, not generated
    }
    notices = Notices()
    identities: dict[str, frozenset[str]] = {}
    resolved = resolve_roles([FUNCTION + n for n in names], grants, notices=notices,
                             identities=identities)
    assert resolved == {FUNCTION + n: role for n, role in names.items()}
    assert "CreateNoteFunction" in identities[FUNCTION + "notes-app-CreateNoteFunction-"
                                                         "AbC123XyZ789"]
    # two templates (not CDK stacks) binding one logical ID to two roles: ambiguous
    twice = GrantSet(bindings=(_binding("Fn", "A"), _binding("Fn", "B", "other.yaml")))
    notices = Notices()
    assert resolve_roles([FUNCTION + "app-Fn-ABCDEFGHIJKL"], twice, notices=notices) == {
        FUNCTION + "app-Fn-ABCDEFGHIJKL": None}
    assert notices.count("principal-ambiguous") == 1
    # with a stack configured, a template's functions are that stack's
    configured = resolve_roles(
        [FUNCTION + "notes-app-CreateNoteFunction-AbC123XyZ789",
         FUNCTION + "notes-staging-CreateNoteFunction-AbC123XyZ789"],
        grants, stack_name="notes-staging", notices=Notices())
    assert list(configured.values()) == [None, "CreateRole"]


def test_lambda_tags_name_the_declared_role_and_alias_the_account_arn(
    aws: Emulator, grants: object
) -> None:
    # moto does not tag functions the way CloudFormation does; do it as CloudFormation would.
    arn = deploy(aws, "notes-staging-CreateNote-AbC123", "notes-staging-CreateNoteRole-XyZ",
                 {"aws:cloudformation:logical-id": "CreateNoteFunction",
                  "aws:cloudformation:stack-name": "notes-staging"})
    other = deploy(aws, "hand-made", "hand-made-role", {})
    aliases: dict[str, str] = {}
    resolved = resolve_roles([arn, other], grants, session=aws,  # type: ignore[arg-type]
                             stack_name="notes-staging", notices=Notices(), aliases=aliases)
    assert resolved == {
        arn: "CreateNoteFunctionRole",
        other: "arn:aws:iam::123456789012:role/hand-made-role",  # attached role, not declared
    }
    assert aliases == {
        "arn:aws:iam::123456789012:role/notes-staging-CreateNoteRole-XyZ": "CreateNoteFunctionRole"}


def test_tags_of_another_stack_are_not_trusted(aws: Emulator, grants: object) -> None:
    arn = deploy(aws, "elsewhere", "elsewhere-role",
                 {"aws:cloudformation:logical-id": "CreateNoteFunction",
                  "aws:cloudformation:stack-name": "another-stack"})
    # nor is its name, generated for that logical ID in that stack
    generated = deploy(aws, "notes-staging-CreateNoteFunction-AbC123XyZ789", "elsewhere-role",
                       {"aws:cloudformation:logical-id": "CreateNoteFunction",
                        "aws:cloudformation:stack-name": "another-stack"})
    resolved = resolve_roles([arn, generated], grants,  # type: ignore[arg-type]
                             session=aws, stack_name="notes-staging", notices=Notices())
    assert resolved == {arn: "arn:aws:iam::123456789012:role/elsewhere-role",
                        generated: "arn:aws:iam::123456789012:role/elsewhere-role"}


def test_tags_choose_among_stacks_of_one_class_by_their_template(aws: Emulator) -> None:
    # cdk.out holds Dev.template.json and Prod.template.json, one logical ID in both
    grants = GrantSet(bindings=tuple(
        Binding(function="Handler", role=role, names=("Handler",),
                origin=Origin(file=f"cdk.out/{stack}.template.json", logical_id="Handler"))
        for stack, role in (("Dev", "HandlerRole"),
                            ("Prod", "cdk.out/Prod.template.json#HandlerRole"))))
    functions = {stack: deploy(aws, f"{stack}-Handler886CB40B-{stack}", f"{stack}-role",
                               {"aws:cloudformation:logical-id": "Handler",
                                "aws:cloudformation:stack-name": stack})
                 for stack in ("Dev", "Prod", "Other")}
    notices = Notices()
    resolved = resolve_roles(list(functions.values()), grants, session=aws, notices=notices)
    assert resolved == {functions["Dev"]: "HandlerRole",
                        functions["Prod"]: "cdk.out/Prod.template.json#HandlerRole",
                        # no template of its own: not a guess among the others, its role
                        # in the account
                        functions["Other"]: "arn:aws:iam::123456789012:role/Other-role"}
    [unmatched] = [n for n in notices.items() if n.code == "principal-stack-unmatched"]
    assert unmatched.examples == (f"{functions['Other']}: Handler in stack Other",)


def test_stack_resources_map_physical_names_to_logical_ids(
    aws: Emulator, grants: object
) -> None:
    iam = aws.client("iam")
    role_arn = iam.create_role(RoleName="stack-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    template = {"Resources": {"ListNotesFunction": {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Runtime": "python3.12", "Handler": "app.handler", "Role": role_arn,
                       "Code": {"ZipFile": "def handler(event, context):\n    return {}\n"}},
    }}}
    cloudformation = aws.client("cloudformation")
    cloudformation.create_stack(StackName="notes-staging", TemplateBody=json.dumps(template))
    [resource] = cloudformation.list_stack_resources(
        StackName="notes-staging")["StackResourceSummaries"]
    principal = FUNCTION + resource["PhysicalResourceId"]  # a generated name, untagged by moto
    notices = Notices()
    aliases: dict[str, str] = {}
    resolved = resolve_roles([principal], grants, session=aws,  # type: ignore[arg-type]
                             stack_name="notes-staging", notices=notices, aliases=aliases)
    assert resolved == {principal: "ListNotesFunctionRole"}
    assert aliases == {role_arn: "ListNotesFunctionRole"}


def test_missing_stack_is_a_warning(aws: Emulator, grants: object) -> None:
    notices = Notices()
    resolve_roles([FUNCTION + "ReportFunction"], grants, session=aws,  # type: ignore[arg-type]
                  stack_name="nope", notices=notices)
    assert notices.count("stack-not-found") == 1
    assert notices.count("function-not-found") == 1


def test_stack_role_name_maps_to_the_declared_role(aws: Emulator, grants: object) -> None:
    template = {"Resources": {"SharedReportingRole": {
        "Type": "AWS::IAM::Role",
        "Properties": {"AssumeRolePolicyDocument": json.loads(TRUST)},
    }}}
    cloudformation = aws.client("cloudformation")
    cloudformation.create_stack(StackName="notes-staging", TemplateBody=json.dumps(template))
    [resource] = cloudformation.list_stack_resources(
        StackName="notes-staging")["StackResourceSummaries"]
    arn = deploy(aws, "renamed-by-hand", resource["PhysicalResourceId"], {})
    aliases: dict[str, str] = {}
    resolved = resolve_roles([arn], grants, session=aws,  # type: ignore[arg-type]
                             stack_name="notes-staging", notices=Notices(), aliases=aliases)
    assert resolved == {arn: "SharedReportingRole"}
    assert list(aliases.values()) == ["SharedReportingRole"]


def test_untraced_lists_declared_functions_of_a_traced_role_that_had_no_traces(
    grants: object,
) -> None:
    # ReportFunction and ExportFunction both run as SharedReportingRole; only one traced
    report, create = FUNCTION + "ReportFunction", FUNCTION + "create-note-staging"
    identities: dict[str, frozenset[str]] = {}
    resolved = resolve_roles([report, create], grants,  # type: ignore[arg-type]
                             notices=Notices(), identities=identities)
    assert identities[report] == {report, "ReportFunction"}
    found = untraced(grants, {}, resolved, identities)  # type: ignore[arg-type]
    assert found == {"SharedReportingRole": ("ExportFunction",)}
    # both traced: nothing to say
    both = [report, FUNCTION + "ExportFunction"]
    identities = {}
    resolved = resolve_roles(both, grants, notices=Notices(),  # type: ignore[arg-type]
                             identities=identities)
    assert untraced(grants, {}, resolved, identities) == {}  # type: ignore[arg-type]


def test_untraced_allows_for_principals_known_only_by_mapping(grants: object) -> None:
    # A traced principal mapped to the role under a name no declaration has may be the
    # untraced declaration: one such principal answers for one unmatched declaration.
    report, custom = FUNCTION + "ReportFunction", FUNCTION + "nightly-export"
    mapping = {"nightly-export": "SharedReportingRole"}
    identities: dict[str, frozenset[str]] = {}
    resolved = resolve_roles([report, custom], grants, mapping=mapping,  # type: ignore[arg-type]
                             notices=Notices(), identities=identities)
    assert resolved[custom] == "SharedReportingRole"
    assert untraced(grants, mapping, resolved, identities) == {}  # type: ignore[arg-type]
    # a mapping entry names its principal: with no trace of it, it is listed
    mapping = {"nightly-export": "SharedReportingRole", "weekly-export": "SharedReportingRole"}
    found = untraced(grants, mapping, resolved, identities)  # type: ignore[arg-type]
    assert found == {"SharedReportingRole": ("weekly-export",)}
    # a segment mapped straight to a role is traced under the role's ARN: not untraced
    role_arn = "arn:aws:iam::123456789012:role/ops"
    segment = {"ops-box": role_arn}
    identities = {}
    resolved = resolve_roles([role_arn], grants, mapping=segment,  # type: ignore[arg-type]
                             notices=Notices(), identities=identities)
    assert resolved == {role_arn: role_arn}
    assert untraced(grants, segment, resolved, identities) == {}  # type: ignore[arg-type]


def test_a_mapping_may_name_a_role_with_a_role_name_by_its_logical_id() -> None:
    # NotesFunctionRole sets RoleName: its key is its ARN, yet configs name it by its ID
    template = Path(__file__).parents[1] / "examples/notes-app/template.yaml"
    grants = sam.load(template, ResolveContext(parameters={"Stage": "staging"}), Notices())
    key = next(k for k, r in grants.roles.items() if r.origin.logical_id == "NotesFunctionRole")
    assert key.startswith("arn:aws:iam::") and key.endswith(":role/notes-app-staging")
    notices = Notices()
    resolved = resolve_roles([FUNCTION + "traced-by-name"], grants,
                             mapping={"traced-by-name": "NotesFunctionRole"}, notices=notices)
    assert resolved == {FUNCTION + "traced-by-name": key}


PROFILES = Path(__file__).parent / "data" / "grants"


def test_a_principal_mapped_to_an_instance_profile_runs_as_the_profiles_role() -> None:
    from leastpriv_ci.grants.sources import cloudformation, terraform

    profile = "arn:aws:iam::123456789012:instance-profile/"
    task = "arn:aws:ecs:us-east-1:123456789012:task-definition/worker"
    role = "arn:aws:iam::123456789012:role/"
    template = cloudformation.load(PROFILES / "cfn/ec2-instance-profile.yaml",
                                   ResolveContext(), Notices())
    notices = Notices()
    assert resolve_roles(
        [profile + "web-profile",  # the principal map's value: its InstanceProfileName
         profile + "ops/web-profile",  # a path does not matter: names are unique
         profile + "ec2-stack-BatchProfile-AbCdEfGhIjKl",  # a name CloudFormation generated
         "WebServer",  # a principal mapped to an instance's logical ID
         "WebLaunchConfig",  # to an Auto Scaling launch configuration's
         "WebAsg",  # to an Auto Scaling group's, through its launch template
         "WebConfigAsg",  # or its launch configuration
         task],  # mapped, in the configuration, to a profile
        template, mapping={task: profile + "web-profile"}, notices=notices) == {
        profile + "web-profile": "WebRole",
        profile + "ops/web-profile": "WebRole",
        profile + "ec2-stack-BatchProfile-AbCdEfGhIjKl": role + "batch-role",
        "WebServer": "WebRole",
        "WebLaunchConfig": "WebRole",
        "WebAsg": "WebRole",
        "WebConfigAsg": "WebRole",
        task: "WebRole",
    }
    assert not notices.count("principal-unresolved")
    module = terraform.load(PROFILES / "terraform/ec2/main.tf", ResolveContext(), Notices())
    notices = Notices()
    assert resolve_roles(
        [profile + "batch-profile", "aws_launch_template.web",
         "aws_launch_configuration.batch", "aws_autoscaling_group.web",
         "aws_autoscaling_group.batch", profile + "elsewhere"],
        module, notices=notices) == {
        profile + "batch-profile": role + "jobs/batch-role",
        "aws_launch_template.web": role + "web-role",
        "aws_launch_configuration.batch": role + "jobs/batch-role",
        # through the launch template, or the launch configuration, they run
        "aws_autoscaling_group.web": role + "web-role",
        "aws_autoscaling_group.batch": role + "jobs/batch-role",
        profile + "elsewhere": None,  # no scanned file declares it: never a role of its name
    }
    assert notices.count("principal-unresolved") == 1
    # two files declaring one profile name for two roles: which one is not guessed
    notices = Notices()
    assert resolve_roles([profile + "web-profile"], template.merged(module),
                         notices=notices) == {profile + "web-profile": None}
    assert notices.count("principal-ambiguous") == 1


def test_a_traced_principal_matches_only_declarations_of_its_kind() -> None:
    # One name for a function, a task family and an instance profile (an app's "web"):
    # the function's trace is the function's, the task's the task definition's.
    def bound(kind: str, role: str) -> Binding:
        return Binding(function="web", role=role, kind=kind)

    task = "arn:aws:ecs:us-east-1:123456789012:task-definition/web"
    everything = GrantSet(bindings=(bound("instance-profile", "ProfileRole"),
                                    bound("ecs-task-definition", "TaskRole"),
                                    bound("lambda-function", "FunctionRole")))
    notices = Notices()
    assert resolve_roles([FUNCTION + "web", task], everything, notices=notices) == {
        FUNCTION + "web": "FunctionRole", task: "TaskRole"}
    assert notices.count("principal-ambiguous") == 0
    # no function declared by that name: not the profile's role, not the task's
    others = GrantSet(bindings=everything.bindings[:2])
    assert resolve_roles([FUNCTION + "web"], others, notices=notices) == {
        FUNCTION + "web": None}
    assert notices.count("principal-unresolved") == 1


def test_a_generated_name_spelling_its_stack_whole_prefers_that_stack() -> None:
    # Api-Handler886CB40B-…: stack Api's function, not the nested stack's whose stand-in
    # name only starts with "Api"; a template of no known stack could be Api itself
    def bound(file: str, role: str) -> Binding:
        return Binding(function="Handler886CB40B", role=role, kind="lambda-function",
                       origin=Origin(file=file, logical_id="Handler886CB40B"))

    parent = bound("cdk.out/Api.template.json", "ParentRole")
    nested = bound("cdk.out/ApiStore1A2B3C4D.nested.template.json", "NestedRole")
    elsewhere = bound("template.yaml", "OtherRole")
    name = FUNCTION + "Api-Handler886CB40B-AbCdEfGhIjKl"
    notices = Notices()
    assert resolve_roles([name], GrantSet(bindings=(nested, parent)), notices=notices) == {
        name: "ParentRole"}
    assert resolve_roles([name], GrantSet(bindings=(nested, parent, elsewhere)),
                         notices=notices) == {name: None}
    assert notices.count("principal-ambiguous") == 1


def test_a_profile_no_file_declares_is_looked_up_in_the_account(aws: Emulator) -> None:
    from leastpriv_ci.grants.sources import cloudformation

    profile = "arn:aws:iam::123456789012:instance-profile/"
    iam = aws.client("iam")
    # the template's WebRole as the stack made it: a name CloudFormation generated
    stack = {"Resources": {"WebRole": {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": json.loads(TRUST)}}}}
    stacks = aws.client("cloudformation")
    stacks.create_stack(StackName="ec2-stack", TemplateBody=json.dumps(stack))
    [resource] = stacks.list_stack_resources(
        StackName="ec2-stack")["StackResourceSummaries"]
    web_role = resource["PhysicalResourceId"]
    iam.create_instance_profile(InstanceProfileName="legacy-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="legacy-profile", RoleName=web_role)
    for profile_name, role_name in (("batch-profile", "batch-role"),
                                    ("ops-profile", "ops-role"),
                                    ("empty-profile", None)):
        iam.create_instance_profile(InstanceProfileName=profile_name, Path="/ops/")
        if role_name is not None:
            iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=TRUST)
            iam.add_role_to_instance_profile(InstanceProfileName=profile_name,
                                             RoleName=role_name)
    template = cloudformation.load(PROFILES / "cfn/ec2-instance-profile.yaml",
                                   ResolveContext(), Notices())
    notices = Notices()
    aliases: dict[str, str] = {}
    resolved = resolve_roles(
        [profile + "web-profile",  # declared: the template's, the account never asked
         "legacy-api",  # mapped to a profile of the account's whose role is declared
         profile + "batch-profile",  # the account's, holding a role declared by name
         profile + "ops/ops-profile",  # the account's role, declared nowhere
         profile + "empty-profile",  # holds no role
         profile + "gone-profile",  # the account has none of that name
         "other-api"],  # mapped to a profile of another account: not this one's namesake
        template, mapping={"legacy-api": profile + "legacy-profile",
                           "other-api": profile.replace("123456789012", "999999999999")
                           + "batch-profile"},
        session=aws, stack_name="ec2-stack", notices=notices,  # type: ignore[arg-type]
        aliases=aliases)
    assert resolved == {
        profile + "web-profile": "WebRole",
        "legacy-api": "WebRole",
        profile + "batch-profile": "arn:aws:iam::123456789012:role/batch-role",
        profile + "ops/ops-profile": "arn:aws:iam::123456789012:role/ops-role",
        profile + "empty-profile": None,
        profile + "gone-profile": None,
        "other-api": None,
    }
    assert aliases == {f"arn:aws:iam::123456789012:role/{web_role}": "WebRole"}
    assert notices.count("instance-profile-without-role") == 1
    assert notices.count("instance-profile-not-found") == 1
    assert notices.count("instance-profile-other-account") == 1
    assert not notices.count("principal-unresolved")


def test_each_undeclared_profile_is_asked_of_the_account_once(aws: Emulator) -> None:
    iam = aws.client("iam")
    iam.create_role(RoleName="web-role", AssumeRolePolicyDocument=TRUST)
    iam.create_instance_profile(InstanceProfileName="web-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="web-profile", RoleName="web-role")
    asked: list[str] = []
    iam.meta.events.register("provide-client-params.iam.GetInstanceProfile",
                             lambda params, **_: asked.append(params["InstanceProfileName"]))

    class Session:
        def client(self, service: str) -> object:
            return iam if service == "iam" else aws.client(service)

    profile = "arn:aws:iam::123456789012:instance-profile/web-profile"
    mapping = {"web-a": profile, "web-b": profile, "web-c": profile}
    identities: dict[str, frozenset[str]] = {}
    resolved = resolve_roles(["web-a", "web-b"], GrantSet(), mapping=mapping,
                             session=Session(), notices=Notices(), identities=identities)
    role = "arn:aws:iam::123456789012:role/web-role"
    assert set(resolved.values()) == {role}
    assert asked == ["web-profile"]
    # web-c, mapped to that profile too, had no traces: it runs as the account's role
    assert untraced(GrantSet(), mapping, resolved, identities) == {role: ("web-c",)}


def test_a_profile_declared_for_two_roles_is_not_settled_by_the_account() -> None:
    from leastpriv_ci.grants.sources import cloudformation, terraform

    class NoProfiles:
        def get_instance_profile(self, **kwargs: object) -> object:
            raise AssertionError("the account was asked")

    class NoAccount:
        def client(self, service: str) -> object:
            return NoProfiles()

    profile = "arn:aws:iam::123456789012:instance-profile/web-profile"
    grants = cloudformation.load(PROFILES / "cfn/ec2-instance-profile.yaml",
                                 ResolveContext(), Notices()).merged(
        terraform.load(PROFILES / "terraform/ec2/main.tf", ResolveContext(), Notices()))
    notices = Notices()
    assert resolve_roles([profile], grants, session=NoAccount(),
                         notices=notices) == {profile: None}
    assert notices.count("principal-ambiguous") == 1


def test_a_denied_profile_lookup_names_the_missing_permission(aws: Emulator) -> None:
    iam = aws.client("iam")

    class Session:
        def client(self, service: str) -> object:
            return iam if service == "iam" else aws.client(service)

    with Stubber(iam) as stub:
        stub.add_client_error("get_instance_profile", service_error_code="AccessDenied",
                              http_status_code=403)
        with pytest.raises(ServiceError, match="needs iam:GetInstanceProfile"):
            resolve_roles(["arn:aws:iam::123456789012:instance-profile/web"], GrantSet(),
                          session=Session(), notices=Notices())
