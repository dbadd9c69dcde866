#!/bin/sh
# Temporal's schema, run by the one-shot `temporal-schema` service (temporalio/admin-tools)
# before the server starts: what the auto-setup image does at every start, done once and
# visibly. The databases exist already: scripts/postgres-init creates them owned by the
# `temporal` role, which therefore needs no CREATEDB (so no `temporal-sql-tool create`).
# setup-schema -v 0.0 creates the version table (a no-op when present) and update-schema
# applies the versioned migrations past the recorded version, so a restart is harmless.
set -eu

SCHEMA_ROOT=/etc/temporal/schema/postgresql/v12
# temporal-sql-tool reads the password from SQL_PASSWORD: not on a command line.
export SQL_PASSWORD="$TEMPORAL_DB_PASSWORD"

for pair in "${TEMPORAL_DBNAME}:temporal" "${TEMPORAL_VISIBILITY_DBNAME}:visibility"; do
    db=${pair%%:*}
    schema=${pair#*:}
    echo "temporal-schema: $db ($schema)"
    temporal-sql-tool --plugin postgres12 --ep "$TEMPORAL_DB_HOST" -p 5432 -u temporal \
        --db "$db" setup-schema -v 0.0
    temporal-sql-tool --plugin postgres12 --ep "$TEMPORAL_DB_HOST" -p 5432 -u temporal \
        --db "$db" update-schema -d "$SCHEMA_ROOT/$schema/versioned"
done
