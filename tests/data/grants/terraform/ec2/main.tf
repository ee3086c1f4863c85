# EC2 instances run as the role of their instance profile.
data "aws_iam_policy_document" "assume_ec2" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "web" {
  name               = "web-role"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json
}

resource "aws_iam_role_policy" "web" {
  name = "orders"
  role = aws_iam_role.web.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["dynamodb:GetItem", "dynamodb:PutItem"]
      Resource = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
    }]
  })
}

resource "aws_iam_instance_profile" "web" {
  name = "web-profile"
  role = aws_iam_role.web.name
}

resource "aws_instance" "web" {
  ami                  = "ami-0123456789abcdef0"
  instance_type        = "t3.micro"
  iam_instance_profile = aws_iam_instance_profile.web.name
}

resource "aws_launch_template" "web" {
  name_prefix = "web-"
  image_id    = "ami-0123456789abcdef0"
  iam_instance_profile {
    arn = aws_iam_instance_profile.web.arn
  }
}

# The role named by its name, the profile by its name: as the provider takes them
resource "aws_iam_role" "batch" {
  name               = "batch-role"
  path               = "/jobs/"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json
}

resource "aws_iam_instance_profile" "batch" {
  name = "batch-profile"
  role = "batch-role"
}

resource "aws_instance" "batch" {
  ami                  = "ami-0123456789abcdef0"
  instance_type        = "t3.micro"
  iam_instance_profile = "batch-profile"
}

# An Auto Scaling group's launch configuration names the profile by its name
resource "aws_launch_configuration" "batch" {
  name_prefix          = "batch-"
  image_id             = "ami-0123456789abcdef0"
  instance_type        = "t3.micro"
  iam_instance_profile = aws_iam_instance_profile.batch.name
}

# Auto Scaling groups run the instances of a launch template or configuration
resource "aws_autoscaling_group" "web" {
  min_size = 1
  max_size = 2
  mixed_instances_policy {
    launch_template {
      launch_template_specification {
        launch_template_id = aws_launch_template.web.id
      }
    }
  }
}

resource "aws_autoscaling_group" "batch" {
  min_size             = 1
  max_size             = 2
  launch_configuration = aws_launch_configuration.batch.name
}
