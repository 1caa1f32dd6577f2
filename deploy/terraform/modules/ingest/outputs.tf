output "service_account" {
  description = "The ingest service's account email: each server module's ingest_service_account."
  value       = google_service_account.ingest.email
}

output "pings_topic" {
  description = "The prio-pings topic id clients publish to."
  value       = google_pubsub_topic.pings.id
}

output "service_url" {
  description = "Cloud Run URL of the ingest service (admin endpoints)."
  value       = google_cloud_run_v2_service.ingest.uri
}
