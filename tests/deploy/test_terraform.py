"""deploy/terraform, read with python-hcl2 (no terraform binary here): the contract and the IAM."""

from __future__ import annotations

import re
from pathlib import Path

import hcl2
import pytest

from tests.deploy.conftest import REPO_ROOT, check_prio_stream_command

TERRAFORM = REPO_ROOT / "deploy" / "terraform"
SERVER = TERRAFORM / "modules" / "prio-server"
INGEST = TERRAFORM / "modules" / "ingest"
EXAMPLE = TERRAFORM / "examples" / "two-servers"
ROOTS = (SERVER, INGEST, EXAMPLE)


def unquote(value):
    """python-hcl2 keeps string quotes and marks blocks; plain data without either."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k != "__is_block__"}
    return value


def load(directory: Path) -> dict[str, list]:
    """Every top-level block of a module's .tf files: kind -> list of parsed blocks."""
    merged: dict[str, list] = {}
    for path in sorted(directory.glob("*.tf")):
        with path.open() as handle:
            for kind, blocks in unquote(hcl2.load(handle)).items():
                merged.setdefault(kind, []).extend(blocks)
    return merged


def resources(module: dict, kind: str) -> dict[str, dict]:
    found = {}
    for block in module.get("resource", []):
        for name, body in block.get(kind, {}).items():
            found[name] = body
    return found


def all_resources(module: dict) -> list[tuple[str, str, dict]]:
    return [(kind, name, body) for block in module.get("resource", [])
            for kind, named in block.items() for name, body in named.items()]


def locals_of(module: dict) -> dict:
    merged = {}
    for block in module.get("locals", []):
        merged.update(block)
    return merged


def block(body: dict, name: str) -> dict:
    """The single nested block `name` (hcl2 gives a list of one)."""
    value = body.get(name)
    assert isinstance(value, list) and len(value) == 1, f"expected one {name} block: {value}"
    return value[0]


def source_text(directory: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(directory.glob("*.tf")))


@pytest.fixture(scope="module")
def server():
    return load(SERVER)


@pytest.fixture(scope="module")
def ingest():
    return load(INGEST)


@pytest.fixture(scope="module")
def example():
    return load(EXAMPLE)


# --- names: the architecture doc's


def test_server_topics_and_subscriptions_match_the_architecture_doc(server, doc_topics):
    names = locals_of(server)
    server_topics = {t for t, info in doc_topics.items() if not info["ingest_project"]}
    assert set(names["topics"]) == server_topics
    expected = {sub: topic for topic, info in doc_topics.items() if not info["ingest_project"]
                for sub in info["subscriptions"]}
    assert {name: spec["topic"] for name, spec in names["subscriptions"].items()} == expected
    for name, spec in names["subscriptions"].items():
        assert name == f"{spec['topic']}-{spec['service']}"  # `<topic>-<service>`


def test_names_match_the_platform_topology(server, ingest):
    from services.common import topology

    names = locals_of(server)
    assert set(names["topics"]) == set(topology.SERVER_TOPICS)
    server_specs = {s.name: (s.topic, s.service) for s in topology.SUBSCRIPTIONS
                    if s.side == "server"}
    assert {n: (s["topic"], s["service"]) for n, s in names["subscriptions"].items()} == \
        server_specs
    ingest_names = locals_of(ingest)
    (spec,) = [s for s in topology.SUBSCRIPTIONS if s.side == "ingest"]
    assert (ingest_names["subscription"], ingest_names["topic"]) == (spec.name, spec.topic)
    assert ingest_names["dead_letter"] == topology.dead_letter_topic(spec.topic)


def test_ingest_topic_matches_the_architecture_doc(ingest, doc_topics):
    names = locals_of(ingest)
    ingest_topics = [t for t, info in doc_topics.items() if info["ingest_project"]]
    assert ingest_topics == [names["topic"]]
    assert doc_topics[names["topic"]]["subscriptions"] == {names["subscription"]}


def test_dead_letter_topics_follow_the_naming(server):
    text = source_text(SERVER)
    assert '"${s.topic}-dead-letter"' in text
    assert 'name                       = "${each.key}-inspect"' in text


