variable "project_a" {
  description = "Server A's project (the leader)."
  type        = string
}

variable "project_b" {
  description = "Server B's project."
  type        = string
}

variable "project_ingest" {
  description = "The ingest side's project (prio-pings, ingest service)."
  type        = string
}

variable "region" {
  description = "Region of every Cloud Run service and the scheduler."
  type        = string
  default     = "us-central1"
}

variable "bucket_location" {
  description = "Location of the servers' buckets."
  type        = string
  default     = "US-CENTRAL1"
}

variable "image" {
  description = "The prio-stream image, by digest (each party may build and pin its own)."
  type        = string
}

variable "data_config" {
  description = "DATA_CONFIG shared by both servers and ingest: JSON list of {\"batch_id\", \"n_data\"}."
  type        = string
}

variable "prg_mode" {
  description = "PRG_MODE of both servers: \"hash\" or \"raw\" (Firefox's libprio 1.6)."
  type        = string
  default     = "raw"
}

variable "min_batch_size" {
  description = "MIN_BATCH_SIZE of both publishers."
  type        = number
  default     = 100
}

variable "public_key_hex_a" {
  description = "Server A's public key (`prio keygen` on A's side; the private half goes to A's Secret Manager only)."
  type        = string
}

variable "public_key_hex_b" {
  description = "Server B's public key (`prio keygen` on B's side)."
  type        = string
}

variable "release_public_key_hex_a" {
  description = "Server A's release public key (`prio-stream releases keygen` on A's side; the signing key goes to A's Secret Manager only)."
  type        = string
}

variable "release_public_key_hex_b" {
  description = "Server B's release public key (`prio-stream releases keygen` on B's side)."
  type        = string
}

variable "batch_close_schedule" {
  description = "Cron (UTC) of server A's batch close."
  type        = string
  default     = "15 * * * *"
}

variable "ingest_delivery" {
  description = "How ingest receives pings: \"push\" or \"pull\" (see the ingest module)."
  type        = string
  default     = "pull"
}

variable "pings_publishers" {
  description = "IAM members that may publish to prio-pings."
  type        = list(string)
  default     = []
}

variable "ingest_pings_topic" {
  description = "Ingest's pings_topic: empty for its own prio-pings, or projects/P/topics/T of a topic shared with other document types (the upstream's decoded topic)."
  type        = string
  default     = ""
}

variable "ingest_pings_filter" {
  description = "Ingest's pings_filter: null for attributes.document_type = \"prio\" on a shared topic, none on its own."
  type        = string
  default     = null
}

variable "operators_a" {
  description = "IAM members operating server A."
  type        = list(string)
  default     = []
}

variable "operators_b" {
  description = "IAM members operating server B."
  type        = list(string)
  default     = []
}

variable "operators_ingest" {
  description = "IAM members operating ingest."
  type        = list(string)
  default     = []
}

variable "operator_emails" {
  description = "OPERATORS of each party (keys a, b, ingest): emails that may change state through the admin routes. They also need to be among the party's IAM operators to reach the service."
  type        = map(list(string))
  default     = {}
}

variable "reader_emails" {
  description = "READERS of each party (keys a, b, ingest): emails that may read through the admin routes."
  type        = map(list(string))
  default     = {}
}
