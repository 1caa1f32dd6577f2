output "server_a" {
  description = "Server A: service URLs, service accounts, buckets, secret ids."
  value = {
    service_urls     = module.server_a.service_urls
    service_accounts = module.server_a.service_accounts
    inbox_bucket     = module.server_a.inbox_bucket
    private_bucket   = module.server_a.private_bucket
    secrets          = module.server_a.secrets
  }
}

output "server_b" {
  description = "Server B: service URLs, service accounts, buckets, secret ids."
  value = {
    service_urls     = module.server_b.service_urls
    service_accounts = module.server_b.service_accounts
    inbox_bucket     = module.server_b.inbox_bucket
    private_bucket   = module.server_b.private_bucket
    secrets          = module.server_b.secrets
  }
}

output "ingest" {
  description = "Ingest: the pings topic to publish to, its service URL and account."
  value = {
    pings_topic     = module.ingest.pings_topic
    service_url     = module.ingest.service_url
    service_account = module.ingest.service_account
  }
}