# --- subscriptions: dead letters, retries, OIDC push


def all_subscriptions(server, ingest) -> dict[str, dict]:
    subs = {f"server.{n}": b for n, b in resources(server, "google_pubsub_subscription").items()}
    subs.update({f"ingest.{n}": b
                 for n, b in resources(ingest, "google_pubsub_subscription").items()})
    return subs


def is_inspect(body: dict) -> bool:
    return "dead_letter" in body["topic"]


def test_every_subscription_has_a_retry_policy(server, ingest):
    subs = all_subscriptions(server, ingest)
    assert len(subs) == 4
    for name, body in subs.items():
        retry = block(body, "retry_policy")
        assert retry["minimum_backoff"] and retry["maximum_backoff"], name
        assert block(body, "expiration_policy")["ttl"] == "", f"{name} may expire"


def test_every_service_subscription_dead_letters_after_max_attempts(server, ingest):
    services = {n: b for n, b in all_subscriptions(server, ingest).items() if not is_inspect(b)}
    assert set(services) == {"server.push", "ingest.ingest"}
    for name, body in services.items():
        policy = block(body, "dead_letter_policy")
        assert "dead_letter" in policy["dead_letter_topic"], name
        assert policy["max_delivery_attempts"] == "${var.max_delivery_attempts}", name
        # the dead-letter topic is writable by Pub/Sub's agent before the subscription exists
        assert "dead_letter_publisher" in str(body.get("depends_on")), name
    for module in (server, ingest):
        (variable,) = [v["max_delivery_attempts"] for v in module["variable"]
                       if "max_delivery_attempts" in v]
        assert variable["default"] == 5
        assert "var.max_delivery_attempts >= 5" in variable["validation"][0]["condition"]


def test_inspect_subscriptions_keep_dead_letters_and_do_not_loop(server, ingest):
    inspect = {n: b for n, b in all_subscriptions(server, ingest).items() if is_inspect(b)}
    assert set(inspect) == {"server.inspect", "ingest.inspect"}
    for name, body in inspect.items():
        assert "dead_letter_policy" not in body, name
        assert "push_config" not in body, name
        assert body["message_retention_duration"] == "604800s", name


def test_every_push_subscription_uses_an_oidc_token(server, ingest):
    pushes = []
    for name, body in all_subscriptions(server, ingest).items():
        configs = list(body.get("push_config", []))
        for dynamic in body.get("dynamic", []):
            if "push_config" in dynamic:
                configs.append(block(dynamic["push_config"], "content"))
        for config in configs:
            pushes.append(name)
            token = block(config, "oidc_token")
            assert token["service_account_email"].startswith("${google_service_account.push"), name
            assert token["audience"], name
            assert "/push/" in config["push_endpoint"], name
    assert sorted(pushes) == ["ingest.ingest", "server.push"]


def test_push_audience_and_account_reach_the_service(server, ingest):
    run = resources(server, "google_cloud_run_v2_service")["service"]
    assert "local.push_audience[each.key]" in str(run["custom_audiences"])
    text = source_text(SERVER)
    assert "PUSH_AUDIENCE        = local.push_audience[each.key]" in text
    assert "PUSH_SERVICE_ACCOUNT = google_service_account.push[each.key].email" in text
    assert 'PUSH_AUTH               = "oidc"' in text
    push = resources(server, "google_pubsub_subscription")["push"]
    token = block(block(push, "push_config"), "oidc_token")
    assert token["audience"] == "${local.push_audience[each.value.service]}"
    assert token["service_account_email"] == \
        "${google_service_account.push[each.value.service].email}"
    ingest_text = source_text(INGEST)
    assert "PUSH_AUDIENCE        = local.push_audience" in ingest_text
    assert "PUSH_SERVICE_ACCOUNT = google_service_account.push.email" in ingest_text


def test_only_push_service_accounts_invoke_and_sign(server):
    invokers = resources(server, "google_cloud_run_v2_service_iam_member")
    assert invokers["push_invoker"]["member"] == \
        "serviceAccount:${google_service_account.push[each.key].email}"
    creator = resources(server, "google_service_account_iam_member")["push_token_creator"]
    assert creator["member"] == "${local.pubsub_agent}"
    assert "gcp-sa-pubsub.iam.gserviceaccount.com" in locals_of(server)["pubsub_agent"]


