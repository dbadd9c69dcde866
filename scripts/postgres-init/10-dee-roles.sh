#!/bin/sh
# Run once by the postgres image when it initialises an empty data directory (mounted
# into /docker-entrypoint-initdb.d by docker-compose.yml): separate databases and roles.
#
#   temporal       owns the databases temporal and temporal_visibility; nothing else.
#   dee_owner      owns the database dee and its schema: runs `dee db migrate` only.
#   dee_app        what the worker and the webhook receiver connect as; migration 0011
#                  grants it exactly what the engine uses (docs/database.md).
#   dee_retention  what `dee audit archive` connects as.
#
# No role but its owner (and the superuser) may connect to the other's databases.
# Passwords come from the container's environment (see docker-compose.yml).
set -eu

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
    -v temporal_password="$TEMPORAL_DB_PASSWORD" \
    -v owner_password="$DEE_OWNER_DB_PASSWORD" \
    -v app_password="$DEE_APP_DB_PASSWORD" \
    -v retention_password="$DEE_RETENTION_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
REVOKE ALL ON DATABASE temporal, temporal_visibility FROM PUBLIC;

CREATE ROLE dee_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE dee_app LOGIN PASSWORD :'app_password';
CREATE ROLE dee_retention LOGIN PASSWORD :'retention_password';
CREATE DATABASE dee OWNER dee_owner;
REVOKE ALL ON DATABASE dee FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE dee TO dee_app;
GRANT CONNECT ON DATABASE dee TO dee_retention;

\connect dee
ALTER SCHEMA public OWNER TO dee_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
