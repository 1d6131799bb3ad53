#!/usr/bin/env bash
# pg_dump of the Rescind database into $BACKUP_DIR (custom format, restorable with
# pg_restore), checked by listing its contents, then old dumps pruned.
# Reads RESCIND_DATABASE_URL (postgresql+psycopg://user@host:port/db); the password, if any,
# comes from PGPASSWORD or ~/.pgpass, never from this file.
set -euo pipefail
: "${RESCIND_DATABASE_URL:?RESCIND_DATABASE_URL is not set}"
dir="${BACKUP_DIR:-/var/backups/rescind}"
keep_days="${BACKUP_KEEP_DAYS:-14}"
# libpq does not know SQLAlchemy's driver suffix.
url="${RESCIND_DATABASE_URL/postgresql+psycopg:/postgresql:}"
mkdir -p "$dir"
umask 077  # dumps hold encrypted contact details and the audit log: owner only
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
tmp="$dir/.rescind-$stamp.dump.partial"
out="$dir/rescind-$stamp.dump"
pg_dump --format=custom --no-owner --dbname="$url" --file="$tmp"
pg_restore --list "$tmp" >/dev/null  # a truncated or corrupt dump fails here
mv "$tmp" "$out"
find "$dir" -maxdepth 1 -name 'rescind-*.dump' -mtime "+$keep_days" -delete
echo "backup written: $out ($(du -h "$out" | cut -f1))"