# --- IAM across projects


def iam_resources(module: dict) -> list[tuple[str, str, dict]]:
    return [(k, n, b) for k, n, b in all_resources(module) if k.endswith(("_iam_member",
                                                                          "_iam_binding",
                                                                          "_iam_policy"))]


def test_iam_is_additive_members_only(server, ingest, example):
    for module in (server, ingest, example):
        for kind, name, _ in iam_resources(module):
            assert kind.endswith("_iam_member"), f"{kind}.{name} would replace others' grants"


def external_member(member: str) -> bool:
    """Members that are not this project's own service accounts or Pub/Sub's agent."""
    own = ("google_service_account.service", "google_service_account.push",
           "google_service_account.scheduler", "local.pubsub_agent")
    return not any(marker in member for marker in own)


def test_nobody_outside_reads_the_private_bucket_or_secrets(server):
    for kind, name, body in iam_resources(server):
        if kind == "google_secret_manager_secret_iam_member":
            assert not external_member(body["member"]), name
            assert body["member"] == \
                "serviceAccount:${google_service_account.service[each.value.service].email}"
            assert body["role"] == "roles/secretmanager.secretAccessor"
        if kind == "google_storage_bucket_iam_member" and external_member(body["member"]):
            # the only outside party on a bucket: ingest, create-only, on the inbox
            assert name == "ingest_creator"
            assert body["bucket"] == "${google_storage_bucket.inbox.name}"
            assert body["role"] == "roles/storage.objectCreator"
            assert body["member"] == "serviceAccount:${var.ingest_service_account}"
    access = locals_of(server)["bucket_access"]
    assert set(access["private"]["services"]) == {"verifier", "aggregator", "publisher"}
    for bucket in access.values():  # own services never delete or overwrite
        assert set(bucket["roles"]) <= {"roles/storage.objectViewer",
                                        "roles/storage.objectCreator"}
    secrets = locals_of(server)["secrets"]
    assert secrets["prio-shared-secret"]["readers"] == ["verifier"]
    assert "publisher" not in secrets["prio-private-key-hex"]["readers"]
    # Previous keys decrypt what the current one does: the same readers, nobody else.
    assert (secrets["prio-previous-private-keys-hex"]["readers"]
            == secrets["prio-private-key-hex"]["readers"])
    assert secrets["prio-release-signing-key"]["readers"] == ["publisher"]


def test_peer_is_publisher_only_on_inbound_topics(server, doc_peer_topics):
    peer = locals_of(server)["peer_inbound"]
    assert set(peer) == doc_peer_topics == {"prio-verify1", "prio-verify2", "prio-batch-close",
                                            "prio-total-shares", "prio-releases"}
    assert peer == {"prio-verify1": "verifier", "prio-verify2": "verifier",
                    "prio-batch-close": "aggregator", "prio-total-shares": "aggregator",
                    "prio-releases": "publisher"}
    peer_grants = [(k, n, b) for k, n, b in iam_resources(server)
                   if "peer_service_accounts" in b["member"]]
    assert [(k, n) for k, n, _ in peer_grants] == [
        ("google_pubsub_topic_iam_member", "peer_publisher")]
    (_, _, grant) = peer_grants[0]
    assert grant["role"] == "roles/pubsub.publisher"
    assert grant["for_each"] == "${local.peer_inbound}"
    assert grant["member"] == "serviceAccount:${var.peer_service_accounts[each.value]}"


