data "aws_iam_policy_document" "assume_lambda" {
  statement {
    sid     = "LambdaAssume"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# Style 1: inline_policy with jsonencode
resource "aws_iam_role" "api" {
  name                 = "${local.prefix}-api"
  path                 = "/service/"
  assume_role_policy   = data.aws_iam_policy_document.assume_lambda.json
  permissions_boundary = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:policy/boundary"
  managed_policy_arns = [
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
  ]

  inline_policy {
    name = "notes-table"
    policy = jsonencode({
      Version = "2012-10-17"
      Statement = [
        {
          Sid    = "ReadWrite"
          Effect = "Allow"
          Action = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
          Resource = [
            aws_dynamodb_table.notes.arn,
            "${aws_dynamodb_table.notes.arn}/index/*",
          ]
        },
        {
          Effect   = "Allow"
          Action   = "sns:Publish"
          Resource = aws_sns_topic.alerts.arn
        },
      ]
    })
  }
}

# Style 2: aws_iam_role_policy with a heredoc
resource "aws_iam_role_policy" "attachments" {
  name   = "attachments"
  role   = aws_iam_role.api.id
  policy = <<-EOF
    {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Effect": "Allow",
          "Action": ["s3:GetObject", "s3:PutObject"],
          "Resource": "${aws_s3_bucket.attachments.arn}/*"
        },
        {
          "Effect": "Allow",
          "Action": "kms:Decrypt",
          "Resource": "${var.kms_key_arn}"
        }
      ]
    }
  EOF
}

# Style 3: aws_iam_policy_document + aws_iam_policy + attachment
data "aws_iam_policy_document" "worker" {
  statement {
    sid       = "Consume"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.events.arn]
  }

  statement {
    effect        = "Deny"
    not_actions   = ["s3:GetObject"]
    resources     = ["arn:aws:s3:::${local.prefix}-attachments/*"]
    condition {
      test     = "StringNotEquals"
      variable = "aws:RequestedRegion"
      values   = [data.aws_region.current.name]
    }
  }
}

resource "aws_iam_policy" "worker" {
  name   = "${local.prefix}-worker"
  policy = data.aws_iam_policy_document.worker.json
}

resource "aws_iam_role" "worker" {
  name               = "${local.prefix}-worker"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
}

resource "aws_iam_role_policy_attachment" "worker" {
  role       = aws_iam_role.worker.name
  policy_arn = aws_iam_policy.worker.arn
}

resource "aws_iam_role_policy_attachment" "worker_logs" {
  role       = "notes-staging-worker"
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_iam_role_policy" "from_file" {
  role   = aws_iam_role.worker.id
  policy = file("${path.module}/policies/reports.json")
}

resource "aws_lambda_function" "api" {
  function_name = "${local.prefix}-api"
  role          = aws_iam_role.api.arn
  handler       = "app.handler"
  runtime       = "python3.12"
}

resource "aws_lambda_function" "worker" {
  function_name = "${local.prefix}-worker"
  role          = aws_iam_role.worker.arn
  handler       = "worker.handler"
  runtime       = "python3.12"
}
