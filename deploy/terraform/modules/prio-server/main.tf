# One Prio server's project: its topics and subscriptions, buckets, secrets, service accounts and
# Cloud Run services. Names are the contract of docs/architecture.md. IAM here grants only what
# this server's own services need, plus the two cross-party grants the protocol requires: the
# peer server may publish to our inbound topics, and ingest may create objects in our inbox and
# publish to our prio-partitions. Nobody else reads our private bucket or our secrets.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  # --- names (docs/architecture.md, services/common/topology.py)
  topics = [
    "prio-partitions",
    "prio-verify1",
    "prio-verify2",
    "prio-verified",
    "prio-batch-close",
    "prio-total-shares",
    "prio-results",
    "prio-releases",
  ]
  subscriptions = {
    "prio-partitions-verifier"    = { topic = "prio-partitions", service = "verifier" }
    "prio-verify1-verifier"       = { topic = "prio-verify1", service = "verifier" }
    "prio-verify2-verifier"       = { topic = "prio-verify2", service = "verifier" }
    "prio-verified-aggregator"    = { topic = "prio-verified", service = "aggregator" }
    "prio-batch-close-aggregator" = { topic = "prio-batch-close", service = "aggregator" }
    "prio-total-shares-publisher" = { topic = "prio-total-shares", service = "publisher" }
    "prio-releases-publisher"     = { topic = "prio-releases", service = "publisher" }
  }
  services           = toset(["verifier", "aggregator", "publisher"])
  dead_letter_topics = toset([for s in values(local.subscriptions) : "${s.topic}-dead-letter"])

  # Our inbound topics and the one service of the peer that publishes to each. The peer gets
  # nothing else in this project.
  peer_inbound = {
    "prio-verify1"      = "verifier"
    "prio-verify2"      = "verifier"
    "prio-batch-close"  = "aggregator"
    "prio-total-shares" = "aggregator"
    "prio-releases"     = "publisher"
  }
  # What each own service publishes here: its outputs, and the source topics of its
  # subscriptions (re-driving dead letters publishes them again).
  own_publish = {
    verifier   = ["prio-verified", "prio-partitions", "prio-verify1", "prio-verify2"]
    aggregator = ["prio-total-shares", "prio-batch-close", "prio-verified"]
    publisher  = ["prio-results", "prio-total-shares", "prio-releases"]
  }
  # Bucket access of own services: the inbox is read only (ingest writes it), the private bucket
  # is create-only + read (storage is create-only by contract: nothing is overwritten or deleted
  # but by the lifecycle rules).
  bucket_access = {
    inbox   = { services = ["verifier", "aggregator"], roles = ["roles/storage.objectViewer"] }
    private = { services = ["verifier", "aggregator", "publisher"], roles = ["roles/storage.objectViewer", "roles/storage.objectCreator"] }
  }
  # Secret Manager secret -> the variable it fills and the services that read it.
  secrets = {
    "prio-private-key-hex" = { env = "PRIVATE_KEY_HEX", readers = ["verifier", "aggregator"] }
    # Its versions by date (SHARED_SECRETS; one base64 value is one version): a rotation adds
    # a Secret Manager version holding the whole list (docs/runbook.md).
    "prio-shared-secret" = { env = "SHARED_SECRETS", readers = ["verifier"] }

    # The publisher's Ed25519 seed signing its release records (64 hex).
    "prio-release-signing-key" = { env = "RELEASE_SIGNING_KEY_HEX", readers = ["publisher"] }

    # Previous private keys, still decrypting what clients encrypted to them (a rotation):
    # comma-separated 64 hex, current key first in PRIVATE_KEY_HEX; "none" for none.
    "prio-previous-private-keys-hex" = { env = "PREVIOUS_PRIVATE_KEYS_HEX", readers = ["verifier", "aggregator"] }
  }

  leader        = var.server_id == "A"
  pubsub_agent  = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  push_audience = { for s in local.services : s => "prio-stream:${var.project_id}:${s}" }
  # Admin routes take a Google ID token for this audience from an email of OPERATORS/READERS.
  admin_audience = coalesce(var.admin_audience, "prio-stream:${var.project_id}:admin")
  # The scheduler's close-due changes state: its account is an operator (of the leader only).
  operators = concat(var.operators, google_service_account.scheduler[*].email)

  own_publish_grants = merge([
    for service, topics in local.own_publish : {
      for topic in topics : "${service}/${topic}" => { service = service, topic = topic }
    }
  ]...)
  bucket_grants = merge([
    for bucket, access in local.bucket_access : merge([
      for service in access.services : {
        for role in access.roles : "${bucket}/${service}/${role}" => {
          bucket = bucket, service = service, role = role
        }
      }
    ]...)
  ]...)
  secret_grants = merge([
    for secret, spec in local.secrets : {
      for service in spec.readers : "${secret}/${service}" => { secret = secret, service = service }
    }
  ]...)
  operator_inspect_grants = merge([
    for member in var.operator_members : {
      for topic in local.dead_letter_topics : "${topic}/${member}" => { topic = topic, member = member }
    }
  ]...)
  operator_invoker_grants = merge([
    for member in var.operator_members : {
      for service in local.services : "${service}/${member}" => { service = service, member = member }
    }
  ]...)

  env_common = {
    SERVER_ID               = var.server_id
    PROJECT_ID              = var.project_id
    PEER_PROJECT_ID         = var.peer_project_id
    INGEST_PROJECT_ID       = var.ingest_project_id
    INBOX_BUCKET            = google_storage_bucket.inbox.name
    PRIVATE_BUCKET          = google_storage_bucket.private.name
    DATA_CONFIG             = var.data_config
    PRG_MODE                = var.prg_mode
    PUBLIC_KEY_HEX_INTERNAL = var.public_key_hex
    PUBLIC_KEY_HEX_EXTERNAL = var.peer_public_key_hex
    MIN_BATCH_SIZE          = tostring(var.min_batch_size)
    MAX_DELIVERY_ATTEMPTS   = tostring(var.max_delivery_attempts)
    REPLAY_RETENTION_DAYS   = tostring(var.replay_retention_days)
    PING_CLOCK_SKEW_SECONDS = tostring(var.clock_skew_seconds)
    TRANSPORT               = "pubsub"
    STORAGE                 = "gcs"
    PUSH_AUTH               = "oidc"
    ADMIN_AUTH              = "oidc"
    ADMIN_AUDIENCE          = local.admin_audience
    OPERATORS               = join(",", local.operators)
    READERS                 = join(",", var.readers)
    OTEL_EXPORTER           = var.otel_exporter

    # The peer's Ed25519 public key checking its release records (docs/security.md).
    RELEASE_PUBLIC_KEY_HEX_EXTERNAL = var.peer_release_public_key_hex
  }
}
