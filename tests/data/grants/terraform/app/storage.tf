resource "aws_dynamodb_table" "notes" {
  name         = local.table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"
}

resource "aws_s3_bucket" "attachments" {
  bucket = "${local.prefix}-attachments"
}

resource "aws_sqs_queue" "events" {
  name = "${local.prefix}-events"
}

resource "aws_sns_topic" "alerts" {
  name_prefix = "alerts-"
}
