output "service_accounts" {
  description = "Email of each service's account, by service: the peer module's peer_service_accounts."
  value       = { for s, account in google_service_account.service : s => account.email }
}

output "service_urls" {
  description = "Cloud Run URL of each service (admin endpoints: /batches, /dead-letters, /docs)."
  value       = { for s, service in google_cloud_run_v2_service.service : s => service.uri }
}

output "topics" {
  description = "Topic ids by name, dead-letter topics included."
  value = merge(
    { for name, topic in google_pubsub_topic.topic : name => topic.id },
    { for name, topic in google_pubsub_topic.dead_letter : name => topic.id },
  )
}

output "inbox_bucket" {
  description = "The inbox bucket's name (ingest writes here)."
  value       = google_storage_bucket.inbox.name
}

output "private_bucket" {
  description = "The private bucket's name."
  value       = google_storage_bucket.private.name
}

output "secrets" {
  description = "Secret Manager secret ids, by setting; add their values with `gcloud secrets versions add`."
  value       = { for name, secret in google_secret_manager_secret.secret : local.secrets[name].env => secret.id }
}
