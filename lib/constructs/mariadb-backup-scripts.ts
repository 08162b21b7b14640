// The shell scripts the backup CronJob and the restore Job run (bash in the official mariadb
// image). They live here as plain text, take every parameter from environment variables and are
// mounted from a ConfigMap, so the integration test runs exactly the text that ships.

/** Dump files are `<database>-<UTC time>.sql.gz`; the time is `date -u +%Y%m%dT%H%M%SZ`. */
const DUMP_NAME = /^([A-Za-z0-9_]+)-([0-9]{8}T[0-9]{6}Z)\.sql\.gz$/;

/** The name the backup script gives a dump of `databaseName` taken at `time`. */
export function dumpFileName(databaseName: string, time: Date): string {
  const stamp = time.toISOString().replace(/\.[0-9]{3}Z$/, 'Z').replace(/[-:]/g, '');
  return `${databaseName}-${stamp}.sql.gz`;
}

/** The database and UTC time stamp (`yyyymmddThhmmssZ`) in a dump's file name, if it is one. */
export function parseDumpFileName(file: string): { readonly databaseName: string; readonly stamp: string } | undefined {
  const m = DUMP_NAME.exec(file);
  return m ? { databaseName: m[1], stamp: m[2] } : undefined;
}

/**
 * Why `file` is not the name of a dump the backup script writes for `databaseName`, or undefined
 * when it is.
 */
export function dumpFileProblem(file: string, databaseName: string): string | undefined {
  const example = dumpFileName(databaseName, new Date(Date.UTC(2025, 0, 31, 3, 17, 0)));
  const parsed = parseDumpFileName(file);
  if (!parsed) return `is not a dump file name; use a file name from the backup volume such as "${example}" (no directory)`;
  if (parsed.databaseName !== databaseName) {
    return `is a dump of database "${parsed.databaseName}", not "${databaseName}"; pick a "${databaseName}-..." file or restore by hand (see docs/backup-restore.md)`;
  }
  return undefined;
}

/**
 * Dump one database into `$BACKUP_DIR`, then apply retention.
 *
 * Environment: `MYSQL_HOST`, `MYSQL_TCP_PORT` (the server), `MARIADB_USER`,
 * `MARIADB_DATABASE`, `MARIADB_PASSWORD_FILE`, `BACKUP_DIR`, `RETENTION_COUNT`, `RETENTION_DAYS`.
 */
