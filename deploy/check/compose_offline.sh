#!/bin/sh
# README's "With containers" steps on a machine whose Docker daemon cannot reach Docker Hub: dockerd started here
# with its own socket and folders, and when python:3.11-slim-bookworm, postgres:16 and redis:7 cannot be pulled,
# stand-ins built from Debian 12 under those names (deploy/check/standins/; the base from debootstrap). Then, on a
# fresh clone: grid.env with its two secrets, the image built from deploy/Dockerfile, `compose up -d`, the first
# admin, categories and map as README writes them, and through 127.0.0.1:8000: /healthz, /readyz, a login, a
# request and its ticket, its SMS from a delivery worker (two of them), a sweep; `compose down -v` at the end.
#
#   sudo deploy/check/compose_offline.sh [COMMIT]     # default HEAD; about 10 minutes, 4 GB under $GRID_COMPOSE_DIR
#
# Needs root, docker.io's dockerd, `docker compose` or docker-compose (Debian 12's 1.29 reads this file),
# debootstrap, PyPI, npm's registry and Debian's mirror. The image is built with `docker build --network host`
# (what `up --build` does, on the host's network: dockerd runs here with --iptables=false, without NAT).
# GRID_COMPOSE_KEEP=1 leaves dockerd and the services running (DOCKER_HOST=unix://$GRID_COMPOSE_DIR/docker.sock).
set -eu
repository=$(cd "$(dirname "$0")/../.." && pwd)
commit=$(git -C "$repository" rev-parse "${1:-HEAD}")
dir=${GRID_COMPOSE_DIR:-/var/tmp/grid-compose}
mirror=${GRID_FRESH_MIRROR:-http://deb.debian.org/debian}
export DOCKER_HOST="unix://$dir/docker.sock" DOCKER_BUILDKIT=0
say() { printf '== %s\n' "$*"; }
is() { if [ "$1" = "$2" ]; then printf 'ok: %s\n' "$3"; else printf 'FAILED: %s: %s, not %s\n' "$3" "$1" "$2"; exit 1; fi; }
field() { python3 -c "import sys, json; print(json.load(sys.stdin)$1)"; }
if docker compose version > /dev/null 2>&1; then dc() { docker compose -f deploy/docker-compose.yml "$@"; }
else dc() { docker-compose -f deploy/docker-compose.yml "$@"; }; fi

cleanup() {
    [ "${GRID_COMPOSE_KEEP:-0}" = 1 ] && { say "left running: DOCKER_HOST=$DOCKER_HOST"; return; }
    (cd "$dir/src" 2> /dev/null && dc down -v > /dev/null 2>&1) || true
    [ -f "$dir/docker.pid" ] && kill "$(cat "$dir/docker.pid")" 2> /dev/null && sleep 3
    umount "$dir/exec/netns/default" 2> /dev/null || true
}

if [ -d "$dir" ]; then rm -rf "$dir/src"; else mkdir -p "$dir"; fi
say "dockerd on $DOCKER_HOST"
trap cleanup EXIT
setsid dockerd --data-root "$dir/data" --exec-root "$dir/exec" -H "$DOCKER_HOST" --pidfile "$dir/docker.pid" \
    --iptables=false --ip-forward=false --bridge=none > "$dir/dockerd.log" 2>&1 &
for _ in $(seq 1 30); do docker info > /dev/null 2>&1 && break; sleep 1; done

if ! docker image inspect python:3.11-slim-bookworm > /dev/null 2>&1 \
    && ! docker pull python:3.11-slim-bookworm > /dev/null 2>&1; then
    say "Docker Hub out of reach: stand-ins from Debian 12 (python:3.11-slim-bookworm, postgres:16, redis:7)"
    rm -rf "$dir/base"
    debootstrap --variant=minbase --include=python3,python3-venv,python3-dev,python-is-python3,ca-certificates \
        bookworm "$dir/base" "$mirror" > "$dir/debootstrap.log" 2>&1
    printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$mirror" "$mirror" > "$dir/base/etc/apt/sources.list"
    # A network whose HTTPS goes through an intercepting proxy: its certificate authority, for apt, pip and npm.
    if ls /usr/local/share/ca-certificates/*.crt > /dev/null 2>&1; then
        cp /usr/local/share/ca-certificates/*.crt "$dir/base/usr/local/share/ca-certificates/"
        chroot "$dir/base" update-ca-certificates > /dev/null 2>&1
        printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$dir/base/etc/pip.conf"
        echo 'cafile=/etc/ssl/certs/ca-certificates.crt' > "$dir/base/etc/npmrc"
    fi
    rm -rf "$dir/base/var/cache/apt/archives/"*.deb "$dir/base/var/lib/apt/lists/"*
    tar -C "$dir/base" -c . | docker import -c 'ENV LANG=C.UTF-8' -c 'CMD ["python3"]' - python:3.11-slim-bookworm > /dev/null
fi
for standin in postgres:16 redis:7; do
    docker image inspect "$standin" > /dev/null 2>&1 || docker pull "$standin" > /dev/null 2>&1 \
        || docker build -q --network host -t "$standin" "$repository/deploy/check/standins/${standin%%:*}" > /dev/null 2>&1
done

say "README's steps on a clone at $commit"
git clone -q "$repository" "$dir/src" && cd "$dir/src" && git checkout -q "$commit"
cp deploy/grid.env.example deploy/grid.env
secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(48))'; }
sed -i -e "s|^SECRET_KEY=.*|SECRET_KEY=$(secret)|" -e "s|^JWT_SECRET_KEY=.*|JWT_SECRET_KEY=$(secret)|" deploy/grid.env
docker build -q --network host -f deploy/Dockerfile -t grid-governance:latest . > "$dir/build.log" 2>&1 \
    || { tail -20 "$dir/build.log"; exit 1; }
dc up -d 2>&1 | tail -8
admin_password=$(secret)
printf '%s\n' "$admin_password" | dc run --rm -T migrate flask --app wsgi create-user alice --role admin --password-stdin
dc run --rm -T migrate flask --app wsgi tasks seed-categories
python3 "$repository/deploy/check/readme_steps.py" --map > district.geojson
dc run --rm -T -v "$PWD/district.geojson:/tmp/district.geojson:ro" migrate flask --app wsgi grid import /tmp/district.geojson

say "checks on 127.0.0.1:8000"
base=http://127.0.0.1:8000
for _ in $(seq 1 60); do [ "$(curl -sS "$base/readyz" 2> /dev/null | field '["status"]' 2> /dev/null)" = ready ] && break; sleep 1; done
is "$(curl -sS "$base/healthz" | field '["status"]')" ok "GET /healthz"
is "$(curl -sS "$base/readyz" | field '["status"]')" ready "GET /readyz"
is "$(dc ps | grep -c 'notify.*Up')" 2 "two delivery workers up"
token=$(curl -sS -X POST "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\": \"alice\", \"password\": \"$admin_password\"}" | field '["access_token"]')
auth="Authorization: Bearer $token"
is "$(curl -sS "$base/api/v1/auth/me" -H "$auth" | field '["role"]')" admin "login as alice, an admin"
ticket=$(curl -sS -X POST "$base/api/v1/requests" -H "$auth" -H 'Content-Type: application/json' \
    -H "Idempotency-Key: compose-$(date +%s)" \
    -d '{"channel": "hotline", "category_code": "CITY.GARBAGE", "description": "楼道堆放杂物",
         "location": {"lat": 32.995, "lng": 112.532}, "reporter": {"name": "钱先生", "phone": "13712345678"}}' \
    | field '["request"]["ticket_id"]')
number=$(curl -sS "$base/api/v1/tickets/$ticket" -H "$auth" | field '["no"]')
is "$(curl -sS "$base/api/v1/tickets/$ticket" -H "$auth" | field '["grid"]["name"]')" 试点社区第一网格 \
    "a request filed, its ticket $number read back, in the imported map's cell"
for _ in $(seq 1 30); do dc exec -T web grep -q "$number" /var/lib/grid/sms.log 2> /dev/null && break; sleep 1; done
is "$(dc exec -T web grep "$number" /var/lib/grid/sms.log | grep -c '您反映的问题已受理')" 1 \
    "its SMS sent once by a delivery worker, in Chinese"
for _ in $(seq 1 70); do dc logs sweep 2> /dev/null | grep -q '"message": "sweep"' && break; sleep 1; done
is "$(dc logs sweep | grep -c '"message": "sweep"' | sed 's/^[1-9][0-9]*$/some/')" some "the sweep container sweeps"
say "all steps followed and checked (logs in $dir)"
