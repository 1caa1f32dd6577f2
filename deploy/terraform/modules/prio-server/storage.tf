# inbox: shares written by ingest (the only cross-party writer), read by our services.
resource "google_storage_bucket" "inbox" {
  #checkov:skip=CKV_GCP_62:reads are recorded by Cloud Audit Logs (data access), which an operator turns on per project; usage-log buckets would be a second copy nobody reads
  #checkov:skip=CKV_GCP_78:objects are written create-only (if_generation_match=0) and deleted only by the lifecycle rules that bound how long shares live; versions would keep the deleted shares
  project                     = var.project_id
  name                        = var.inbox_bucket
  location                    = var.bucket_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  lifecycle_rule {
    condition {
      age = var.inbox_retention_days
    }
    action {
      type = "Delete"
    }
  }
}

# private: everything this server derives; never readable outside this project.
resource "google_storage_bucket" "private" {
  #checkov:skip=CKV_GCP_62:reads are recorded by Cloud Audit Logs (data access), which an operator turns on per project; usage-log buckets would be a second copy nobody reads
  #checkov:skip=CKV_GCP_78:objects are written create-only (if_generation_match=0) and deleted only by the lifecycle rules that bound how long shares live; versions would keep the deleted shares
  project                     = var.project_id
  name                        = var.private_bucket
  location                    = var.bucket_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  lifecycle_rule {
    condition {
      age            = var.intermediate_retention_days
      matches_prefix = ["intermediate/"]
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      age            = var.processed_retention_days
      matches_prefix = ["processed/"]
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_storage_bucket_iam_member" "own" {
  for_each = local.bucket_grants
  bucket   = each.value.bucket == "inbox" ? google_storage_bucket.inbox.name : google_storage_bucket.private.name
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.service[each.value.service].email}"
}

# Ingest may create objects in the inbox: not read, list, overwrite or delete them.
resource "google_storage_bucket_iam_member" "ingest_creator" {
  bucket = google_storage_bucket.inbox.name
  role   = "roles/storage.objectCreator"
  member = "serviceAccount:${var.ingest_service_account}"
}
