#!/bin/sh
# The checks deploy/check/fresh_machine.sh runs on the machine once README's steps are done (as root there, with
# ADMIN_PASSWORD): everything through nginx with TLS, the units through systemctl and the journal. Stops at the
# first check that fails.
set -eu
base=https://grid.example.gov.cn
get() { curl -sS --cacert /etc/ssl/grid/fullchain.pem "$@"; }
field() { python3 -c "import sys, json; print(json.load(sys.stdin)$1)"; }
# is ACTUAL EXPECTED WHAT
is() { if [ "$1" = "$2" ]; then printf 'ok: %s\n' "$3"; else printf 'FAILED: %s: %s, not %s\n' "$3" "$1" "$2"; exit 1; fi; }
journal_has() { journalctl "$@" --no-pager -o cat 2>/dev/null | grep -q "$pattern" && echo yes || echo no; }

is "$(get "$base/healthz" | field '["status"]')" ok "GET /healthz through nginx"
is "$(get "$base/readyz" | field '["status"]')" ready "GET /readyz through nginx"
is "$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' http://grid.example.gov.cn/readyz)" \
  "301 https://grid.example.gov.cn/readyz" "http:// redirected to https://"
is "$(get -o /dev/null -w '%{http_code}' "$base/metrics")" 404 "/metrics hidden by nginx"
is "$(curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1:8000/metrics)" 200 "/metrics on the web's own address"
is "$(get -o /dev/null -w '%{http_code}' "$base/console/static/vendor/echarts.min.js")" 200 \
  "the console's libraries served"

token=$(get -X POST "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\": \"alice\", \"password\": \"$ADMIN_PASSWORD\"}" | field '["access_token"]')
auth="Authorization: Bearer $token"
is "$(get "$base/api/v1/auth/me" -H "$auth" | field '["role"]')" admin "login as alice, an admin"
# A phone of its own each run: a resident gets at most NOTIFY_SMS_PER_PHONE_PER_HOUR messages.
phone=137$(python3 -c 'import random; print(random.randrange(10**7, 10**8))')
ticket=$(get -X POST "$base/api/v1/requests" -H "$auth" -H 'Content-Type: application/json' \
  -H "Idempotency-Key: fresh-machine-$(date +%s)" \
  -d '{"channel": "hotline", "category_code": "CITY.GARBAGE", "description": "楼道堆放杂物",
       "location": {"lat": 32.995, "lng": 112.532}, "reporter": {"name": "钱先生", "phone": "'"$phone"'"}}' \
  | field '["request"]["ticket_id"]')
number=$(get "$base/api/v1/tickets/$ticket" -H "$auth" | field '["no"]')
is "$(get "$base/api/v1/tickets/$ticket" -H "$auth" | field '["grid"]["name"]')" 试点社区第一网格 \
  "a request filed, its ticket $number read back, in the imported map's cell"

for _ in $(seq 1 30); do grep -q "$number" /var/lib/grid/sms.log 2>/dev/null && break; sleep 1; done
is "$(grep "$number" /var/lib/grid/sms.log | grep -c '您反映的问题已受理')" 1 \
  "its SMS sent once by the delivery workers, in Chinese (console channel: /var/lib/grid/sms.log)"
pattern='"message": "delivered"'
is "$(journal_has -u 'grid-notify@*')" yes "the journal of grid-notify@ says delivered"
for unit in grid-web grid-notify@1 grid-notify@2 grid-sweep.timer grid-daily.timer nginx; do
  is "$(systemctl is-active "$unit")" active "$unit active"
done

# The sweep timer fires at each minute's start: wait for a run after now.
since=$(date '+%Y-%m-%d %H:%M:%S')
pattern='"message": "sweep"'
for _ in $(seq 1 75); do [ "$(journal_has -u grid-sweep --since "$since")" = yes ] && break; sleep 1; done
is "$(journal_has -u grid-sweep --since "$since")" yes "grid-sweep.timer started the sweep within the minute"
systemctl start grid-daily
is "$(systemctl show -p Result --value grid-daily)" success \
  "grid-daily.service: $(journalctl -u grid-daily --no-pager -o cat -n 5 | tr '\n' ';')"

# README: `systemctl reload grid-web` replaces the workers gracefully; the requests meanwhile are all answered.
( for _ in $(seq 1 16); do get -o /dev/null -w '%{http_code}\n' "$base/readyz"; sleep 0.5; done ) > /tmp/during-reload &
sleep 1
systemctl reload grid-web
wait
is "$(sort -u /tmp/during-reload | tr '\n' ' ')" "200 " "systemctl reload grid-web: 16 requests during it, all 200"

# README, Backups: a backup restored into an empty database, the services on it, /readyz and the ticket.
systemd-run --quiet --wait --pipe -p EnvironmentFile=/etc/grid/grid.env /opt/grid/deploy/backup.sh /var/backups/grid
(cd /tmp && sudo -u postgres createdb -O grid grid_restored)
url=$(sed -n 's|^DATABASE_URL=\(.*\)/grid$|\1/grid_restored|p' /etc/grid/grid.env)
DATABASE_URL=$url ATTACHMENTS_DIR=/var/lib/grid/attachments-restored \
  /opt/grid/deploy/restore.sh /var/backups/grid/grid-*.dump /var/backups/grid/attachments-*.tar.gz
sed -i 's|^\(DATABASE_URL=.*\)/grid$|\1/grid_restored|' /etc/grid/grid.env
systemctl restart grid-web grid-notify@1 grid-notify@2
for _ in $(seq 1 30); do [ "$(get "$base/readyz" 2>/dev/null | field '["status"]' 2>/dev/null)" = ready ] && break; sleep 1; done
is "$(get "$base/readyz" | field '["status"]')" ready "restored into a fresh database: /readyz"
is "$(get "$base/api/v1/tickets/$ticket" -H "$auth" | field '["no"]')" "$number" "restored: ticket $number read"
sed -i 's|^\(DATABASE_URL=.*\)/grid_restored$|\1/grid|' /etc/grid/grid.env
systemctl restart grid-web grid-notify@1 grid-notify@2
