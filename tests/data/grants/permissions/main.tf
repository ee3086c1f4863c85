resource "aws_iam_role" "app" {
  name               = "app"
  assume_role_policy = "{}"
}

resource "aws_lambda_function" "api" {
  function_name = "orders-api"
  role          = aws_iam_role.app.arn
}

resource "aws_lambda_permission" "live" {
  statement_id  = "AppInvokesLive"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.api.function_name
  qualifier     = "live"
  principal     = aws_iam_role.app.arn
}

resource "aws_lambda_permission" "events" {
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.api.arn
  principal     = "events.amazonaws.com"
  source_arn    = "arn:aws:events:us-east-1:123456789012:rule/nightly"
}
