# role.json's role in Terraform; the table's resource policy grants DeleteItem
resource "aws_iam_role" "hello" {
  name               = "hello-role"
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy" "hello" {
  role = aws_iam_role.hello.id
  name = "hello-app"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject"]
        Resource = "arn:aws:s3:::xray-test-demo-test-bucket/*"
      },
      {
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = "arn:aws:s3:::xray-test-demo-test-bucket"
      },
      {
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan", "dynamodb:DescribeTable"]
        Resource = aws_dynamodb_table.docs.arn
      },
      {
        Effect   = "Allow"
        Action   = "sqs:SendMessage"
        Resource = "arn:aws:sqs:us-east-1:112233445566:hello-events"
      },
    ]
  })
}

resource "aws_lambda_function" "hello" {
  function_name = "nodejs-test-dev-hello"
  role          = aws_iam_role.hello.arn
  runtime       = "nodejs20.x"
  handler       = "index.handler"
  filename      = "hello.zip"
}

resource "aws_dynamodb_table" "docs" {
  name         = "gen-docs"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"
  attribute {
    name = "id"
    type = "S"
  }
}

resource "aws_dynamodb_resource_policy" "docs" {
  resource_arn = aws_dynamodb_table.docs.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "HelloDeletes"
      Effect    = "Allow"
      Principal = { AWS = aws_iam_role.hello.arn }
      Action    = "dynamodb:DeleteItem"
      Resource  = "*"
    }]
  })
}