def test_every_outside_grant_is_accounted_for(server):
    """External members: peer (publish inbound), ingest (publish partitions, create in inbox),
    operators (read dead letters, invoke admin). Nothing else of this project opens outward."""
    allowed = {
        ("google_pubsub_topic_iam_member", "peer_publisher", "roles/pubsub.publisher"),
        ("google_pubsub_topic_iam_member", "ingest_publisher", "roles/pubsub.publisher"),
        ("google_storage_bucket_iam_member", "ingest_creator", "roles/storage.objectCreator"),
        ("google_pubsub_subscription_iam_member", "operator_inspect", "roles/pubsub.subscriber"),
        ("google_cloud_run_v2_service_iam_member", "operator_invoker", "roles/run.invoker"),
    }
    found = {(k, n, b["role"]) for k, n, b in iam_resources(server)
             if external_member(b["member"])}
    assert found == allowed
    ingest_topic = resources(server, "google_pubsub_topic_iam_member")["ingest_publisher"]
    assert ingest_topic["topic"] == '${google_pubsub_topic.topic["prio-partitions"].name}'


def test_example_wires_the_parties_to_each_other(example):
    modules = {}
    for item in example["module"]:
        modules.update(item)
    assert set(modules) == {"server_a", "server_b", "ingest"}
    a, b = modules["server_a"], modules["server_b"]
    assert (a["server_id"], b["server_id"]) == ("A", "B")
    assert a["peer_service_accounts"] == "${module.server_b.service_accounts}"
    assert b["peer_service_accounts"] == "${module.server_a.service_accounts}"
    assert a["project_id"] == b["peer_project_id"] == "${var.project_a}"
    assert b["project_id"] == a["peer_project_id"] == "${var.project_b}"
    assert a["public_key_hex"] == b["peer_public_key_hex"] == "${var.public_key_hex_a}"
    assert b["peer_release_public_key_hex"] == "${var.release_public_key_hex_a}"
    assert a["peer_release_public_key_hex"] == "${var.release_public_key_hex_b}"
    assert a["ingest_service_account"] == b["ingest_service_account"] == \
        "${module.ingest.service_account}"
    assert modules["ingest"]["project_id"] == "${var.project_ingest}"
    assert iam_resources(example) == []  # every grant lives in the module of its project
    text = source_text(EXAMPLE)
    assert "private_key" not in text.replace("private_bucket", "").replace("private.", "")
    assert "shared_secret" not in text.lower()


# --- buckets, Cloud Run, scheduler


def test_buckets_have_lifecycle_rules_and_no_public_access(server):
    buckets = resources(server, "google_storage_bucket")
    assert set(buckets) == {"inbox", "private"}
    for name, body in buckets.items():
        rules = body["lifecycle_rule"]
        assert rules, name
        for rule in rules:
            assert block(rule, "action")["type"] == "Delete"
            assert block(rule, "condition")["age"].startswith("${var."), name
        assert body["uniform_bucket_level_access"] is True
        assert body["public_access_prevention"] == "enforced"
    prefixes = {p for rule in buckets["private"]["lifecycle_rule"]
                for p in block(rule, "condition")["matches_prefix"]}
    assert prefixes == {"intermediate/", "processed/"}


def cloud_runs(server, ingest):
    runs = {f"server.{n}": b for n, b in resources(server, "google_cloud_run_v2_service").items()}
    runs.update({f"ingest.{n}": b
                 for n, b in resources(ingest, "google_cloud_run_v2_service").items()})
    return runs


def test_cloud_run_has_instance_and_concurrency_limits(server, ingest):
    runs = cloud_runs(server, ingest)
    assert set(runs) == {"server.service", "ingest.ingest"}
    for name, body in runs.items():
        template = block(body, "template")
        assert template["max_instance_request_concurrency"].startswith("${var.concurrency"), name
        scaling = block(template, "scaling")
        assert scaling["max_instance_count"].startswith("${var.max_instances"), name
        assert "min_instance_count" in scaling, name
        assert template["service_account"].startswith("${google_service_account."), name
    variables = {name: spec for v in server["variable"] for name, spec in v.items()}
    assert set(variables["max_instances"]["default"]) == {"verifier", "aggregator", "publisher"}
    assert all(n > 0 for n in variables["max_instances"]["default"].values())
    assert all(n > 0 for n in variables["concurrency"]["default"].values())


