variable "server_id" {
  description = "This server: \"A\" (the leader, closes batches) or \"B\"."
  type        = string
  validation {
    condition     = contains(["A", "B"], var.server_id)
    error_message = "server_id is \"A\" or \"B\"."
  }
}

variable "project_id" {
  description = "This server's GCP project (PROJECT_ID)."
  type        = string
}

variable "peer_project_id" {
  description = "The other server's GCP project (PEER_PROJECT_ID), where our services publish verify packets, batch-close messages and total shares."
  type        = string
}

variable "ingest_project_id" {
  description = "The ingest side's GCP project (INGEST_PROJECT_ID)."
  type        = string
}

variable "region" {
  description = "Region of the Cloud Run services and the Cloud Scheduler job."
  type        = string
}

variable "image" {
  description = "The prio-stream container image (Dockerfile), preferably by digest: REGION-docker.pkg.dev/PROJECT/REPO/prio-stream@sha256:..."
  type        = string
}

variable "inbox_bucket" {
  description = "Name of this server's inbox bucket (INBOX_BUCKET): ingest writes shares here. Bucket names are global."
  type        = string
}

variable "private_bucket" {
  description = "Name of this server's private bucket (PRIVATE_BUCKET): everything this server derives. Bucket names are global."
  type        = string
}

variable "bucket_location" {
  description = "Location of both buckets (a region, or a multi-region such as US)."
  type        = string
}

variable "data_config" {
  description = "DATA_CONFIG: JSON list of {\"batch_id\", \"n_data\"}, identical on both servers and ingest."
  type        = string
  validation {
    condition     = can(length(jsondecode(var.data_config)) > 0)
    error_message = "data_config must be a JSON list."
  }
}

variable "prg_mode" {
  description = "PRG_MODE: \"hash\" (libprio >= #104) or \"raw\" (libprio <= 1.6, Firefox). Same on both servers."
  type        = string
  default     = "raw"
  validation {
    condition     = contains(["hash", "raw"], var.prg_mode)
    error_message = "prg_mode is \"hash\" or \"raw\"."
  }
}

variable "public_key_hex" {
  description = "This server's X25519 public key, 64 hex (PUBLIC_KEY_HEX_INTERNAL; from `prio keygen`)."
  type        = string
  validation {
    condition     = can(regex("^[0-9A-Fa-f]{64}$", var.public_key_hex))
    error_message = "public_key_hex is 64 hexadecimal characters."
  }
}

variable "peer_public_key_hex" {
  description = "The other server's X25519 public key, 64 hex (PUBLIC_KEY_HEX_EXTERNAL)."
  type        = string
  validation {
    condition     = can(regex("^[0-9A-Fa-f]{64}$", var.peer_public_key_hex))
    error_message = "peer_public_key_hex is 64 hexadecimal characters."
  }
}

variable "peer_release_public_key_hex" {
  description = "The other server's Ed25519 release public key, 64 hex (RELEASE_PUBLIC_KEY_HEX_EXTERNAL; `prio-stream releases keygen` on its side): checks the release records it sends."
  type        = string
  validation {
    condition     = can(regex("^[0-9A-Fa-f]{64}$", var.peer_release_public_key_hex))
    error_message = "peer_release_public_key_hex is 64 hexadecimal characters."
  }
}

variable "peer_service_accounts" {
  description = "The other server's service account emails by service: {verifier = ..., aggregator = ...}. Each may publish only to the inbound topic(s) its service sends to."
  type        = map(string)
  validation {
    condition     = alltrue([for k in ["verifier", "aggregator"] : contains(keys(var.peer_service_accounts), k)])
    error_message = "peer_service_accounts needs the keys verifier and aggregator."
  }
}

variable "ingest_service_account" {
  description = "The ingest service's account email: may create objects in our inbox and publish to our prio-partitions, nothing else."
  type        = string
}

variable "operator_members" {
  description = "IAM members of this server's operators (e.g. group:prio-a-ops@example.com): invoke the admin endpoints, read dead letters."
  type        = list(string)
  default     = []
}

