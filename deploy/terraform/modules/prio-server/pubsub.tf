resource "google_pubsub_topic" "topic" {
  #checkov:skip=CKV_GCP_83:messages carry shares already sealed to one server's X25519 key, verify packets and total shares; Google-managed keys encrypt them at rest and a customer key would add rotation work without hiding more
  for_each                   = toset(local.topics)
  project                    = var.project_id
  name                       = each.key
  message_retention_duration = var.topic_message_retention
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:messages carry shares already sealed to one server's X25519 key, verify packets and total shares; Google-managed keys encrypt them at rest and a customer key would add rotation work without hiding more
  for_each                   = local.dead_letter_topics
  project                    = var.project_id
  name                       = each.key
  message_retention_duration = var.topic_message_retention
}

# Push to the service's Cloud Run endpoint `POST /push/{subscription}`, signed with an OIDC
# token of the service's own push account (services/common/push_auth.py checks it).
resource "google_pubsub_subscription" "push" {
  for_each                   = local.subscriptions
  project                    = var.project_id
  name                       = each.key
  topic                      = google_pubsub_topic.topic[each.value.topic].id
  ack_deadline_seconds       = var.ack_deadline_seconds
  message_retention_duration = var.subscription_message_retention

  push_config {
    push_endpoint = "${google_cloud_run_v2_service.service[each.value.service].uri}/push/${each.key}"
    oidc_token {
      service_account_email = google_service_account.push[each.value.service].email
      audience              = local.push_audience[each.value.service]
    }
  }

  retry_policy {
    minimum_backoff = var.retry_minimum_backoff
    maximum_backoff = var.retry_maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter["${each.value.topic}-dead-letter"].id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [google_pubsub_topic_iam_member.dead_letter_publisher]
}

# `<topic>-dead-letter-inspect`: where `prio-stream dead-letters` and the admin endpoints list
# and re-drive. A dead letter of a dead letter would be a loop, so these have no dead-letter
# policy; they keep what they hold for the longest retention Pub/Sub allows.
resource "google_pubsub_subscription" "inspect" {
  for_each                   = local.dead_letter_topics
  project                    = var.project_id
  name                       = "${each.key}-inspect"
  topic                      = google_pubsub_topic.dead_letter[each.key].id
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"

  retry_policy {
    minimum_backoff = var.retry_minimum_backoff
    maximum_backoff = var.retry_maximum_backoff
  }

  expiration_policy {
    ttl = ""
  }
}

# --- Pub/Sub's own service agent: forwards to dead-letter topics, mints the push tokens.

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = local.dead_letter_topics
  project  = var.project_id
  topic    = google_pubsub_topic.dead_letter[each.key].name
  role     = "roles/pubsub.publisher"
  member   = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_forwarder" {
  for_each     = local.subscriptions
  project      = var.project_id
  subscription = google_pubsub_subscription.push[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

resource "google_service_account_iam_member" "push_token_creator" {
  for_each           = local.services
  service_account_id = google_service_account.push[each.key].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

# --- own services

resource "google_pubsub_topic_iam_member" "own_publisher" {
  for_each = local.own_publish_grants
  project  = var.project_id
  topic    = google_pubsub_topic.topic[each.value.topic].name
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_service_account.service[each.value.service].email}"
}

resource "google_pubsub_subscription_iam_member" "inspect_reader" {
  for_each     = local.subscriptions
  project      = var.project_id
  subscription = google_pubsub_subscription.inspect["${each.value.topic}-dead-letter"].name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${google_service_account.service[each.value.service].email}"
}

resource "google_pubsub_subscription_iam_member" "operator_inspect" {
  for_each     = local.operator_inspect_grants
  project      = var.project_id
  subscription = google_pubsub_subscription.inspect[each.value.topic].name
  role         = "roles/pubsub.subscriber"
  member       = each.value.member
}

# --- the other parties: publish only, each to what the protocol sends us

resource "google_pubsub_topic_iam_member" "peer_publisher" {
  for_each = local.peer_inbound
  project  = var.project_id
  topic    = google_pubsub_topic.topic[each.key].name
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${var.peer_service_accounts[each.value]}"
}

resource "google_pubsub_topic_iam_member" "ingest_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.topic["prio-partitions"].name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${var.ingest_service_account}"
}
