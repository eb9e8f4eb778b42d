#!/bin/sh
# First start of the PostgreSQL container: Temporal's login (it creates its two databases), and Ampoule's owner
# (migrations; CREATEROLE to create the database's application role), database and restricted login — the README's
# production SQL. Passwords come from the container's environment, passed to psql as variables.
set -eu
psql -v ON_ERROR_STOP=1 --username postgres \
  -v temporal_pw="$TEMPORAL_DB_PASSWORD" -v owner_pw="$AMPOULE_OWNER_PASSWORD" -v login_pw="$AMPOULE_LOGIN_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_pw';
CREATE ROLE mes_owner LOGIN CREATEROLE PASSWORD :'owner_pw';
CREATE DATABASE mes OWNER mes_owner;
CREATE ROLE mes_login LOGIN PASSWORD :'login_pw';
SQL