variable "min_batch_size" {
  description = "MIN_BATCH_SIZE: the smallest publishable batch (valid reports)."
  type        = number
  default     = 100
}

variable "max_delivery_attempts" {
  description = "Deliveries of a message before it goes to its dead-letter topic (Pub/Sub allows 5..100)."
  type        = number
  default     = 5
  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts is between 5 and 100."
  }
}

variable "retry_minimum_backoff" {
  description = "Smallest wait before Pub/Sub redelivers a nacked message."
  type        = string
  default     = "10s"
}

variable "retry_maximum_backoff" {
  description = "Largest wait before Pub/Sub redelivers a nacked message (at most 600s)."
  type        = string
  default     = "600s"
}

variable "ack_deadline_seconds" {
  description = "Push acknowledgement deadline, also the Cloud Run request timeout: the longest a partition may take (at most 600)."
  type        = number
  default     = 300
}

variable "topic_message_retention" {
  description = "How long each topic keeps published messages (lets a new or reset subscription seek back)."
  type        = string
  default     = "604800s"
}

variable "subscription_message_retention" {
  description = "How long a subscription keeps unacknowledged messages, e.g. through a peer outage (at most 7 days)."
  type        = string
  default     = "604800s"
}

variable "concurrency" {
  description = "Cloud Run max concurrent requests per instance, by service."
  type        = map(number)
  default     = { verifier = 4, aggregator = 8, publisher = 8 }
}

variable "min_instances" {
  description = "Cloud Run minimum instances, by service (0: scale to zero)."
  type        = map(number)
  default     = { verifier = 0, aggregator = 0, publisher = 0 }
}

variable "max_instances" {
  description = "Cloud Run maximum instances, by service: bounds cost and the load on the peer."
  type        = map(number)
  default     = { verifier = 20, aggregator = 5, publisher = 2 }
}

variable "cpu" {
  description = "Cloud Run CPU limit of each instance."
  type        = string
  default     = "2"
}

variable "memory" {
  description = "Cloud Run memory limit of each instance."
  type        = string
  default     = "2Gi"
}

variable "inbox_retention_days" {
  description = "Days shares stay in the inbox (lifecycle delete)."
  type        = number
  default     = 14
}

variable "intermediate_retention_days" {
  description = "Days intermediate/ objects (verify packets, states, partition totals) stay in the private bucket."
  type        = number
  default     = 30
}

variable "processed_retention_days" {
  description = "Days published results (processed/) stay in the private bucket."
  type        = number
  default     = 400
}

variable "batch_close_schedule" {
  description = "Cron (UTC) of server A's batch close; unused on server B."
  type        = string
  default     = "15 * * * *"
}

variable "otel_exporter" {
  description = "OTEL_EXPORTER: otlp, console or none."
  type        = string
  default     = "none"
}

variable "deletion_protection" {
  description = "Refuse to destroy the Cloud Run services."
  type        = bool
  default     = true
}

variable "replay_retention_days" {
  description = "The anti-replay window (REPLAY_RETENTION_DAYS): a share seen within this many days is REPLAYED; partitions dated before it are refused. The verifier holds 8 bytes per report of the window in memory; keep intermediate_retention_days above it."
  type        = number
  default     = 7
  validation {
    condition     = var.replay_retention_days >= 1
    error_message = "replay_retention_days must be at least 1."
  }
}

variable "clock_skew_seconds" {
  description = "How far ahead of this server's clock a partition's submission date may be (PING_CLOCK_SKEW_SECONDS)."
  type        = number
  default     = 600
}

variable "operators" {
  description = "OPERATORS: emails (users or service accounts) whose Google ID token may call every admin route, state-changing ones included. Each also needs run.invoker (operator_members)."
  type        = list(string)
  default     = []
}

variable "readers" {
  description = "READERS: emails whose Google ID token may call the read-only admin routes (GET). Each also needs run.invoker (operator_members)."
  type        = list(string)
  default     = []
}

variable "admin_audience" {
  description = "ADMIN_AUDIENCE: the audience admin tokens are minted for, also a custom audience of the Cloud Run services. Default: prio-stream:PROJECT_ID:admin."
  type        = string
  default     = null
}