def test_cloud_run_runs_the_documented_commands_and_probes(server, ingest, doc_commands):
    for name, body in cloud_runs(server, ingest).items():
        container = block(block(body, "template"), "containers")
        assert container["command"] == ["prio-stream"], name
        service = "ingest" if name.startswith("ingest") else "verifier"
        first = container["args"][0]
        verbs = re.findall(r'"(serve|worker)"', first) or [first]
        for verb in verbs:
            check_prio_stream_command(["prio-stream", verb, service], doc_commands)
        for probe in ("startup_probe", "liveness_probe"):
            assert block(block(container, probe), "http_get")["path"] == "/__lbheartbeat__"
        assert block(container, "ports")["container_port"] == 8080, name


def test_cloud_run_env_names_are_documented_settings(server, ingest, settings_names):
    names = set()
    for directory in (SERVER, INGEST):
        text = source_text(directory)
        # map keys in UPPER_CASE are environment variables (locals.env*, merge(...) in run.tf)
        names.update(re.findall(r"^\s*([A-Z][A-Z0-9_]+)\s*= ", text, re.MULTILINE))
        names.update(re.findall(r'env = "([A-Z_]+)"', text))
    assert {"SERVER_ID", "PRIVATE_KEY_HEX", "SHARED_SECRETS", "PUSH_AUDIENCE",
            "PEER_INBOX_BUCKET"} <= names
    assert names - settings_names == set()


def test_secrets_come_from_secret_manager_only(server):
    text = source_text(SERVER)
    assert "google_secret_manager_secret_version" not in text  # values never in state
    secrets = locals_of(server)["secrets"]
    assert {s["env"] for s in secrets.values()} == {
        "PRIVATE_KEY_HEX", "PREVIOUS_PRIVATE_KEYS_HEX", "SHARED_SECRETS",
        "RELEASE_SIGNING_KEY_HEX"}
    assert "secret_key_ref" in text and 'version = "latest"' in text


def test_only_the_leader_schedules_batch_close(server):
    job = resources(server, "google_cloud_scheduler_job")["batch_close"]
    assert job["count"] == "${local.leader ? 1 : 0}"
    assert locals_of(server)["leader"] == '${var.server_id == "A"}'
    target = block(job, "http_target")
    assert target["http_method"] == "POST"
    assert target["uri"].endswith("/batches/close-due")
    assert block(target, "oidc_token")["service_account_email"]


# --- variables: declared, described, used


def declared(module: dict) -> dict[str, dict]:
    return {name: spec for v in module.get("variable", []) for name, spec in v.items()}


@pytest.mark.parametrize("directory", ROOTS, ids=lambda p: p.name)
def test_variables_are_described_declared_and_used(directory):
    variables = declared(load(directory))
    text = source_text(directory)
    used = set(re.findall(r"\bvar\.([a-z0-9_]+)", text))
    assert used - set(variables) == set(), "used but not declared"
    assert set(variables) - used == set(), "declared but never used"
    for name, spec in variables.items():
        assert spec.get("description"), f"variable {name} has no description"
        assert spec.get("type"), f"variable {name} has no type"


@pytest.mark.parametrize("directory", ROOTS, ids=lambda p: p.name)
def test_outputs_are_described(directory):
    outputs = {n: s for o in load(directory).get("output", []) for n, s in o.items()}
    assert outputs
    for name, spec in outputs.items():
        assert spec.get("description"), name


def test_module_calls_pass_declared_inputs_and_every_required_one(example):
    modules = {}
    for item in example["module"]:
        modules.update(item)
    for name, call in modules.items():
        target = load((EXAMPLE / call["source"]).resolve())
        inputs = declared(target)
        passed = set(call) - {"source", "providers", "depends_on", "count", "for_each"}
        assert passed - set(inputs) == set(), f"{name} passes undeclared inputs"
        required = {n for n, spec in inputs.items() if "default" not in spec}
        assert required - passed == set(), f"{name} misses required inputs"


def test_module_outputs_used_by_the_example_exist(example):
    text = source_text(EXAMPLE)
    modules = {}
    for item in example["module"]:
        modules.update(item)
    for name, attribute in set(re.findall(r"module\.([a-z_]+)\.([a-z_]+)", text)):
        target = load((EXAMPLE / modules[name]["source"]).resolve())
        outputs = {n for o in target["output"] for n in o}
        assert attribute in outputs, f"module.{name}.{attribute}"


