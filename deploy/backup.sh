#!/bin/sh
# A backup: the database (pg_dump's custom format, restorable table by table) and then the attachments folder.
# In that order: a photo stored after the dump is harmless in the archive, while a dump taken after the archive
# could name photos the archive lacks. Run it daily from cron or a timer, as a user who may read both:
#   DATABASE_URL=... ATTACHMENTS_DIR=... deploy/backup.sh /var/backups/grid
# Prints the two files it wrote. deploy/restore.sh puts them back; tests/deploy/test_backup_restore.py tries it.
set -eu
destination=${1:?usage: backup.sh DESTINATION_FOLDER}
: "${DATABASE_URL:?set DATABASE_URL}" "${ATTACHMENTS_DIR:?set ATTACHMENTS_DIR}"
# libpq does not know SQLAlchemy's driver suffix.
url=$(printf '%s' "$DATABASE_URL" | sed -E 's#^(postgres|postgresql)(\+[a-z0-9]+)?://#postgresql://#')
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$destination"
umask 077
pg_dump --format=custom --no-owner --no-privileges --file "$destination/grid-$stamp.dump" "$url"
mkdir -p "$ATTACHMENTS_DIR"
tar -C "$ATTACHMENTS_DIR" -czf "$destination/attachments-$stamp.tar.gz" .
echo "$destination/grid-$stamp.dump"
echo "$destination/attachments-$stamp.tar.gz"
