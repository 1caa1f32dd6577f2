# One Cloud Run service per server service, all from the one image, `prio-stream serve NAME`.
resource "google_cloud_run_v2_service" "service" {
  for_each            = local.services
  project             = var.project_id
  location            = var.region
  name                = "prio-${each.key}"
  ingress             = "INGRESS_TRAFFIC_ALL" # Pub/Sub push; every call needs an IAM-checked token
  custom_audiences    = [local.push_audience[each.key], local.admin_audience]
  deletion_protection = var.deletion_protection

  template {
    service_account                  = google_service_account.service[each.key].email
    max_instance_request_concurrency = var.concurrency[each.key]
    timeout                          = "${var.ack_deadline_seconds}s"

    scaling {
      min_instance_count = var.min_instances[each.key]
      max_instance_count = var.max_instances[each.key]
    }

    containers {
      image   = var.image
      command = ["prio-stream"]
      args    = ["serve", each.key]

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = var.cpu
          memory = var.memory
        }
        cpu_idle          = true
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = merge(local.env_common, {
          PUSH_AUDIENCE        = local.push_audience[each.key]
          PUSH_SERVICE_ACCOUNT = google_service_account.push[each.key].email
        })
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "env" {
        for_each = { for secret, spec in local.secrets : spec.env => secret if contains(spec.readers, each.key) }
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.secret[env.value].secret_id
              version = "latest"
            }
          }
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

  depends_on = [google_secret_manager_secret_iam_member.reader]
}

resource "google_cloud_run_v2_service_iam_member" "push_invoker" {
  for_each = local.services
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.service[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.push[each.key].email}"
}

resource "google_cloud_run_v2_service_iam_member" "operator_invoker" {
  for_each = local.operator_invoker_grants
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.service[each.value.service].name
  role     = "roles/run.invoker"
  member   = each.value.member
}
