"""docker-compose.yml: valid for docker-compose, and wired to the architecture doc's contract."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.conftest import GCS_IMAGE, PUBSUB_IMAGE
from tests.deploy.conftest import REPO_ROOT, check_prio_stream_command

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SERVERS = ("a", "b")
SERVICES = ("verifier", "aggregator", "publisher")
KEYS_DIR = REPO_ROOT / "compose" / "test-keys"


def load_yaml(docker_compose: Path, text: str):
    """YAML -> data with the PyYAML of docker-compose's venv (the project does not depend on it)."""
    python = docker_compose.with_name("python")
    done = subprocess.run(
        [str(python), "-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"],
        input=text, check=False, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def compose_cli(docker_compose: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(docker_compose), "--project-directory", str(REPO_ROOT), "-f", str(COMPOSE_FILE),
         *args],
        check=False, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
    )


@pytest.fixture(scope="module")
def resolved(docker_compose) -> dict:
    """The file as docker-compose resolves it (anchors merged, env files read)."""
    done = compose_cli(docker_compose, "config")
    assert done.returncode == 0, done.stderr
    return load_yaml(docker_compose, done.stdout)


def test_docker_compose_config_is_valid(docker_compose):
    done = compose_cli(docker_compose, "config", "-q")
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr


def test_validation_catches_a_broken_file(docker_compose, tmp_path):
    """The validator is real: a dependency on an unknown service is refused."""
    broken = load_yaml(docker_compose, COMPOSE_FILE.read_text())
    broken["services"]["loadgen"]["depends_on"] = {"nowhere": {"condition": "service_healthy"}}
    path = tmp_path / "docker-compose.yml"
    path.write_text(json.dumps(broken))  # JSON is YAML
    done = subprocess.run([str(docker_compose), "--project-directory", str(REPO_ROOT), "-f",
                           str(path), "config", "-q"], check=False, capture_output=True, text=True,
                          timeout=120, cwd=REPO_ROOT)
    assert done.returncode != 0


def test_the_stack_has_both_servers_ingest_and_the_emulators(resolved):
    expected = {"pubsub", "gcs", "setup", "ingest", "loadgen"} | {
        f"{s}-{svc}" for s in SERVERS for svc in SERVICES
    }
    assert set(resolved["services"]) == expected


def test_emulator_images_and_commands(resolved):
    pubsub = resolved["services"]["pubsub"]
    # a gcloud release, not the floating `:emulators`, and the one the suite's tests run
    assert re.fullmatch(r"gcr\.io/google\.com/cloudsdktool/google-cloud-cli:\d+\.\d+\.\d+-emulators",
                        pubsub["image"])
    assert pubsub["image"] == PUBSUB_IMAGE
    assert resolved["services"]["gcs"]["image"] == GCS_IMAGE
    assert pubsub["command"][:5] == ["gcloud", "beta", "emulators", "pubsub", "start"]
    assert "--host-port=0.0.0.0:8085" in pubsub["command"]
    gcs = resolved["services"]["gcs"]
    assert gcs["image"].startswith("fsouza/fake-gcs-server:")
    command = gcs["command"]
    for flag, value in (("-scheme", "http"), ("-backend", "memory"),
                        ("-external-url", "http://gcs:4443"), ("-public-host", "gcs:4443")):
        assert command[command.index(flag) + 1] == value


def test_every_project_service_runs_a_real_prio_stream_command(resolved, doc_commands):
    for name, service in resolved["services"].items():
        if name in ("pubsub", "gcs"):
            continue
        assert service["image"] == "prio-stream:local", name
        check_prio_stream_command(service["command"], doc_commands)
    for server in SERVERS:
        for svc in SERVICES:
            assert resolved["services"][f"{server}-{svc}"]["command"] == [
                "prio-stream", "serve", svc]


def test_every_environment_variable_is_a_documented_setting(resolved, settings_names):
    for name, service in resolved["services"].items():
        if name in ("pubsub", "gcs"):
            continue
        unknown = set(service.get("environment", {})) - settings_names
        assert not unknown, f"{name} sets variables the Settings table lacks: {unknown}"