export const BACKUP_SCRIPT = String.raw`#!/bin/bash
# Dump $MARIADB_DATABASE into $BACKUP_DIR/<database>-<UTC yyyymmddThhmmssZ>.sql.gz, then delete
# old dumps. Retention: a dump is kept while it is one of the newest RETENTION_COUNT dumps or
# younger than RETENTION_DAYS days (0 turns a rule off); it is deleted only when neither keeps it.
set -euo pipefail
export LC_ALL=C  # byte order for sort and [[ < ]]: name order is then time order
umask 077

for n in "$RETENTION_COUNT" "$RETENTION_DAYS"; do
  if [[ ! "$n" =~ ^(0|[1-9][0-9]*)$ ]]; then
    echo "backup: retention value \"$n\" is not a whole number" >&2
    exit 2
  fi
done
if (( RETENTION_COUNT == 0 && RETENTION_DAYS == 0 )); then
  echo "backup: RETENTION_COUNT and RETENTION_DAYS are both 0, which would delete every dump; set one" >&2
  exit 2
fi

name="$MARIADB_DATABASE-$(date -u +%Y%m%dT%H%M%SZ).sql.gz"
final="$BACKUP_DIR/$name"
# Hidden and not ending in .sql.gz: neither retention, restore nor a person takes it for a dump.
partial="$BACKUP_DIR/.$name.partial"
if [[ -e "$final" ]]; then
  echo "backup: $final already exists; not overwriting it" >&2
  exit 1
fi
# Leftovers of runs that were killed; concurrencyPolicy Forbid means none is still being written.
find "$BACKUP_DIR" -maxdepth 1 -type f -name ".$MARIADB_DATABASE-*.sql.gz.partial" -delete
trap 'rm -f -- "$partial"' EXIT

MYSQL_PWD="$(cat -- "$MARIADB_PASSWORD_FILE")"
export MYSQL_PWD

# --host is needed: unlike mariadb, mariadb-dump ignores MYSQL_HOST and would try a local socket.
# --single-transaction: a consistent InnoDB snapshot without locking the site's tables.
mariadb-dump --host="$MYSQL_HOST" --port="$MYSQL_TCP_PORT" --user="$MARIADB_USER" \
  --single-transaction --routines --events --triggers "$MARIADB_DATABASE" | gzip -6 > "$partial"

# Read the file back: a dump that stopped early lacks the closing comment, and a dump without a
# table (wrong or empty database) would restore nothing.
status=0
gzip -cd -- "$partial" | awk '
  /^CREATE TABLE/ { tables++ }
  { last = $0 }
  END { if (last !~ /^-- Dump completed/) exit 3; if (!tables) exit 4 }' || status=$?
case "$status" in
  0) ;;
  3) echo "backup: the dump is incomplete (no closing '-- Dump completed' line); no file kept" >&2; exit 1 ;;
  4) echo "backup: the dump holds no table; is \"$MARIADB_DATABASE\" the right, non-empty database? no file kept" >&2; exit 1 ;;
  *) echo "backup: the compressed dump cannot be read back (status $status); no file kept" >&2; exit 1 ;;
esac

sync -- "$partial"  # on disk before the name says it is complete
mv -- "$partial" "$final"
trap - EXIT
echo "backup: wrote $final ($(stat -c %s -- "$final") bytes)"

cutoff=""
if (( RETENTION_DAYS > 0 )); then
  cutoff="$MARIADB_DATABASE-$(date -u -d "$RETENTION_DAYS days ago" +%Y%m%dT%H%M%SZ).sql.gz"
fi
# The age of a dump is the time in its name, not its mtime (copies and restores change mtimes).
i=0
while IFS= read -r dump; do
  i=$((i + 1))
  if (( i <= RETENTION_COUNT )); then continue; fi
  if [[ -n "$cutoff" && "$dump" > "$cutoff" ]]; then continue; fi
  rm -f -- "$BACKUP_DIR/$dump"
  echo "backup: deleted $dump (retention)"
done < <(find "$BACKUP_DIR" -maxdepth 1 -type f -printf '%f\n' \
  | grep -E "^$MARIADB_DATABASE-[0-9]{8}T[0-9]{6}Z\.sql\.gz$" | sort -r)
`;

/**
 * Load one dump from `$BACKUP_DIR` into the database.
 *
 * Environment: as `BACKUP_SCRIPT`, with `RESTORE_FILE` (a file name in `$BACKUP_DIR`) instead of
 * the retention settings.
 */
export const RESTORE_SCRIPT = String.raw`#!/bin/bash
# Load $BACKUP_DIR/$RESTORE_FILE into $MARIADB_DATABASE. Every table in the dump is dropped and
# recreated from it; tables that are not in the dump are left as they are.
set -euo pipefail

dump="$BACKUP_DIR/$RESTORE_FILE"
if [[ "$RESTORE_FILE" == */* || ! -f "$dump" ]]; then
  echo "restore: there is no dump \"$RESTORE_FILE\" in $BACKUP_DIR; these files are there:" >&2
  ls -1 -- "$BACKUP_DIR" >&2
  exit 1
fi
# Check the whole file before touching the database: a corrupt dump must not half-replace it.
if ! gzip -t -- "$dump"; then
  echo "restore: $dump is corrupt (gzip -t failed); the database was not touched" >&2
  exit 1
fi

MYSQL_PWD="$(cat -- "$MARIADB_PASSWORD_FILE")"
export MYSQL_PWD
gzip -cd -- "$dump" | mariadb --host="$MYSQL_HOST" --port="$MYSQL_TCP_PORT" --user="$MARIADB_USER" \
  --database="$MARIADB_DATABASE" --batch
echo "restore: loaded $RESTORE_FILE into $MARIADB_DATABASE"
`;
