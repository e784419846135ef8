# Copied next to the module under test by test/run.sh (never used in a real deployment): points
# the AWS provider at a local moto_server.

variable "moto_endpoint" {
  description = "URL of the moto_server the test started, e.g. http://127.0.0.1:45123."
  type        = string
}
