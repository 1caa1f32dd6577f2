"""Ingest's own bucket (INGEST_BUCKET): lifecycle matches the anti-replay retention, ingest's
account alone administers it, and ingest's env names it."""

from __future__ import annotations

from tests.deploy.test_terraform import INGEST, block, load, resources, source_text


def test_ingest_bucket_expires_with_the_retention_window_and_is_ingests_alone():
    module = load(INGEST)
    [bucket] = resources(module, "google_storage_bucket").values()
    rule = block(bucket, "lifecycle_rule")
    assert "var.replay_retention_days" in str(block(rule, "condition")["age"])
    assert block(rule, "action")["type"] == "Delete"
    members = resources(module, "google_storage_bucket_iam_member")
    on_own_bucket = [m for m in members.values() if "google_storage_bucket.ingest" in m["bucket"]]
    [member] = on_own_bucket
    assert member["role"] == "roles/storage.objectAdmin"
    assert "google_service_account.ingest.email" in member["member"]
    # Elsewhere ingest only reads the staging buckets import may take files from.
    others = [m for m in members.values() if m not in on_own_bucket]
    assert [m["role"] for m in others] == ["roles/storage.objectViewer"]
    assert "var.staging_buckets" in str(others[0]["for_each"])
    text = source_text(INGEST)
    assert "INGEST_BUCKET             = var.ingest_bucket" in text
    assert "REPLAY_RETENTION_DAYS" in text
