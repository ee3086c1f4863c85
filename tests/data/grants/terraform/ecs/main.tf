# An ECS service's task definition: the task role is what the application runs as; the
# execution role is the ECS agent's (image pulls, logs) and grants the code nothing.
data "aws_iam_policy_document" "assume_ecs_tasks" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "task" {
  name               = "orders-task"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs_tasks.json
}

resource "aws_iam_role_policy" "task" {
  name = "orders-table"
  role = aws_iam_role.task.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["dynamodb:GetItem", "dynamodb:PutItem"]
      Resource = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
    }]
  })
}

resource "aws_iam_role" "execution" {
  name                = "orders-execution"
  assume_role_policy  = data.aws_iam_policy_document.assume_ecs_tasks.json
  managed_policy_arns = ["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"]
}

resource "aws_ecs_task_definition" "orders" {
  family                   = "orders"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions = jsonencode([{
    name  = "orders"
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders:latest"
  }])
}

# A task with only an execution role runs its code as no role at all.
resource "aws_ecs_task_definition" "batch" {
  family             = "batch"
  execution_role_arn = aws_iam_role.execution.arn
  container_definitions = jsonencode([{
    name  = "batch"
    image = "public.ecr.aws/docker/library/busybox:latest"
  }])
}
