"""`prio-stream serve/worker/setup/dead-letters` with no Google credentials and no emulator:
one line naming the settings that fix it, exit 1, no traceback (was ~50 lines ending in
DefaultCredentialsError)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA_CONFIG = '[{"batch_id": "x-0", "n_data": 4}]'


@pytest.mark.parametrize("args", [["setup"], ["dead-letters", "list"],
                                  ["worker", "ingest"], ["serve", "ingest"]])
def test_no_credentials_is_one_line(tmp_path, args):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path),
           "DATA_CONFIG": DATA_CONFIG, "ADMIN_AUTH": "oidc", "ADMIN_AUDIENCE": "x",
           "PUSH_AUDIENCE": "x", "PUSH_SERVICE_ACCOUNT": "push@example.iam.gserviceaccount.com",
           # Never ask a metadata server: nothing but this machine is reachable.
           "NO_GCE_CHECK": "True", "GCE_METADATA_HOST": "127.0.0.1:9",
           "GCE_METADATA_IP": "127.0.0.1:9", "CLOUDSDK_CONFIG": str(tmp_path / "gcloud")}
    run = subprocess.run([sys.executable, "-m", "services.main", *args], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 1, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [("Error: no Google credentials found: set GOOGLE_APPLICATION_CREDENTIALS "
                       "(or run `gcloud auth application-default login`), or "
                       "PUBSUB_EMULATOR_HOST and STORAGE_EMULATOR_HOST for the emulators")], (
        run.stderr[-3000:])
    assert "Traceback" not in run.stderr
