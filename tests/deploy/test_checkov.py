"""checkov over deploy/terraform: no failed check, and every skipped one justified beside its
resource (`#checkov:skip=CKV_...: reason`)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO_ROOT

TERRAFORM = REPO_ROOT / "deploy" / "terraform"
SKIP = re.compile(r"#\s*checkov:skip=(CKV2?_[A-Z]+_\d+)(.*)$", re.MULTILINE)


def scan(checkov: Path, directory: Path, home: Path) -> dict:
    """checkov's JSON report of directory, offline: --skip-download (no platform policies), no
    update check, and its caches in home rather than the tree scanned."""
    done = subprocess.run(
        [str(checkov), "--directory", str(directory), "--framework", "terraform",
         "--skip-download", "--output", "json", "--compact"],
        capture_output=True, text=True, timeout=600, check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home), "LOG_LEVEL": "WARNING",
             "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"})
    assert done.returncode in (0, 1), done.stderr[-3000:]  # 1: some check failed
    report = json.loads(done.stdout)
    return report[0] if isinstance(report, list) else report


@pytest.fixture(scope="module")
def report(checkov, tmp_path_factory) -> dict:
    return scan(checkov, TERRAFORM, tmp_path_factory.mktemp("checkov-home"))


def test_checkov_passes_over_the_terraform(report):
    failed = [(f["check_id"], f["resource"], f["file_path"])
              for f in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["resource_count"] > 100, "checkov saw too little of deploy/terraform"
    assert report["summary"]["passed"] > 0


def test_every_skipped_check_has_a_reason_in_the_file(report):
    skipped = report["results"]["skipped_checks"]
    assert skipped, "no skip annotation reached checkov"
    for check in skipped:
        reason = check["check_result"].get("suppress_comment", "")
        assert len(reason.split()) >= 5, (check["check_id"], check["resource"], reason)
    for path in TERRAFORM.rglob("*.tf"):
        for check_id, reason in SKIP.findall(path.read_text()):
            assert reason.startswith(":") and len(reason.split()) >= 5, (path, check_id, reason)


def test_without_the_annotations_the_same_checks_fail(checkov, report, tmp_path):
    """The scan is real: stripped of its skip comments, the Terraform fails exactly the checks
    that were skipped."""
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM, copy)
    for path in copy.rglob("*.tf"):
        path.write_text(SKIP.sub("", path.read_text()))
    stripped = scan(checkov, copy, tmp_path)

    def identities(checks):
        return sorted((c["check_id"], c["resource"]) for c in checks)

    assert identities(stripped["results"]["failed_checks"]) == identities(
        report["results"]["skipped_checks"])
