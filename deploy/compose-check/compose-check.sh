#!/bin/bash
# make compose-check: docker-compose.yml brought up for real and proved, then taken down.
#
# On a machine with no Docker engine and no image registry (this project's CI kind): as
# root, Debian's podman (runc, netavark) serves the Docker API on a socket of its own and
# Debian's docker-compose (v1) drives it. The images compose names are stand-ins built
# here from a debootstrapped bookworm (deploy/compose-check/standins/, docs/deploy.md
# says what each stands for); the project's image is built from deploy/docker/Dockerfile
# as it is. Everything lives in one temporary directory, removed at the end with what
# it started (by PID). The compose file is used unchanged.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
[ "$(id -u)" = 0 ] || { echo "compose-check: run as root (podman rootful, apt)" >&2; exit 2; }
SECONDS=0
work=$(mktemp -d /tmp/frontdoor-compose-check.XXXXXX)
project=fdcheck
peak=0
service_pid="" health_pid=""
results=()

say() { printf '[%4ds] %s\n' "$SECONDS" "$*"; }
disk() {  # the check's storage now, and the peak so far (bytes)
  local now
  now=$(du -sxb "$work" 2>/dev/null | cut -f1)
  [ "${now:-0}" -gt "$peak" ] && peak=$now
  return 0
}
check() {  # check NAME COMMAND...: run it, record pass or fail
  local name=$1; shift
  if "$@"; then results+=("pass  $name"); say "pass: $name"
  else results+=("FAIL  $name"); say "FAIL: $name"; fi
}
until_ok() {  # until_ok SECONDS COMMAND...: retry every 2 s
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 2
  done
}
cleanup() {
  set +e
  if [ -S "$work/podman.sock" ]; then
    say "down -v"
    docker-compose -p "$project" down -v --remove-orphans >/dev/null 2>&1
  fi
  [ -n "$health_pid" ] && kill "$health_pid" 2>/dev/null
  [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null
  podman system reset -f >/dev/null 2>&1  # this check's own store only (CONTAINERS_STORAGE_CONF)
  rm -rf "$work"
  say "removed $work"
}
trap cleanup EXIT

# 1. Debian's packages (podman's network needs iptables).
need=()
for pkg in podman runc netavark aardvark-dns docker-compose debootstrap iptables uidmap; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# 2. podman, configured here only: runc (crun does not fit this cgroup layout), cgroupfs
# and a file for events (no systemd), ulimits within the real hard limits, Docker's image
# format (OCI's drops HEALTHCHECK).
# (nproc at the hard limit itself was refused here, EPERM from runc: 20,000 at most.)
nofile=$(ulimit -Hn) nproc=$(ulimit -Hu)
[ "$nproc" = unlimited ] || [ "$nproc" -gt 20000 ] && nproc=20000
[ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ] && nofile=65536
cat > "$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$work/events.log"
EOF
cat > "$work/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$work/storage"
runroot = "$work/run"
EOF
export CONTAINERS_CONF=$work/containers.conf CONTAINERS_STORAGE_CONF=$work/storage.conf
export BUILDAH_FORMAT=docker DOCKER_HOST=unix://$work/podman.sock
podman system service --time=0 "$DOCKER_HOST" >"$work/service.log" 2>&1 &
service_pid=$!
# podman runs no healthcheck by itself without systemd: this loop does, every 3 s.
( set +e  # an unhealthy answer is no reason to stop checking
  while true; do
    for c in $(podman ps -q 2>/dev/null); do podman healthcheck run "$c" >/dev/null 2>&1; done
    sleep 3
  done ) &
health_pid=$!

# 3. The stand-ins, from a debootstrapped bookworm; the mirror is apt's own.
mirror=$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list)
say "debootstrap bookworm from $mirror"
debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1
tar -C "$work/rootfs" -c . | podman import -q - localhost/frontdoor-standin-base:bookworm >/dev/null
rm -rf "$work/rootfs"
.venv/bin/python -c "from streams.tools.platform.localkafka import ensure_jars; ensure_jars()"
standins=deploy/compose-check/standins
mkdir -p "$work/ctx"
cp -r "$standins/." "$work/ctx/"
cp -r deploy/kafka/lib "$work/ctx/kafka/libs"
cp /etc/ssl/certs/ca-certificates.crt "$work/ctx/python/host-ca.crt"
for pair in kafka:docker.io/apache/kafka:4.1.1 python:docker.io/library/python:3.11-slim \
            prometheus:docker.io/prom/prometheus:v2.55.1 \
            alertmanager:docker.io/prom/alertmanager:v0.27.0; do
  say "stand-in ${pair#*:}"
  podman build -q -f "$work/ctx/${pair%%:*}/Containerfile" -t "${pair#*:}" "$work/ctx/${pair%%:*}" >/dev/null
done
rm -rf "$work/ctx"
disk

# 4. The compose stack (Grafana left out: not installable here), with the secrets made as
# a platform team would and the compose file as it is.
export FRONTDOOR_SECRETS=$work/secrets
CLUSTER_ID=$(python3 -c 'import base64,uuid;print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode()[:22])')
export CLUSTER_ID
.venv/bin/frontdoor kafka secrets "$FRONTDOOR_SECRETS" --host kafka >/dev/null
compose=(docker-compose -p "$project")
say "build (deploy/docker/Dockerfile)"
"${compose[@]}" build -q setup worker gateway >"$work/build.log" 2>&1
disk
say "up"
"${compose[@]}" up -d kafka >/dev/null 2>&1
healthy() { [ "$(podman inspect "$1" --format '{{.State.Health.Status}}')" = healthy ]; }
check "the broker is healthy (SASL_SSL, as uid 1000, its secrets readable)" \
  until_ok 120 healthy "${project}_kafka_1"
