resource "aws_iam_role" "app" {
  name               = "app"
  assume_role_policy = "{}"
}

# Its name is known once applied only: no ARN written offline names it
resource "aws_iam_role" "anon" {
  name_prefix        = "anon-"
  assume_role_policy = "{}"
}

resource "aws_s3_bucket" "uploads" {
  bucket = "uploads-bucket"
}

data "aws_iam_policy_document" "uploads" {
  statement {
    sid       = "App reads"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.uploads.arn}/*"]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.app.arn, aws_iam_role.anon.arn]
    }
  }
  statement {
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = ["${aws_s3_bucket.uploads.arn}/*"]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "uploads" {
  bucket = aws_s3_bucket.uploads.id
  policy = data.aws_iam_policy_document.uploads.json
}

resource "aws_sqs_queue" "jobs" {
  name = "jobs"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = ["arn:aws:iam::123456789012:role/app", "arn:aws:iam::999999999999:role/app"] }
      Action    = ["sqs:SendMessage"]
      Resource  = "*"
    }]
  })
}

resource "aws_kms_key" "main" {
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = aws_iam_role.app.arn }
      Action    = "kms:Decrypt"
      Resource  = "*"
    }]
  })
}
