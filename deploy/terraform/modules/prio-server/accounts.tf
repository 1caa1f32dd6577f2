# One identity per service (what it runs as) and one per push subscription signer (what Pub/Sub
# signs its push tokens as, PUSH_SERVICE_ACCOUNT), so a token for one service opens no other.
resource "google_service_account" "service" {
  for_each     = local.services
  project      = var.project_id
  account_id   = "prio-${each.key}"
  display_name = "prio-stream ${each.key} (server ${var.server_id})"
}

resource "google_service_account" "push" {
  for_each     = local.services
  project      = var.project_id
  account_id   = "prio-push-${each.key}"
  display_name = "Pub/Sub push to prio-stream ${each.key} (server ${var.server_id})"
}

resource "google_service_account" "scheduler" {
  count        = local.leader ? 1 : 0
  project      = var.project_id
  account_id   = "prio-scheduler"
  display_name = "Cloud Scheduler: batch close (server ${var.server_id})"
}
