# The offline test of infra/terraform. The Makefile includes this file
# (`include infra/terraform/infra.mk`); it also runs on its own from the repository root:
#   make -f infra/terraform/infra.mk infra-test
# Without terraform on PATH the target prints "infra-test: skipped: terraform not found" and
# succeeds, so `make test` may call it everywhere.

INFRA_TF_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

.PHONY: infra-test
infra-test: ## Terraform: fmt, validate, policy check, apply + assertions + destroy on moto_server (offline)
	@$(INFRA_TF_DIR)/test/run.sh
