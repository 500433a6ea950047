#!/bin/sh
# Puts a backup from deploy/backup.sh back: the dump into the EMPTY database DATABASE_URL names (create it first:
# createdb -O grid grid), in one transaction, and the attachments into ATTACHMENTS_DIR. Then start the services
# and check /readyz.
#   DATABASE_URL=... ATTACHMENTS_DIR=... deploy/restore.sh grid-20261206T030000Z.dump attachments-20261206T030000Z.tar.gz
set -eu
dump=${1:?usage: restore.sh DUMP ATTACHMENTS_TARBALL}
attachments=${2:?usage: restore.sh DUMP ATTACHMENTS_TARBALL}
: "${DATABASE_URL:?set DATABASE_URL}" "${ATTACHMENTS_DIR:?set ATTACHMENTS_DIR}"
url=$(printf '%s' "$DATABASE_URL" | sed -E 's#^(postgres|postgresql)(\+[a-z0-9]+)?://#postgresql://#')
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname "$url" "$dump"
mkdir -p "$ATTACHMENTS_DIR"
tar -C "$ATTACHMENTS_DIR" -xzf "$attachments"
echo "restored $dump and $attachments"
