// The shell snippets a Galera `MariaDbStatefulSet` runs (bash of the official mariadb image). Every
// pod runs the same text; parameters come from environment variables, so the integration test runs
// exactly what ships. docs/galera.md says what is automatic and what is left to a person.
import { ORDINAL } from './mariadb-replication-scripts';

/**
 * Init container `config`: the shared settings, plus the node's own name and address. The address
 * is the pod IP (downward API), not its DNS name: the name is published only once the endpoint
 * controller has seen the pod, and Galera resolves it once, at start.
 *
 * Environment: `POD_IP`, `CONFIG_SOURCE` (the ConfigMap), `CONFIG_DIR` (conf.d).
 */
export const GALERA_CONFIG_SCRIPT = String.raw`set -eu
if [ -z "${'$'}{POD_IP:-}" ]; then echo "mariadb: POD_IP is empty; the downward API should set it from status.podIP" >&2; exit 1; fi
cp "$CONFIG_SOURCE/galera.cnf" "$CONFIG_DIR/zz-cdk8s.cnf"
printf '[mysqld]\nwsrep_node_name = %s\nwsrep_node_address = %s\n' "$HOSTNAME" "$POD_IP" > "$CONFIG_DIR/zz-cdk8s-node.cnf"
echo "mariadb: galera node $HOSTNAME at $POD_IP"`;

/**
 * The server container's command: decide whether this pod bootstraps a new cluster
 * (`--wsrep-new-cluster`) or joins one, then run the image's own entrypoint.
 *
 * - A new node (no `grastate.dat`, or one with a zero state UUID: it never was a member; the
 *   entrypoint's first-start server writes such a file, with safe_to_bootstrap 1): ordinal 0
 *   bootstraps when for 30 s (wall clock: a check gives up on a silent peer after 3 s) no peer
 *   answers, neither SQL (3306) nor Galera (4567); any other ordinal waits until a peer serves
 *   SQL and joins. New joiners never open 4567 before that, so
 *   in a brand-new set only pod 0 bootstraps, and a pod 0 that lost its volume joins peers that
 *   start within those 30 s.
 * - `safe_to_bootstrap: 1` (Galera writes it on the last node to leave a cluster cleanly, the one
 *   with every commit): bootstraps when no peer serves SQL, else joins.
 * - Otherwise (a stale or crashed node) it only ever joins; Galera's own `pc.recovery` re-forms the
 *   cluster when every node of the last primary component comes back after a crash.
 *
 * After an unclean stop `grastate.dat` has seqno -1; the image has no mysqld_safe to recover the
 * position, so `mariadbd --wsrep-recover` reads it from InnoDB and the server starts from it
 * (`--wsrep-start-position`). Without it the node would start with no position at all.
 *
 * A node with data never joins a cluster of another state UUID: the SST would replace its data
 * with, say, an empty cluster a fresh pod 0 bootstrapped while the real cluster was down.
 *
 * Environment: `GALERA_PEERS` (every pod's DNS name), `GALERA_PORT` (group communication), `DATA_DIR`, `MYSQL_TCP_PORT`, `MARIADB_USER`,
 * `MARIADB_PASSWORD_FILE`.
 */
