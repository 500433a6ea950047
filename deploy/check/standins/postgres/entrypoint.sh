#!/bin/sh
# The official image runs its CMD; this one always starts postgres.
set -e
mkdir -p "$PGDATA" /var/run/postgresql && chown -R postgres: "$PGDATA" /var/run/postgresql && chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "$POSTGRES_PASSWORD" > /tmp/pw && chown postgres /tmp/pw
  su postgres -c "initdb -D $PGDATA -U $POSTGRES_USER --pwfile=/tmp/pw --auth-local=trust --auth-host=scram-sha-256" >/dev/null
  rm /tmp/pw
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  su postgres -c "pg_ctl -D $PGDATA -o '-c listen_addresses=' -w start" >/dev/null
  su postgres -c "psql -U $POSTGRES_USER -d postgres -qc 'CREATE DATABASE \"$POSTGRES_DB\"'"
  su postgres -c "pg_ctl -D $PGDATA -m fast -w stop" >/dev/null
fi
exec su postgres -c "exec postgres -D $PGDATA -c listen_addresses=*"
