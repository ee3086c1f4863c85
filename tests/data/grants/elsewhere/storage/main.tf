# A module of its own: its key policy names the application's role by its ARN
data "aws_caller_identity" "current" {}

resource "aws_kms_key" "reports" {
  description = "reports"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::123456789012:role/worker" }
      Action    = "kms:Decrypt"
      Resource  = "*"
    }]
  })
}
