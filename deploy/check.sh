#!/usr/bin/env bash
# The deployment files checked statically (no container engine here, nor in CI): YAML lint, the compose file as
# Docker Compose reads it, the Kubernetes manifests as kustomize renders them; and the image's base (Debian slim:
# the Temporal SDK's core needs glibc). Needs yamllint, docker-compose and kubectl (.ci/run installs what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
yamllint -c deploy/.yamllint deploy/compose/compose.yaml deploy/compose/temporal-dynamicconfig.yaml deploy/kubernetes
# Every variable the compose file requires, with a stand-in value: the check is of the file's shape.
POSTGRES_PASSWORD=check TEMPORAL_DB_PASSWORD=check AMPOULE_OWNER_PASSWORD=check AMPOULE_LOGIN_PASSWORD=check \
  docker-compose -f deploy/compose/compose.yaml --profile ui config -q
kubectl kustomize deploy/kubernetes > /dev/null
sh -n deploy/compose/postgres-init.sh deploy/compose/temporal-schema.sh
grep -q '^FROM node:20-bookworm-slim' Dockerfile && ! grep -qi alpine Dockerfile
echo "deploy: compose, kustomize, YAML and Dockerfile checks passed"