def test_settings_load_for_each_service(resolved, monkeypatch):
    """Each server service's environment passes the project's settings loader for its role."""
    from services.common.config import Settings, load_settings

    for server in SERVERS:
        for svc in SERVICES:
            env = resolved["services"][f"{server}-{svc}"]["environment"]
            for name in Settings.model_fields:
                monkeypatch.delenv(name.upper(), raising=False)
            for key, value in env.items():
                monkeypatch.setenv(key, str(value))
            settings = load_settings(svc)
            assert settings.server_id == server.upper()
            assert settings.project_id == f"prio-{server}"
            assert settings.push_auth == "none"
            assert settings.private_bucket == f"prio-{server}-private"


def test_start_order(resolved):
    services = resolved["services"]

    def needs(name):
        return {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}

    assert needs("setup") == {"pubsub": "service_healthy", "gcs": "service_healthy"}
    for server in SERVERS:
        for svc in SERVICES:
            assert needs(f"{server}-{svc}") == {"setup": "service_completed_successfully"}
    assert needs("ingest")["setup"] == "service_completed_successfully"
    assert needs("ingest")["a-verifier"] == needs("ingest")["b-verifier"] == "service_healthy"
    assert needs("loadgen") == {"ingest": "service_healthy"}
    for name in ("pubsub", "gcs", *(f"{s}-{v}" for s in SERVERS for v in SERVICES), "ingest"):
        assert services[name]["healthcheck"]["test"], name
    for one_shot in ("setup", "loadgen"):
        assert services[one_shot]["healthcheck"] == {"test": ["NONE"]}  # disable: true
        assert services[one_shot].get("restart", "no") == "no"


def test_every_service_has_a_restart_policy(resolved):
    """Services come back after a crash, as Cloud Run's instances do; one-shots run once; the
    emulators hold their state in memory, so a restarted one would be empty (re-run setup)."""
    long_running = {"ingest", *(f"{s}-{v}" for s in SERVERS for v in SERVICES)}
    policies = {name: service.get("restart") for name, service in resolved["services"].items()}
    assert policies == {**{name: "unless-stopped" for name in long_running},
                        **{name: "no" for name in ("pubsub", "gcs", "setup", "loadgen")}}


