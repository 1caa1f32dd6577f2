"""compose/read-results against a bucket holding hostile object names: a file is written only
under --out, at a path rebuilt from a checked batch id and date, never from the listing."""

from __future__ import annotations

import subprocess
import sys

from services.common.storage_gcs import GcsStorage
from tests.deploy.conftest import REPO_ROOT

GOOD = "processed/batch_id=ok/submission_date=2026-12-01/result.json"
HOSTILE = (
    "processed/batch_id=../submission_date=2026-12-01/result.json",
    "processed/batch_id=x/submission_date=2026-12-01/../../../../escaped/result.json",
    "processed/batch_id=x/submission_date=2026-13-01/result.json",
)


def test_hostile_names_are_skipped_and_nothing_is_written_outside_out(gcs_emulator, unique_name,
                                                                      tmp_path):
    storage = GcsStorage("test", gcs_emulator.host)
    bucket = unique_name("prio-a-private")
    storage.ensure_bucket(bucket)
    for name in (GOOD, *HOSTILE):
        storage.create(bucket, name, name.encode())
    out = tmp_path / "a" / "b" / "out"
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "compose" / "read-results"), "--gcs", gcs_emulator.host,
         "--bucket", bucket, "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"{bucket}: skipped 3 object(s) not named as a result\n"
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert [str(p) for p in written] == [f"a/b/out/{bucket}/ok/2026-12-01/result.json"]
    assert (tmp_path / written[0]).read_bytes() == GOOD.encode()