def test_example_tfvars_sets_public_values_only(example):
    lines = (EXAMPLE / "terraform.tfvars.example").read_text().splitlines()
    assigned = {line.split("=")[0].strip() for line in lines if "=" in line
                and not line.startswith("#")}
    assert assigned <= set(declared(example))
    assert {name for name, spec in declared(example).items() if "default" not in spec} <= assigned
    assert not [name for name in assigned if "private" in name or "secret" in name]


def test_admin_settings_reach_every_service(server, ingest):
    """ADMIN_AUTH=oidc with an audience each service's Cloud Run also accepts, OPERATORS and
    READERS from variables; the scheduler's close-due carries a token the app lets through."""
    env = locals_of(server)["env_common"]
    assert env["ADMIN_AUTH"] == "oidc"
    assert env["ADMIN_AUDIENCE"] == "${local.admin_audience}"
    assert env["OPERATORS"] == '${join(",", local.operators)}'
    assert env["READERS"] == '${join(",", var.readers)}'
    assert locals_of(server)["operators"] == \
        "${concat(var.operators, google_service_account.scheduler[*].email)}"
    run = resources(server, "google_cloud_run_v2_service")["service"]
    assert run["custom_audiences"] == ["${local.push_audience[each.key]}",
                                       "${local.admin_audience}"]
    job = resources(server, "google_cloud_scheduler_job")["batch_close"]
    assert block(block(job, "http_target"), "oidc_token")["audience"] == \
        "${local.admin_audience}"
    ingest_env = locals_of(ingest)["env"]
    assert "ADMIN_AUTH                = \"oidc\"" in source_text(INGEST)
    assert 'OPERATORS                 = join(",", var.operators)' in source_text(INGEST)
    assert 'READERS                   = join(",", var.readers)' in source_text(INGEST)
    assert "local.admin_audience" in str(ingest_env)
    ingest_run = resources(ingest, "google_cloud_run_v2_service")["ingest"]
    assert ingest_run["custom_audiences"] == ["${local.push_audience}", "${local.admin_audience}"]
    for module in (server, ingest):
        assert {"operators", "readers", "admin_audience"} <= set(declared(module))
        assert '"prio-stream:${var.project_id}:admin"' in locals_of(module)["admin_audience"]


def test_the_example_passes_operators_and_readers_to_every_party(example):
    modules = {}
    for item in example["module"]:
        modules.update(item)
    for name, key in (("server_a", "a"), ("server_b", "b"), ("ingest", "ingest")):
        assert modules[name]["operators"] == f'${{lookup(var.operator_emails, "{key}", [])}}'
        assert modules[name]["readers"] == f'${{lookup(var.reader_emails, "{key}", [])}}'


# --- ingest on the upstream's shared decoded topic (issue 12)


def test_ingest_can_subscribe_to_a_shared_topic_with_a_document_type_filter(ingest, example):
    variables = declared(ingest)
    assert variables["pings_topic"]["default"] == ""  # ingest's own prio-pings, as before
    assert "projects/" in variables["pings_topic"]["validation"][0]["condition"]
    assert variables["pings_filter"]["default"] is None
    names = locals_of(ingest)
    assert names["pings_topic"] == \
        '${var.pings_topic == "" ? google_pubsub_topic.pings.id : var.pings_topic}'
    # A shared topic gets the prio filter unless the operator gives another; our own none.
    assert names["prio_filter"] == 'attributes.document_type = \\"prio\\"'
    assert names["pings_filter"] == ('${var.pings_filter != null ? var.pings_filter : '
                                     '(var.pings_topic == "" ? "" : local.prio_filter)}')
    subscription = resources(ingest, "google_pubsub_subscription")["ingest"]
    assert subscription["topic"] == "${local.pings_topic}"
    assert subscription["filter"] == "${local.pings_filter}"
    modules = {}
    for item in example["module"]:
        modules.update(item)
    assert modules["ingest"]["pings_topic"] == "${var.ingest_pings_topic}"
    assert modules["ingest"]["pings_filter"] == "${var.ingest_pings_filter}"
