variable "create" {
  type    = bool
  default = true
}

variable "create_layer" {
  type    = bool
  default = false
}

variable "create_role" {
  type    = bool
  default = true
}

variable "function_name" {
  type    = string
  default = ""
}

variable "lambda_role" {
  type    = string
  default = ""
}

variable "role_name" {
  type    = string
  default = null
}

variable "role_path" {
  type    = string
  default = null
}

variable "use_existing_log_group" {
  type    = bool
  default = false
}

variable "attach_logs_policy" {
  type    = bool
  default = true
}

variable "attach_policy_statements" {
  type    = bool
  default = false
}

variable "policy_statements" {
  type    = any
  default = {}
}

variable "attach_policy" {
  type    = bool
  default = false
}

variable "policy" {
  type    = string
  default = null
}
