# Optional: an instance role and profile with the worker policy, for workers on plain EC2
# (docs/deploy.md, "Workers on EC2").

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "ec2_worker" {
  count = var.create_ec2_instance_profile ? 1 : 0

  name               = "${var.name}-worker-ec2"
  description        = "shardline workers on EC2"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
}

resource "aws_iam_role_policy_attachment" "ec2_worker" {
  count = var.create_ec2_instance_profile ? 1 : 0

  role       = aws_iam_role.ec2_worker[0].name
  policy_arn = module.workers.worker_policy_arn
}

resource "aws_iam_instance_profile" "ec2_worker" {
  count = var.create_ec2_instance_profile ? 1 : 0

  name = "${var.name}-worker-ec2"
  role = aws_iam_role.ec2_worker[0].name
}
