# djangoops.stack: one entry point for contributors and CI. Every target sets up what it needs
# (the .venv with pinned tools, a Docker engine, the test-host images).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(CURDIR)/.venv/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.collections
export PY_COLORS := 0
export ANSIBLE_FORCE_COLOR := false

SCENARIO ?= services

.PHONY: help demo demo-down test venv testbed ci-tools lint ci-lint unit example-tests wheel-tests migrate-tests image-test \
	package-test molecule bench-deploy bench-backup bench-datacopy

help:
	@echo "make demo                      the test inventory's hosts as local containers, provisioned, the example deployed"
	@echo "make demo-down                 remove every container and network make demo made"
	@echo "make test                      lint, unit tests and every molecule scenario, with a summary"
	@echo "make lint                      yamllint, ansible-lint (production profile), inventory secrets, README role docs, ruff"
	@echo "make ci-lint                   the pipeline's lint job (.gitlab-ci.yml), run here by gitlab-ci-local"
	@echo "make unit                      Python unit tests (no containers)"
	@echo "make example-tests             the example app and its release builder (offline installs)"
	@echo "make wheel-tests               wheels built for sdist-only requirements in a Debian container"
	@echo "make migrate-tests             django_migrate against a real PostgreSQL in a test container"
	@echo "make image-test                the app's Docker image (docker/app) against PostGIS and Redis containers"
	@echo "make package-test              the collection tarball installed into an empty path and used from there"
	@echo "make molecule SCENARIO=<name>  one molecule scenario: $(filter-out shared,$(notdir $(wildcard molecule/*)))"
	@echo "make bench-deploy              deploy.yml vs the naive order under the same load (a benchmark)"
	@echo "make bench-backup              backup and restore seconds, and the recovery point (a benchmark)"
	@echo "make bench-datacopy            pgloader vs dumpdata + loaddata, MariaDB to PostGIS, 1M+ rows (a benchmark)"

demo:
	@scripts/demo

demo-down:
	@scripts/demo down

test:
	@tools/run_stages.py

venv:
	@scripts/ensure-venv

testbed: venv
	@scripts/ensure-docker
	@docker/platform/build

ci-tools:
	@scripts/ensure-gitlab-ci-local

lint: venv
	yamllint --strict .
	ansible-lint
	scripts/check-inventory-secrets
	tools/role_docs.py --check README.md
	ruff check .
	ruff format --check .

ci-lint: venv ci-tools
	@scripts/ci-local lint

unit: venv
	pytest -q tests/unit

example-tests: venv
	@scripts/ensure-apt gdal-bin
	pytest -q tests/example --ignore=tests/example/test_build_release_wheel_container.py

wheel-tests: testbed
	pytest -q tests/example/test_build_release_wheel_container.py

migrate-tests: testbed
	pytest -q tests/django_migrate

image-test: venv
	pytest -q tests/integration/test_image.py

package-test: venv
	pytest -q tests/integration/test_package.py

molecule: testbed
	@scripts/molecule-scenario $(SCENARIO)

bench-deploy: testbed
	@scripts/bench-deploy

bench-backup: testbed
	@scripts/bench-backup

bench-datacopy: testbed
	@scripts/bench-datacopy