# compose v1 over podman's API does not wait for service_healthy: each step waits here.
"${compose[@]}" up -d --no-deps setup >/dev/null 2>&1
exited() { [ "$(podman inspect "${project}_setup_1" --format '{{.State.Status}}')" = exited ]; }
until_ok 120 exited || true
check "setup exits 0 (topics created, ACLs applied, as admin, uid 10001)" \
  test "$(podman inspect "${project}_setup_1" --format '{{.State.ExitCode}}')" = 0
"${compose[@]}" up -d --no-deps worker gateway alertmanager prometheus >/dev/null 2>&1
check "the worker is ready (/health 200)" \
  until_ok 120 curl -sf -o /dev/null http://127.0.0.1:6066/health
ca=$FRONTDOOR_SECRETS/frontdoor/ca.pem
unauthorised() { [ "$(curl -s --cacert "$ca" -o /dev/null -w '%{http_code}' https://localhost:8443/v1/notifications)" = 401 ]; }
check "the gateway answers over TLS (its certificate trusted, 401 without a key)" \
  until_ok 90 unauthorised

# An incident POSTed as a force (a key added as the docs say), then accounted for.
key=$(FRONTDOOR_EDGE_KEYS_FILE=$FRONTDOOR_SECRETS/authority/gateway-keys.json \
  .venv/bin/frontdoor gateway key police-MPS 2>/dev/null | grep -o 'fdk_[A-Za-z0-9_-]*' | head -1)
.venv/bin/frontdoor kafka secrets "$FRONTDOOR_SECRETS" --host kafka >/dev/null
"${compose[@]}" restart gateway >/dev/null 2>&1
since=$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%S+00:00)
.venv/bin/python -c 'import json; from tests import factories; print(json.dumps(factories.incident()))' \
  >"$work/incident.json"
posted() {
  [ "$(curl -s --cacert "$ca" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
      -H 'Idempotency-Key: compose-check-1' --data "@$work/incident.json" -o /dev/null \
      -w '%{http_code}' https://localhost:8443/v1/incidents)" = 202 ]
}
check "an incident POSTed as police-MPS is accepted (202)" until_ok 90 posted
audited() {  # frontdoor verify as operations, in a container on the stack's network
  podman run --rm --network "${project}_default" --user 0 \
    -v "$FRONTDOOR_SECRETS/authority/passwords/operations:/run/secrets/operations:ro" \
    -v "$ca:/run/secrets/ca:ro" \
    -e FRONTDOOR_BROKER_URL=kafka://kafka:9092 -e FRONTDOOR_SECURITY_PROTOCOL=SASL_SSL \
    -e FRONTDOOR_SASL_MECHANISM=SCRAM-SHA-512 -e FRONTDOOR_SASL_USERNAME=operations \
    -e FRONTDOOR_SASL_PASSWORD_FILE=/run/secrets/operations -e FRONTDOOR_SSL_CAFILE=/run/secrets/ca \
    -e FRONTDOOR_PARTITIONS=4 "${project}_worker" \
    verify --since "$since" --until "$(date -u -d '+1 min' +%Y-%m-%dT%H:%M:%S+00:00)" \
    >"$work/verify.txt" 2>&1
  grep -Eq 'audited \(every child\) +1$' "$work/verify.txt" \
    && grep -q 'every incident accounted for' "$work/verify.txt"
}
check "the incident is audited (frontdoor verify as operations)" until_ok 120 audited

prom() { curl -sf "http://127.0.0.1:9090/api/v1/$1"; }
targets_up() { prom targets | python3 -c 'import json,sys; t=json.load(sys.stdin)["data"]["activeTargets"]; sys.exit(not t or any(x["health"] != "up" for x in t))'; }
rules_loaded() { prom rules | python3 -c 'import json,sys; g=json.load(sys.stdin)["data"]["groups"]; sys.exit(sum(len(x["rules"]) for x in g) == 0)'; }
alertmanager_found() { prom alertmanagers | python3 -c 'import json,sys; sys.exit(not json.load(sys.stdin)["data"]["activeAlertmanagers"])'; }
check "Prometheus: every target up" until_ok 90 targets_up
check "Prometheus: its rules loaded" until_ok 60 rules_loaded
check "Prometheus: Alertmanager connected" until_ok 60 alertmanager_found
disk
rules=$(prom rules | python3 -c 'import json,sys; g=json.load(sys.stdin)["data"]["groups"]; print(sum(len(x["rules"]) for x in g))')

echo
echo "compose-check: podman $(podman version --format '{{.Client.Version}}') (runc), docker-compose $(docker-compose version --short)"
printf '  %s\n' "${results[@]}"
echo "  ($rules alert rules loaded; the console and the identity provider are not compose services yet)"
echo "  time ${SECONDS} s, peak disk $((peak / 1024 / 1024)) MiB (in $work)"
! printf '%s\n' "${results[@]}" | grep -q '^FAIL'
