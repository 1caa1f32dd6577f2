# The leader (server A) closes due batches on a schedule: Cloud Run gives a background loop no
# CPU between requests, so Cloud Scheduler calls the aggregator's `POST /batches/close-due`.
# Server B never closes by itself: it follows A's proposal on prio-batch-close.
resource "google_cloud_scheduler_job" "batch_close" {
  count            = local.leader ? 1 : 0
  project          = var.project_id
  region           = var.region
  name             = "prio-batch-close"
  description      = "Close every due batch date (prio-stream aggregator, server A)"
  schedule         = var.batch_close_schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "320s"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "30s"
    max_backoff_duration = "600s"
  }

  http_target {
    http_method = "POST"
    uri         = "${google_cloud_run_v2_service.service["aggregator"].uri}/batches/close-due"

    oidc_token {
      service_account_email = google_service_account.scheduler[0].email
      audience              = local.admin_audience # a custom audience the app checks too
    }
  }
}

resource "google_cloud_run_v2_service_iam_member" "scheduler_invoker" {
  count    = local.leader ? 1 : 0
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.service["aggregator"].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler[0].email}"
}
