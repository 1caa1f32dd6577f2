"""Session fixtures: the real Pub/Sub emulator and fake-gcs-server, and services as subprocesses.

Each emulator starts at most once per session, in a container when a Docker engine answers,
else as a local process in its own process group (killed at teardown). If neither works the
tests that need it FAIL: they are never skipped.

Trap (docs: ENVIRONMENT.md): a cancelled streaming pull lives on inside the emulator and keeps
taking messages. Give every consumer lifetime its own subscription (`unique_name`) or its own
projects (`unique_projects`).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import hypothesis
import pytest

# One place starts the emulators and processes: the benchmark stack, which the tests share.
from benchmarks import stack
from benchmarks.stack import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent

# CI replays a fixed set of examples, so a red run is reproducible and not a lucky draw;
# locally hypothesis keeps exploring (and keeps the failures it finds in .hypothesis/).
hypothesis.settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis.settings.load_profile("ci")
# The gcloud release whose emulator the suite runs natively; docker-compose.yml pins the same.
PUBSUB_IMAGE = "gcr.io/google.com/cloudsdktool/google-cloud-cli:528.0.0-emulators"
GCS_IMAGE = "fsouza/fake-gcs-server:1.52.2"


# A test using one of these starts (or shares) an emulator: marked `emulator` by its fixtures,
# so `make test-fast` leaves it out without anyone remembering to mark the test.
EMULATOR_FIXTURES = frozenset({"pubsub_emulator", "gcs_emulator", "restartable_pubsub"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if EMULATOR_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.emulator)


@dataclasses.dataclass
class Emulator:
    """A running emulator: `host` is what the standard *_EMULATOR_HOST variable holds."""

    name: str
    host: str
    stop: Callable[[], None]
    log_path: Path | None = None

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _docker_engine() -> bool:
    try:
        import docker
        import testcontainers  # noqa: F401

        docker.from_env().ping()
    except Exception:  # noqa: BLE001 - no client, no engine, no permission: no Docker
        return False
    return True


def _start_pubsub(log_dir: Path) -> Emulator:
    if _docker_engine():
        from testcontainers.google import PubSubContainer

        container = PubSubContainer(image=PUBSUB_IMAGE).start()
        return Emulator("pubsub", container.get_pubsub_emulator_host(), container.stop)
    try:
        process = stack.start_pubsub(log_dir)
    except stack.StackError as error:
        pytest.fail(f"Pub/Sub emulator: no Docker engine, and locally: {error}")
    return Emulator("pubsub", f"127.0.0.1:{process.port}", process.stop, process.log_path)


def _start_gcs(log_dir: Path) -> Emulator:
    if _docker_engine():
        from testcontainers.core.container import DockerContainer

        container = (
            DockerContainer(GCS_IMAGE)
            .with_command("-scheme http -backend memory -port 4443")
            .with_exposed_ports(4443)
            .start()
        )
        host = f"http://{container.get_container_host_ip()}:{container.get_exposed_port(4443)}"
        if not stack.wait_http(f"{host}/storage/v1/b", lambda s, b: s == 200, 60):
            container.stop()
            pytest.fail("fake-gcs-server container did not answer")
        return Emulator("gcs", host, container.stop)
    try:
        process = stack.start_gcs(log_dir)
    except stack.StackError as error:
        pytest.fail(f"GCS emulator: no Docker engine, and locally: {error}")
    return Emulator("gcs", process.url, process.stop, process.log_path)


@pytest.fixture(scope="session")
def _pubsub_emulator_session(tmp_path_factory) -> Iterator[Emulator]:
    emulator = _start_pubsub(tmp_path_factory.mktemp("pubsub-emulator"))
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def _gcs_emulator_session(tmp_path_factory) -> Iterator[Emulator]:
    emulator = _start_gcs(tmp_path_factory.mktemp("gcs-emulator"))
    yield emulator
    emulator.stop()


def _require_emulator_mark(request: pytest.FixtureRequest) -> None:
    # A fixture taken by request.getfixturevalue escapes the collection-time marking above.
    if request.node.get_closest_marker("emulator") is None:
        pytest.fail(f"{request.node.nodeid} starts an emulator unmarked: give it (or its "
                    "parameter) pytest.mark.emulator so `make test-fast` leaves it out")


@pytest.fixture
def pubsub_emulator(request, monkeypatch) -> Emulator:
    """The session's Pub/Sub emulator; PUBSUB_EMULATOR_HOST points at it during the test."""
    _require_emulator_mark(request)
    emulator = request.getfixturevalue("_pubsub_emulator_session")
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulator.host)
    return emulator


@pytest.fixture
def gcs_emulator(request, monkeypatch) -> Emulator:
    """The session's fake-gcs-server; STORAGE_EMULATOR_HOST points at it during the test."""
    _require_emulator_mark(request)
    emulator = request.getfixturevalue("_gcs_emulator_session")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.host)
    return emulator


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """unique_name("sub") -> "sub-1a2b3c4d": a fresh topic/subscription/bucket name."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclasses.dataclass(frozen=True)
class Projects:
    a: str
    b: str
    ingest: str


@pytest.fixture
def unique_projects() -> Projects:
    """Project ids for this test only: the architecture's fixed topic and subscription names
    can then be used without meeting a previous test's streaming pulls."""
    suffix = uuid.uuid4().hex[:8]
    return Projects(f"server-a-{suffix}", f"server-b-{suffix}", f"ingest-{suffix}")


@pytest.fixture
def pubsub_admin(pubsub_emulator):
    """Topic/subscription admin on the emulator (services.common.pubsub.PubSubAdmin)."""
    from services.common.pubsub import PubSubAdmin

    return PubSubAdmin.for_emulator(pubsub_emulator.host)


@dataclasses.dataclass
class ServiceProcess:
    """`prio-stream MODE NAME` as a subprocess; `url` is its HTTP app."""

    name: str
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM (a clean shutdown), SIGKILL after timeout; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.process.log_file.close()  # type: ignore[attr-defined]
        return self.process.returncode


@pytest.fixture
def start_service(tmp_path) -> Iterator[Callable[..., ServiceProcess]]:
    """start_service("verifier", mode="worker", env={...}) -> ServiceProcess, ready to serve.

    The environment is this process's (so PUBSUB_EMULATOR_HOST / STORAGE_EMULATOR_HOST set by
    the emulator fixtures carry over) plus env and a free PORT. Stopped at teardown."""
    started: list[ServiceProcess] = []

    def start(name: str, mode: str = "worker", env: Mapping[str, str] | None = None,
              ready_timeout: float = 30.0) -> ServiceProcess:
        port = free_port()
        log_path = tmp_path / f"{name}-{mode}-{len(started)}.log"
        environment = {"PORT": str(port), "PYTHONPATH": str(REPO_ROOT), "PUSH_AUTH": "none",
                       "ADMIN_AUTH": "none", **(env or {})}
        process = stack.start_process(
            name, [sys.executable, "-m", "services.main", mode, name], environment, log_path,
            cwd=tmp_path,
        ).popen
        service = ServiceProcess(name, process, port, log_path)
        started.append(service)
        if not stack.wait_http(f"{service.url}/__lbheartbeat__", lambda s, b: s == 200,
                          ready_timeout, lambda: process.poll() is None):
            service.stop(5)
            pytest.fail(f"{mode} {name} did not start:\n{service.log()[-4000:]}")
        return service

    yield start
    for service in started:
        service.stop()