NUMBERS = {"three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}


def test_the_bucket_counts_written_in_the_comments_are_what_setup_makes():
    from services.common.provision import Deployment

    for path in (COMPOSE_FILE, REPO_ROOT / "docs" / "deployment.md"):
        counts = re.findall(r"\bthe (\w+) buckets\b", path.read_text())
        assert counts, f"{path.name} no longer counts the buckets"
        assert {NUMBERS.get(c) for c in counts} == {len(Deployment().buckets)}, (path, counts)


def test_read_results_from_the_host(gcs_emulator, unique_name, tmp_path):
    """compose/read-results, as docs/deployment.md shows it: each private bucket's result.json,
    printed or written under --out, byte for byte; other objects under processed/ left alone."""
    from services.common.storage_gcs import GcsStorage
    from services.protocol import layout

    storage = GcsStorage("test", gcs_emulator.host)
    key = layout.BatchKey("test-batch-0", "2026-12-01")
    buckets = [unique_name("prio-a-private"), unique_name("prio-b-private")]
    for server, bucket in zip("ab", buckets, strict=True):
        storage.ensure_bucket(bucket)
        storage.create(bucket, layout.result(key), f'{{"server": "{server}"}}\n'.encode())
        storage.create(bucket, f"intermediate/internal/batch/{key.folder}/status.json", b"{}")
    bucket_args = [arg for bucket in buckets for arg in ("--bucket", bucket)]
    printed = read_results("--gcs", gcs_emulator.host, *bucket_args)
    assert (printed.returncode, printed.stderr) == (0, "")
    assert printed.stdout == "".join(
        f"# {bucket} {layout.result(key)}\n{{\"server\": \"{server}\"}}\n\n"
        for server, bucket in zip("ab", buckets, strict=True))
    written = read_results("--gcs", gcs_emulator.host, *bucket_args, "--out", str(tmp_path))
    paths = [tmp_path / bucket / "test-batch-0" / "2026-12-01" / "result.json"
             for bucket in buckets]
    assert written.stdout.splitlines() == [str(path) for path in paths]
    assert [path.read_bytes() for path in paths] == [b'{"server": "a"}\n', b'{"server": "b"}\n']


def test_read_results_without_the_stack_says_so_in_one_line():
    done = read_results("--gcs", "http://127.0.0.1:9")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == ("no fake-gcs-server at http://127.0.0.1:9 (--gcs): "
                           "is the compose stack up?\n")


def read_results(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / "compose" / "read-results"), *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_service_health_checks_ask_the_dockerflow_heartbeat(resolved):
    script = (REPO_ROOT / "deploy" / "docker" / "healthcheck.py").read_text()
    assert "/__lbheartbeat__" in script
    for server in SERVERS:
        test = resolved["services"][f"{server}-verifier"]["healthcheck"]["test"]
        assert test == ["CMD", "python", "/usr/local/bin/prio-healthcheck"]


def test_setup_pushes_to_the_service_hostnames(resolved):
    """`{server}-{service}` of every subscription resolves to a compose service (or alias)."""
    from services.common import topology

    command = resolved["services"]["setup"]["command"]
    template = command[command.index("--push-url-template") + 1]
    hosts = set(resolved["services"])
    for service in resolved["services"].values():
        for network in (service.get("networks") or {}).values():
            hosts.update((network or {}).get("aliases", []))
    for spec in topology.SUBSCRIPTIONS:
        for server in (("ingest",) if spec.side == "ingest" else SERVERS):
            url = template.format(server=server, service=spec.service, subscription=spec.name)
            assert url.startswith("http://") and url.endswith(f"/push/{spec.name}")
            host = url.removeprefix("http://").split("/")[0].split(":")[0]
            assert host in hosts, f"{spec.name} of {server} pushes to unknown host {host}"
            target = next(n for n, s in resolved["services"].items()
                          if n == host or host in str(s.get("networks")))
            assert resolved["services"][target]["command"] == [
                "prio-stream", "serve", spec.service]


def test_push_auth_is_off_only_in_the_emulator_stack(resolved):
    for service in resolved["services"].values():
        env = service.get("environment", {})
        if "PUSH_AUTH" in env:
            assert env["PUSH_AUTH"] == "none"
            assert env["PUBSUB_EMULATOR_HOST"] == "pubsub:8085"


def read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def public_of(private_hex: str) -> str:
    key = X25519PrivateKey.from_private_bytes(bytes.fromhex(private_hex))
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex().upper()


def check_test_keys(directory: Path) -> None:
    a, b = read_env(directory / "server-a.env"), read_env(directory / "server-b.env")
    clients = read_env(directory / "clients.env")
    for path in directory.glob("*.env"):
        assert path.read_text().startswith("# TEST ONLY"), path
    assert public_of(a["PRIVATE_KEY_HEX"]) == a["PUBLIC_KEY_HEX_INTERNAL"].upper()
    assert public_of(b["PRIVATE_KEY_HEX"]) == b["PUBLIC_KEY_HEX_INTERNAL"].upper()
    assert a["PUBLIC_KEY_HEX_EXTERNAL"] == b["PUBLIC_KEY_HEX_INTERNAL"]
    assert b["PUBLIC_KEY_HEX_EXTERNAL"] == a["PUBLIC_KEY_HEX_INTERNAL"]
    assert a["PRIVATE_KEY_HEX"] != b["PRIVATE_KEY_HEX"]
    assert a["SHARED_SECRET"] == b["SHARED_SECRET"]
    assert len(base64.b64decode(a["SHARED_SECRET"], validate=True)) == 16
    assert clients == {"PUBLIC_KEY_HEX_A": a["PUBLIC_KEY_HEX_INTERNAL"],
                       "PUBLIC_KEY_HEX_B": b["PUBLIC_KEY_HEX_INTERNAL"]}


def test_committed_test_keys_are_consistent_and_marked():
    check_test_keys(KEYS_DIR)


def test_make_test_keys_writes_fresh_consistent_keys(tmp_path):
    done = subprocess.run([sys.executable, str(REPO_ROOT / "compose" / "make-test-keys"),
                           "--out", str(tmp_path)], check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    check_test_keys(tmp_path)
    assert read_env(tmp_path / "server-a.env") != read_env(KEYS_DIR / "server-a.env")


def test_each_server_gets_only_its_own_private_key(resolved):
    a = read_env(KEYS_DIR / "server-a.env")["PRIVATE_KEY_HEX"]
    b = read_env(KEYS_DIR / "server-b.env")["PRIVATE_KEY_HEX"]
    for name, service in resolved["services"].items():
        env = service.get("environment", {})
        secret = env.get("PRIVATE_KEY_HEX")
        if name.startswith("a-"):
            assert secret == a and env["SERVER_ID"] == "A"
        elif name.startswith("b-"):
            assert secret == b and env["SERVER_ID"] == "B"
        else:
            assert secret is None, f"{name} holds a server's private key"
            assert "SHARED_SECRET" not in env, name
