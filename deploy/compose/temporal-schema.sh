#!/bin/sh
# Temporal's schema, with Temporal's own tool, into its two databases (idempotent: create tolerates an existing
# database, update-schema applies only what is missing).
set -eu
for db in temporal temporal_visibility; do
  schema=temporal
  [ "$db" = temporal_visibility ] && schema=visibility
  tool="temporal-sql-tool --plugin postgres12 --ep postgresql -p 5432 -u temporal --db $db"
  $tool create || true
  $tool setup-schema -v 0.0 || true
  $tool update-schema -d "/etc/temporal/schema/postgresql/v12/$schema/versioned"
done
