// The shell snippets a replicated `MariaDbStatefulSet` runs (sh/bash of the official mariadb image).
// All pods share one template, so each snippet reads the pod's ordinal from its host name
// (`<set>-<ordinal>`) and compares it with PRIMARY_ORDINAL. Parameters come from environment
// variables, so the integration test runs exactly the text that ships.

/** Sets `ordinal` from $HOSTNAME; stops on a host name without one. Galera's scripts use it too. */
export const ORDINAL = String.raw`ordinal="${'$'}{HOSTNAME##*-}"
case "$ordinal" in ''|*[!0-9]*) echo "mariadb: host name \"$HOSTNAME\" does not end in a StatefulSet ordinal" >&2; exit 1 ;; esac`;

/** Sets `ordinal` and `role` (primary or replica). */
const ROLE = String.raw`${ORDINAL}
role=replica
[ "$ordinal" = "$PRIMARY_ORDINAL" ] && role=primary`;

/**
 * Init container `config`: copy the shared settings and the role's settings into conf.d, with a
 * `server_id` unique to the ordinal (replication refuses two servers with the same id).
 *
 * Environment: `PRIMARY_ORDINAL`, `SERVER_ID_BASE`, `CONFIG_SOURCE` (the ConfigMap), `CONFIG_DIR` (conf.d).
 */
export const CONFIG_SCRIPT = String.raw`set -eu
${ROLE}
cp "$CONFIG_SOURCE/common.cnf" "$CONFIG_DIR/zz-cdk8s.cnf"
{ cat "$CONFIG_SOURCE/$role.cnf"; echo "server_id = $((SERVER_ID_BASE + ordinal))"; } > "$CONFIG_DIR/zz-cdk8s-role.cnf"
echo "mariadb: $HOSTNAME is the $role, server_id $((SERVER_ID_BASE + ordinal))"`;

/**
 * Init container `seed`, on a replica whose data volume is still empty: wait for the primary, then
 * write a consistent dump of the database with its GTID position into the entrypoint's init
 * directory. The entrypoint loads it after its own `CHANGE MASTER TO` (MARIADB_MASTER_HOST), so the
 * replica starts replicating from exactly where the dump ends, however much data the primary has.
 * The dump is loaded without binary logging and the replica's own first-start transactions are
 * dropped from its binlog (RESET MASTER): its GTID state is then the primary's and nothing else.
 * Last, root loses READ_ONLY ADMIN, so `read_only` stops root's writes too (MariaDB has no
 * super_read_only); the replication threads are not affected by `read_only`.
 *
 * Environment: `PRIMARY_ORDINAL`, `MARIADB_MASTER_HOST`, `MYSQL_TCP_PORT`, `MARIADB_ROOT_PASSWORD_FILE`,
 * `MARIADB_DATABASE`, `DATA_DIR`, `INIT_DIR`.
 */
export const SEED_SCRIPT = String.raw`set -euo pipefail
${ROLE}
if [ "$role" = primary ]; then echo "mariadb: primary, nothing to seed"; exit 0; fi
if [ -d "$DATA_DIR/mysql" ]; then echo "mariadb: data directory already initialised, not seeding"; exit 0; fi
until mariadb-admin --host="$MARIADB_MASTER_HOST" --connect-timeout=3 --silent ping >/dev/null 2>&1; do
  echo "mariadb: waiting for the primary $MARIADB_MASTER_HOST"
  sleep 5
done
seed="$INIT_DIR/10-seed-from-primary.sql"
{
  echo 'SET SESSION sql_log_bin = 0;'
  echo 'RESET MASTER;'
  MYSQL_PWD="$(cat "$MARIADB_ROOT_PASSWORD_FILE")" mariadb-dump --host="$MARIADB_MASTER_HOST" --user=root \
    --single-transaction --master-data=1 --gtid --routines --events --triggers --databases "$MARIADB_DATABASE"
  echo "REVOKE READ_ONLY ADMIN ON *.* FROM 'root'@'%', 'root'@'localhost';"
} > "$seed.part"
mv "$seed.part" "$seed"
echo "mariadb: seeded from $MARIADB_MASTER_HOST ($(wc -c < "$seed") bytes)"`;

/**
 * The server container's command: the image's own entrypoint, told to set up replication
 * (MARIADB_MASTER_HOST) on replicas only.
 *
 * Environment: `PRIMARY_ORDINAL`, `MARIADB_MASTER_HOST`.
 */
export const START_SCRIPT = String.raw`set -eu
${ROLE}
[ "$role" = primary ] && unset MARIADB_MASTER_HOST
exec docker-entrypoint.sh mariadbd`;

/**
 * Readiness of any pod of the set: the application user can query its database; on a replica,
 * both replication threads also run and the lag is known and at most MAX_LAG_SECONDS.
 *
 * Environment: `PRIMARY_ORDINAL`, `MAX_LAG_SECONDS`, `MARIADB_USER`, `MARIADB_DATABASE`,
 * `MARIADB_PASSWORD_FILE`, `MARIADB_ROOT_PASSWORD_FILE`, `MYSQL_TCP_PORT`.
 */
export const READINESS_SCRIPT = String.raw`set -eu
${ROLE}
MYSQL_PWD="$(cat "$MARIADB_PASSWORD_FILE")" mariadb --host=127.0.0.1 --connect-timeout=3 --user="$MARIADB_USER" \
  --database="$MARIADB_DATABASE" --batch --skip-column-names --execute="SELECT 1" >/dev/null
[ "$role" = primary ] && exit 0
MYSQL_PWD="$(cat "$MARIADB_ROOT_PASSWORD_FILE")" mariadb --host=127.0.0.1 --connect-timeout=3 --user=root \
  --batch --execute='SHOW REPLICA STATUS\G' | awk -F': ' -v max="$MAX_LAG_SECONDS" '
  $1 ~ /Slave_IO_Running$/ { io = $2 }
  $1 ~ /Slave_SQL_Running$/ { sql = $2 }
  $1 ~ /Seconds_Behind_Master$/ { lag = $2 }
  END {
    if (io == "Yes" && sql == "Yes" && lag ~ /^[0-9]+$/ && lag + 0 <= max + 0) exit 0
    printf "replication not ready: io=%s sql=%s lag=%s (max %s s)\n", io, sql, lag, max > "/dev/stderr"
    exit 1
  }'`;
