variable "name" {
  description = "Repository name."
  type        = string
}

variable "tag_mutability" {
  description = "IMMUTABLE (a tag always names the same image: deploys are reproducible) or MUTABLE."
  type        = string
  default     = "IMMUTABLE"
}

variable "keep_images" {
  description = "Images kept; older ones expire."
  type        = number
  default     = 30
}

variable "force_delete" {
  description = "Let `terraform destroy` delete the repository while it holds images."
  type        = bool
  default     = false
}
