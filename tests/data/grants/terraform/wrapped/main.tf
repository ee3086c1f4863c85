# A root module wrapping each function in a local module, the way community Lambda
# modules are written: every resource behind a count, documents behind dynamic blocks.

resource "aws_dynamodb_table" "orders" {
  name     = "orders"
  hash_key = "id"
}

module "orders" {
  source = "./modules/function"

  function_name            = "orders-api"
  attach_policy_statements = true
  policy_statements = {
    dynamodb = {
      actions   = ["dynamodb:GetItem", "dynamodb:PutItem"]
      resources = [aws_dynamodb_table.orders.arn]
    }
    s3_read = {
      effect    = "Allow"
      actions   = ["s3:GetObject"]
      resources = ["arn:aws:s3:::orders-archive/*"]
      condition = {
        team = {
          test     = "StringEquals"
          variable = "s3:ExistingObjectTag/team"
          values   = ["orders"]
        }
      }
    }
  }
}

module "reports" {
  source = "./modules/function"

  function_name = "reports"
  create_role   = false
  lambda_role   = "arn:aws:iam::123456789012:role/shared-reports"
}

module "retired" {
  source = "./modules/function"

  create        = false
  function_name = "retired"
}
