#!/usr/bin/env bash
# Schema testing of the whole HTTP API: schemathesis (pinned, from PyPI) against the real
# `watchtower serve` on a loopback port with a fresh SQLite database, authenticated with an API
# key made through the API, after a few seed objects. Every operation of /api/openapi.json, a
# bounded number of examples each; fails on any 5xx and on any answer whose status, content type
# or body the document does not declare. The server and its files are removed on exit.
#
#   scripts/schemathesis.sh                 # the CI run
#   SCHEMATHESIS_MAX_EXAMPLES=100 scripts/schemathesis.sh   # a longer run
#   WATCHTOWER_BINARY=target/debug/watchtower scripts/schemathesis.sh   # an already built binary
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-50}"
# A hard bound on the schemathesis step (seconds), whatever happens.
TIME_LIMIT="${SCHEMATHESIS_TIME_LIMIT:-300}"
SEED="${SCHEMATHESIS_SEED:-20261206}"

if ! python3 -m schemathesis.cli --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    python3 -m pip install --quiet --user "schemathesis==$SCHEMATHESIS_VERSION"
fi

# .ci/run passes the binary `cargo test --workspace` has just built: `cargo build -p watchtower`
# resolves features differently and would compile most dependencies a second time.
if [ -n "${WATCHTOWER_BINARY:-}" ]; then
    binary="$(realpath "$WATCHTOWER_BINARY")"
else
    cargo build --quiet -p watchtower
    binary="$(pwd)/target/debug/watchtower"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
admin_email="admin@example.com"
admin_password="schemathesis admin password 1"

# High rate limits: schemathesis must meet the API, not the limiter.
WATCHTOWER_ADMIN_EMAIL="$admin_email" WATCHTOWER_ADMIN_PASSWORD="$admin_password" \
WATCHTOWER_LOG_FORMAT=json RUST_LOG=warn \
    "$binary" serve --bind "127.0.0.1:$port" --database "sqlite://$work/watchtower.db" \
    --rate-limit-per-key 1000000 --rate-limit-per-session 1000000 \
    --rate-limit-per-ip 1000000 --rate-limit-per-ip-authenticated 1000000 \
    >"$work/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 1 100); do
    if curl -fsS "$base/healthz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "watchtower serve exited:" >&2
        cat "$work/server.log" >&2
        exit 1
    fi
    sleep 0.1
done

# Sign in, make the API key, and seed one object of each kind (a failing monitor gives an
# incident and a notification).
key="$(BASE="$base" EMAIL="$admin_email" PASSWORD="$admin_password" python3 - <<'PYTHON'
import http.cookiejar, json, os, time, urllib.request

base = os.environ["BASE"]
jar = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

def call(method, path, body=None, headers=None, opener=jar):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    with opener.open(request) as response:
        text = response.read()
        return json.loads(text) if text else None

me = call("POST", "/api/auth/login", {"email": os.environ["EMAIL"], "password": os.environ["PASSWORD"]})
csrf = {"x-csrf-token": me["csrf_token"]}
team = me["teams"][0]["id"]
key = call("POST", f"/api/teams/{team}/api-keys", {"name": "schemathesis", "scope": "read_write"}, csrf)["key"]
call("POST", f"/api/teams/{team}/invitations", {"email": "invitee@example.com", "role": "member"}, csrf)

plain = urllib.request.build_opener()
auth = {"authorization": f"Bearer {key}"}
def api(method, path, body=None):
    return call(method, path, body, auth, plain)

monitor = api("POST", "/api/monitors", {"key": "db", "name": "db", "kind": "tcp", "host": "127.0.0.1",
                                        "port": 9, "interval": "1h", "tags": ["db"]})
api("POST", "/api/monitors", {"name": "web", "kind": "http", "url": "http://127.0.0.1:9/", "interval": "1h"})
channel = api("POST", "/api/channels", {"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook"})
api("POST", "/api/alert-rules", {"name": "all", "events": ["down", "up"], "channel_ids": [channel["id"]]})
api("POST", "/api/escalation-policies", {"name": "on call", "steps": [{"after": "0s", "channel_ids": [channel["id"]]}]})
api("POST", "/api/maintenance", {"name": "upgrade", "tag": "db", "cron": "0 3 * * SUN", "duration": "1h"})
api("POST", f"/api/channels/{channel['id']}/test")
api("POST", f"/api/monitors/{monitor['id']}/check")
for _ in range(100):
    incidents = api("GET", "/api/incidents")["incidents"]
    if incidents:
        api("POST", f"/api/incidents/{incidents[0]['id']}/notes", {"body": "looking"})
        break
    time.sleep(0.1)
print(key)
PYTHON
)"

cat >"$work/schemathesis.toml" <<'TOML'
# The seed team is team 1: every `{team}` route acts on it (other ids answer 404).
[parameters]
"path.team" = 1

# Never revoke the key this run authenticates with.
[[operations]]
include-path = "/api/teams/{team}/api-keys/{id}"
include-method = "DELETE"
parameters = { "path.id" = 999999 }

# The seeded `db` monitor, its incident and the webhook channel are id 1: reads and changes of
# one of them act on a real row (deletes keep random ids, so the rows stay for the others).
[[operations]]
include-path-regex = "^/api/(monitors|incidents|channels)/\\{id\\}"
include-method-regex = "^(GET|PUT|POST)$"
parameters = { "path.id" = 1 }
TOML

echo "== schemathesis $SCHEMATHESIS_VERSION against $base (at most $MAX_EXAMPLES examples per operation)"
status=0
# From the scratch folder: schemathesis keeps its cache (.schemathesis/) in the working folder.
(cd "$work" && timeout --signal=INT --kill-after=10 "$TIME_LIMIT" \
    python3 -m schemathesis.cli --config-file "$work/schemathesis.toml" run "$base/api/openapi.json" \
    --header "Authorization: Bearer $key" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "$MAX_EXAMPLES" --seed "$SEED" --workers 2 --request-timeout 10 \
    --phases examples,coverage,fuzzing --no-shrink --suppress-health-check all) \
    || status=$?
if [ "$status" -ne 0 ]; then
    echo "== server log (last 50 lines)"
    tail -n 50 "$work/server.log"
fi
exit "$status"
