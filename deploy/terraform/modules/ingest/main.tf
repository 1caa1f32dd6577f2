# The ingest side's project: the prio-pings topic clients publish to, and the ingest service that
# turns pings into partitions of shares for both servers. Its rights in the servers' projects
# (create objects in each inbox, publish to each prio-partitions) are granted by each server's
# own module (ingest_service_account): every party controls the IAM of its own project.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  topic         = "prio-pings"
  subscription  = "prio-pings-ingest"
  dead_letter   = "prio-pings-dead-letter"
  push          = var.delivery == "push"
  pubsub_agent  = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  push_audience = "prio-stream:${var.project_id}:ingest"
  # Admin routes (import, status) take a Google ID token for this audience (OPERATORS/READERS).
  admin_audience = coalesce(var.admin_audience, "prio-stream:${var.project_id}:admin")
  # What ingest's subscription reads: its own prio-pings, or a topic the upstream shares between
  # document types (gcp-ingestion's decoded topic; docs/pings.md), filtered to prio pings there:
  # Pub/Sub acks the other documents itself, so ingest never receives them.
  pings_topic  = var.pings_topic == "" ? google_pubsub_topic.pings.id : var.pings_topic
  prio_filter  = "attributes.document_type = \"prio\""
  pings_filter = var.pings_filter != null ? var.pings_filter : (var.pings_topic == "" ? "" : local.prio_filter)

  env = merge(
    {
      PROJECT_ID                = var.server_a.project_id
      PEER_PROJECT_ID           = var.server_b.project_id
      INGEST_PROJECT_ID         = var.project_id
      INBOX_BUCKET              = var.server_a.inbox_bucket
      PEER_INBOX_BUCKET         = var.server_b.inbox_bucket
      INGEST_BUCKET             = var.ingest_bucket
      REPLAY_RETENTION_DAYS     = tostring(var.replay_retention_days)
      DATA_CONFIG               = var.data_config
      PRG_MODE                  = var.prg_mode
      PARTITION_MAX_REPORTS     = tostring(var.partition_max_reports)
      PARTITION_MAX_BYTES       = tostring(var.partition_max_bytes)
      PARTITION_MAX_AGE_SECONDS = tostring(var.partition_max_age_seconds)
      STAGING_BUCKETS           = join(",", var.staging_buckets)
      STAGING_MAX_BYTES         = tostring(var.staging_max_bytes)
      MAX_DELIVERY_ATTEMPTS     = tostring(var.max_delivery_attempts)
      TRANSPORT                 = "pubsub"
      STORAGE                   = "gcs"
      OTEL_EXPORTER             = var.otel_exporter
      ADMIN_AUTH                = "oidc"
      ADMIN_AUDIENCE            = local.admin_audience
      OPERATORS                 = join(",", var.operators)
      READERS                   = join(",", var.readers)
    },
    local.push ? {
      PUSH_AUTH            = "oidc"
      PUSH_AUDIENCE        = local.push_audience
      PUSH_SERVICE_ACCOUNT = google_service_account.push.email
      } : {
      # Streaming pull: a flow-control window of three partitions (pings are held until their
      # partition is written; see docs/architecture.md), and few handler threads (parsing is
      # GIL-bound; held pings need none).
      PUBSUB_MAX_MESSAGES    = tostring(3 * var.partition_max_reports)
      PUBSUB_MAX_BYTES       = tostring(3 * var.partition_max_bytes)
      PUBSUB_HANDLER_THREADS = "2"
    },
  )
}

resource "google_service_account" "ingest" {
  project      = var.project_id
  account_id   = "prio-ingest"
  display_name = "prio-stream ingest"
}

resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "prio-push-ingest"
  display_name = "Pub/Sub push to prio-stream ingest"
}

resource "google_pubsub_topic" "pings" {
  #checkov:skip=CKV_GCP_83:messages carry shares already sealed to one server's X25519 key, verify packets and total shares; Google-managed keys encrypt them at rest and a customer key would add rotation work without hiding more
  project                    = var.project_id
  name                       = local.topic
  message_retention_duration = var.topic_message_retention
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:messages carry shares already sealed to one server's X25519 key, verify packets and total shares; Google-managed keys encrypt them at rest and a customer key would add rotation work without hiding more
  project                    = var.project_id
  name                       = local.dead_letter
  message_retention_duration = var.topic_message_retention
}