export const GALERA_START_SCRIPT = String.raw`set -euo pipefail
${ORDINAL}
grastate="$DATA_DIR/grastate.dat"
peers=()
for peer in $GALERA_PEERS; do [ "${'$'}{peer%%.*}" = "$HOSTNAME" ] || peers+=("$peer"); done
# Checks of one peer, each killed after 3 s, name lookup included: --connect-timeout leaves the
# lookup out, which takes 5 s per resolver try when no DNS server answers, and mariadb-admin acts
# on a SIGTERM only once the lookup has failed, so SIGKILL.
# SQL: mariadb-admin ping succeeds even when access is denied.
sql_answers() { timeout --signal=KILL 3 mariadb-admin --host="$1" --connect-timeout=2 --silent ping >/dev/null 2>&1; }
# Galera's port: open on any node that runs Galera, in a cluster or still looking for one.
galera_answers() { timeout --signal=KILL 3 bash -c ": > /dev/tcp/$1/$GALERA_PORT" 2>/dev/null; }
# The first peer that serves SQL.
serving() {
  local peer
  for peer in "${'$'}{peers[@]}"; do
    if sql_answers "$peer"; then echo "$peer"; return 0; fi
  done
  return 1
}
# Whether any peer serves SQL or runs Galera. All checks at once, so a round takes at most 3 s
# however many peers do not answer; every one is waited for, none outlives the round.
any_peer_answers() {
  local peer pid checks=() answered=1
  for peer in "${'$'}{peers[@]}"; do
    sql_answers "$peer" & checks+=("$!")
    galera_answers "$peer" & checks+=("$!")
  done
  for pid in "${'$'}{checks[@]}"; do wait "$pid" && answered=0; done
  return "$answered"
}
bootstrap=no
uuid=00000000-0000-0000-0000-000000000000
[ -f "$grastate" ] && uuid="$(awk '$1 == "uuid:" { print $2 }' "$grastate")"
args=()
if [ "$uuid" != 00000000-0000-0000-0000-000000000000 ] && grep -q '^seqno: *-1' "$grastate"; then
  recovery="$(mktemp)"
  mariadbd --wsrep-recover --log-error="$recovery" >/dev/null 2>&1 || true
  position="$(sed -n 's/.*WSREP: Recovered position: *//p' "$recovery" | tail -n 1)"
  rm -f "$recovery"
  case "$position" in
    "$uuid":[0-9]*) args+=("--wsrep-start-position=$position"); echo "mariadb: unclean stop; recovered position $position" ;;
    *) echo "mariadb: unclean stop and no position recovered from InnoDB ("$position"); starting without one" >&2 ;;
  esac
fi
if [ "$uuid" = 00000000-0000-0000-0000-000000000000 ]; then
  if [ "$ordinal" = 0 ]; then
    # A wall-clock window (bash's SECONDS): checks every 5 s, the last one once the window is over.
    bootstrap=yes
    deadline=$((SECONDS + 30))
    while :; do
      if any_peer_answers; then bootstrap=no; echo "mariadb: new node 0, but peers already run Galera; joining"; break; fi
      left=$((deadline - SECONDS))
      [ "$left" -gt 0 ] || break
      echo "mariadb: new node 0, no peer runs Galera yet; bootstrapping in $left s unless one answers"
      sleep "$((left < 5 ? left : 5))"
    done
  else
    until peer="$(serving)"; do echo "mariadb: new node, waiting until a peer serves the cluster"; sleep 5; done
    echo "mariadb: new node, joining through $peer"
  fi
elif peer="$(serving)"; then
  theirs="$(MYSQL_PWD="$(cat "$MARIADB_PASSWORD_FILE")" mariadb --host="$peer" --connect-timeout=3 --user="$MARIADB_USER" \
    --batch --skip-column-names --execute="SHOW GLOBAL STATUS LIKE 'wsrep_cluster_state_uuid'" | awk '{ print $2 }')"
  if [ "$theirs" != "$uuid" ]; then
    echo "mariadb: $peer serves cluster $theirs but this node's data belongs to $uuid; not joining (its SST would replace the data). See docs/galera.md" >&2
    exit 1
  fi
  echo "mariadb: joining cluster $uuid through $peer"
elif grep -q '^safe_to_bootstrap: *1' "$grastate"; then
  bootstrap=yes
else
  echo "mariadb: this node may be behind (safe_to_bootstrap 0); joining, never bootstrapping"
fi
if [ "$bootstrap" = yes ]; then
  echo "mariadb: bootstrapping the cluster from $HOSTNAME"
  exec docker-entrypoint.sh mariadbd --wsrep-new-cluster "${'$'}{args[@]}"
fi
exec docker-entrypoint.sh mariadbd "${'$'}{args[@]}"`;

/**
 * Readiness of a Galera node: the application user logs into its database, and the node is
 * Synced with `wsrep_ready` ON. A joiner, a donor, a desynced or a non-primary node leaves the
 * Services until it is back; liveness (a ping) does not restart it.
 *
 * Environment: `MARIADB_USER`, `MARIADB_DATABASE`, `MARIADB_PASSWORD_FILE`, `MYSQL_TCP_PORT`.
 */
export const GALERA_READINESS_SCRIPT = String.raw`set -euo pipefail
MYSQL_PWD="$(cat "$MARIADB_PASSWORD_FILE")" mariadb --host=127.0.0.1 --connect-timeout=3 --user="$MARIADB_USER" \
  --database="$MARIADB_DATABASE" --batch --skip-column-names \
  --execute="SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state_comment', 'wsrep_ready')" | awk '
  $1 == "wsrep_local_state_comment" { state = $2 }
  $1 == "wsrep_ready" { ready = $2 }
  END {
    if (state == "Synced" && ready == "ON") exit 0
    printf "galera node not ready: wsrep_local_state_comment=%s wsrep_ready=%s\n", state, ready > "/dev/stderr"
    exit 1
  }'`;
