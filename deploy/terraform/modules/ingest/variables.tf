variable "project_id" {
  description = "The ingest side's GCP project (INGEST_PROJECT_ID)."
  type        = string
}

variable "region" {
  description = "Region of the ingest Cloud Run service."
  type        = string
}

variable "image" {
  description = "The prio-stream container image (Dockerfile), preferably by digest."
  type        = string
}

variable "server_a" {
  description = "Server A's project and inbox bucket: {project_id, inbox_bucket} (PROJECT_ID, INBOX_BUCKET of ingest)."
  type = object({
    project_id   = string
    inbox_bucket = string
  })
}

variable "server_b" {
  description = "Server B's project and inbox bucket: {project_id, inbox_bucket} (PEER_PROJECT_ID, PEER_INBOX_BUCKET of ingest)."
  type = object({
    project_id   = string
    inbox_bucket = string
  })
}

variable "data_config" {
  description = "DATA_CONFIG: JSON list of {\"batch_id\", \"n_data\"}, identical to the servers'."
  type        = string
}

variable "prg_mode" {
  description = "PRG_MODE: \"hash\" or \"raw\", as on the servers."
  type        = string
  default     = "raw"
}

variable "delivery" {
  description = "\"push\": `prio-stream serve ingest` behind an OIDC push subscription; \"pull\": `prio-stream worker ingest` (streaming pull, CPU always allocated, at least one instance)."
  type        = string
  default     = "pull"
  validation {
    condition     = contains(["push", "pull"], var.delivery)
    error_message = "delivery is \"push\" or \"pull\"."
  }
}

variable "pings_publishers" {
  description = "IAM members that may publish pings to prio-pings (the telemetry pipeline, load generators)."
  type        = list(string)
  default     = []
}

variable "pings_topic" {
  description = "The topic ingest's subscription (prio-pings-ingest) reads: empty for ingest's own prio-pings (clients and load generators publish there), or the id `projects/P/topics/T` of a topic shared with other document types, such as the upstream's decoded topic, whose owner grants the subscription (docs/pings.md). Changing it replaces the subscription."
  type        = string
  default     = ""
  validation {
    condition     = var.pings_topic == "" || can(regex("^projects/[^/]+/topics/[^/]+$", var.pings_topic))
    error_message = "pings_topic is empty or projects/PROJECT/topics/TOPIC."
  }
}

variable "pings_filter" {
  description = "Pub/Sub subscription filter of prio-pings-ingest; null: `attributes.document_type = \"prio\"` on a shared pings_topic, none on ingest's own. Messages it excludes are acknowledged by Pub/Sub and never reach ingest. Changing it replaces the subscription."
  type        = string
  default     = null
}

variable "operator_members" {
  description = "IAM members of the ingest operators: invoke the admin endpoints."
  type        = list(string)
  default     = []
}

variable "partition_max_reports" {
  description = "PARTITION_MAX_REPORTS: reports per partition at most."
  type        = number
  default     = 1000
}

variable "partition_max_bytes" {
  description = "PARTITION_MAX_BYTES: bytes of shares per partition at most (bounds memory at large n_data)."
  type        = number
  default     = 16777216
}

variable "staging_buckets" {
  description = "STAGING_BUCKETS: buckets staged share files may be imported from (POST .../import); empty disables import. Ingest gets read access to each."
  type        = list(string)
  default     = []
}

variable "staging_max_bytes" {
  description = "STAGING_MAX_BYTES: size cap of each staged file an import reads (two are held in memory at once)."
  type        = number
  default     = 67108864
}

variable "partition_max_age_seconds" {
  description = "PARTITION_MAX_AGE_SECONDS: a partition is closed after this long."
  type        = number
  default     = 30
}

variable "max_delivery_attempts" {
  description = "Deliveries of a ping before it goes to prio-pings-dead-letter (5..100)."
  type        = number
  default     = 5
  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts is between 5 and 100."
  }
}

variable "retry_minimum_backoff" {
  description = "Smallest wait before Pub/Sub redelivers a nacked ping."
  type        = string
  default     = "10s"
}

variable "retry_maximum_backoff" {
  description = "Largest wait before Pub/Sub redelivers a nacked ping (at most 600s)."
  type        = string
  default     = "600s"
}

variable "ack_deadline_seconds" {
  description = "Acknowledgement deadline of prio-pings-ingest, also the Cloud Run request timeout; must exceed partition_max_age_seconds."
  type        = number
  default     = 120
}

variable "topic_message_retention" {
  description = "How long prio-pings keeps published messages."
  type        = string
  default     = "604800s"
}

variable "concurrency" {
  description = "Cloud Run max concurrent requests per instance: with push, the pings one instance holds at once."
  type        = number
  default     = 250
}

variable "min_instances" {
  description = "Cloud Run minimum instances (at least 1 with delivery = \"pull\")."
  type        = number
  default     = 0
}

variable "max_instances" {
  description = "Cloud Run maximum instances."
  type        = number
  default     = 10
}

variable "cpu" {
  description = "Cloud Run CPU limit of each instance."
  type        = string
  default     = "1"
}

variable "memory" {
  description = "Cloud Run memory limit of each instance."
  type        = string
  default     = "1Gi"
}

variable "otel_exporter" {
  description = "OTEL_EXPORTER: otlp, console or none."
  type        = string
  default     = "none"
}

variable "deletion_protection" {
  description = "Refuse to destroy the Cloud Run service."
  type        = bool
  default     = true
}

variable "ingest_bucket" {
  description = "Ingest's own bucket (INGEST_BUCKET): anti-replay store and rejection records."
  type        = string
  default     = "prio-ingest"
}

variable "replay_retention_days" {
  description = "REPLAY_RETENTION_DAYS: how long a report id is remembered; the bucket's lifecycle deletes objects a day later."
  type        = number
  default     = 7
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