resource "google_pubsub_subscription" "ingest" {
  project                    = var.project_id
  name                       = local.subscription
  topic                      = local.pings_topic
  filter                     = local.pings_filter
  ack_deadline_seconds       = var.ack_deadline_seconds
  message_retention_duration = "604800s"

  # push: `prio-stream serve ingest` on Cloud Run; pull: `prio-stream worker ingest` (streaming
  # pull on an always-allocated CPU), when ingest holds pings unacknowledged until their
  # partition is written.
  dynamic "push_config" {
    for_each = local.push ? [1] : []
    content {
      push_endpoint = "${google_cloud_run_v2_service.ingest.uri}/push/${local.subscription}"
      oidc_token {
        service_account_email = google_service_account.push.email
        audience              = local.push_audience
      }
    }
  }

  retry_policy {
    minimum_backoff = var.retry_minimum_backoff
    maximum_backoff = var.retry_maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [google_pubsub_topic_iam_member.dead_letter_publisher]
}

resource "google_pubsub_subscription" "inspect" {
  project                    = var.project_id
  name                       = "${local.dead_letter}-inspect"
  topic                      = google_pubsub_topic.dead_letter.id
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

# --- Pub/Sub's service agent: dead letters and push tokens

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_forwarder" {
  project      = var.project_id
  subscription = google_pubsub_subscription.ingest.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

resource "google_service_account_iam_member" "push_token_creator" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

# --- who may publish pings, and what ingest reads here

resource "google_pubsub_topic_iam_member" "pings_publisher" {
  for_each = toset(var.pings_publishers)
  project  = var.project_id
  topic    = google_pubsub_topic.pings.name
  role     = "roles/pubsub.publisher"
  member   = each.key
}

resource "google_pubsub_topic_iam_member" "redrive_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.pings.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.ingest.email}"
}

resource "google_pubsub_subscription_iam_member" "ingest_reader" {
  for_each = {
    (local.subscription)           = google_pubsub_subscription.ingest.name
    "${local.dead_letter}-inspect" = google_pubsub_subscription.inspect.name
  }
  project      = var.project_id
  subscription = each.value
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${google_service_account.ingest.email}"
}

resource "google_cloud_run_v2_service" "ingest" {
  project             = var.project_id
  location            = var.region
  name                = "prio-ingest"
  ingress             = "INGRESS_TRAFFIC_ALL"
  custom_audiences    = [local.push_audience, local.admin_audience]
  deletion_protection = var.deletion_protection

  template {
    service_account                  = google_service_account.ingest.email
    max_instance_request_concurrency = var.concurrency
    timeout                          = "${var.ack_deadline_seconds}s"

    scaling {
      min_instance_count = local.push ? var.min_instances : max(var.min_instances, 1)
      max_instance_count = var.max_instances
    }

    containers {
      image   = var.image
      command = ["prio-stream"]
      args    = [local.push ? "serve" : "worker", "ingest"]

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = var.cpu
          memory = var.memory
        }
        cpu_idle          = local.push # a streaming pull needs its CPU between requests
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = local.env
        content {
          name  = env.key
          value = env.value
        }
      }

      startup_probe {
        http_get {
          path = "/__lbheartbeat__"
        }
        period_seconds    = 5
        failure_threshold = 12
      }

      liveness_probe {
        http_get {
          path = "/__lbheartbeat__"
        }
        period_seconds = 30
      }
    }
  }
}

resource "google_cloud_run_v2_service_iam_member" "push_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.ingest.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.push.email}"
}

resource "google_cloud_run_v2_service_iam_member" "operator_invoker" {
  for_each = toset(var.operator_members)
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.ingest.name
  role     = "roles/run.invoker"
  member   = each.key
}

# Ingest's own bucket (INGEST_BUCKET): the anti-replay store, sharded by submission date, and the
# records of rejected reports. Only ingest's account may use it; the servers' inboxes stay
# create-only for ingest. Objects expire with the anti-replay retention window (the service also
# deletes expired shards itself).
resource "google_storage_bucket" "ingest" {
  #checkov:skip=CKV_GCP_62:reads are recorded by Cloud Audit Logs (data access), which an operator turns on per project; usage-log buckets would be a second copy nobody reads
  #checkov:skip=CKV_GCP_78:ingest's anti-replay shards and outcomes are deleted by the lifecycle rule at the end of the replay window; versions would keep them past it
  project                     = var.project_id
  name                        = var.ingest_bucket
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  lifecycle_rule {
    condition {
      age = var.replay_retention_days + 1
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_storage_bucket_iam_member" "ingest_admin" {
  bucket = google_storage_bucket.ingest.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.ingest.email}"
}

# Import reads staged share files from these buckets only (the service refuses any other the
# caller names); reading them is all ingest may do there.
resource "google_storage_bucket_iam_member" "staging_reader" {
  for_each = toset(var.staging_buckets)
  bucket   = each.key
  role     = "roles/storage.objectViewer"
  member   = "serviceAccount:${google_service_account.ingest.email}"
}
