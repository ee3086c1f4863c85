variable "env" {
  type    = string
  default = "staging"
}

variable "kms_key_arn" {
  type = string
}

locals {
  prefix     = "notes-${var.env}"
  table_name = "${local.prefix}-notes"
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}
