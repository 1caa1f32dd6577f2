# Both Prio servers and the ingest side, each in its own project, wired together. In production
# each party applies only its own part with its own credentials and state (docs/deployment.md);
# this root shows every cross-project grant in one place.

provider "google" {
  region = var.region
}

locals {
  # Each server's project alone reads its secrets and private bucket; the grants between the
  # parties are the module inputs below and nothing else.
  server_a_buckets = { inbox = "${var.project_a}-prio-inbox", private = "${var.project_a}-prio-private" }
  server_b_buckets = { inbox = "${var.project_b}-prio-inbox", private = "${var.project_b}-prio-private" }
}

module "server_a" {
  source = "../../modules/prio-server"

  server_id         = "A"
  project_id        = var.project_a
  peer_project_id   = var.project_b
  ingest_project_id = var.project_ingest
  region            = var.region
  image             = var.image
  inbox_bucket      = local.server_a_buckets.inbox
  private_bucket    = local.server_a_buckets.private
  bucket_location   = var.bucket_location
  data_config       = var.data_config
  prg_mode          = var.prg_mode
  min_batch_size    = var.min_batch_size

  public_key_hex         = var.public_key_hex_a
  peer_public_key_hex    = var.public_key_hex_b
  peer_service_accounts  = module.server_b.service_accounts
  ingest_service_account = module.ingest.service_account
  operator_members       = var.operators_a
  operators              = lookup(var.operator_emails, "a", [])
  readers                = lookup(var.reader_emails, "a", [])
  batch_close_schedule   = var.batch_close_schedule

  peer_release_public_key_hex = var.release_public_key_hex_b
}

module "server_b" {
  source = "../../modules/prio-server"

  server_id         = "B"
  project_id        = var.project_b
  peer_project_id   = var.project_a
  ingest_project_id = var.project_ingest
  region            = var.region
  image             = var.image
  inbox_bucket      = local.server_b_buckets.inbox
  private_bucket    = local.server_b_buckets.private
  bucket_location   = var.bucket_location
  data_config       = var.data_config
  prg_mode          = var.prg_mode
  min_batch_size    = var.min_batch_size

  public_key_hex         = var.public_key_hex_b
  peer_public_key_hex    = var.public_key_hex_a
  peer_service_accounts  = module.server_a.service_accounts
  ingest_service_account = module.ingest.service_account
  operator_members       = var.operators_b
  operators              = lookup(var.operator_emails, "b", [])
  readers                = lookup(var.reader_emails, "b", [])

  peer_release_public_key_hex = var.release_public_key_hex_a
}

module "ingest" {
  source = "../../modules/ingest"

  project_id       = var.project_ingest
  region           = var.region
  image            = var.image
  data_config      = var.data_config
  prg_mode         = var.prg_mode
  delivery         = var.ingest_delivery
  pings_publishers = var.pings_publishers
  pings_topic      = var.ingest_pings_topic
  pings_filter     = var.ingest_pings_filter
  operator_members = var.operators_ingest
  operators        = lookup(var.operator_emails, "ingest", [])
  readers          = lookup(var.reader_emails, "ingest", [])

  server_a = { project_id = var.project_a, inbox_bucket = local.server_a_buckets.inbox }
  server_b = { project_id = var.project_b, inbox_bucket = local.server_b_buckets.inbox }
}
