resource "aws_lambda_function" "this" {
  count = var.create && !var.create_layer ? 1 : 0

  function_name = var.function_name
  role          = var.create_role ? aws_iam_role.lambda[0].arn : var.lambda_role
  handler       = "app.handler"
  runtime       = "python3.12"
}

data "aws_cloudwatch_log_group" "lambda" {
  count = var.create && var.use_existing_log_group ? 1 : 0
  name  = "/aws/lambda/${var.function_name}"
}

resource "aws_cloudwatch_log_group" "lambda" {
  count = var.create && !var.use_existing_log_group ? 1 : 0
  name  = "/aws/lambda/${var.function_name}"
}
