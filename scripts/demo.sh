#!/usr/bin/env bash
# make demo: a store with the example inventory, the lab network, the console on :8080.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-demo-data}"
NW=".venv/bin/netwarden"
export NETWARDEN_DATA_DIR="$DATA"
PASSWORD_FILE="$DATA/demo-admin-password"

if [ ! -f "$DATA/.netwarden-store" ]; then
    "$NW" init --json > /tmp/netwarden-demo-init.json
    .venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin_token"])' \
        /tmp/netwarden-demo-init.json > "$DATA/demo-admin-token"
    rm -f /tmp/netwarden-demo-init.json
    chmod 600 "$DATA/demo-admin-token"
    .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))' > "$PASSWORD_FILE"
    chmod 600 "$PASSWORD_FILE"
    "$NW" user passwd admin < "$PASSWORD_FILE" > /dev/null
fi

if [ "$(id -u)" = 0 ]; then
    # lab up stores the lab's credentials and sites in the store; discovery then finds every node,
    # files it under the site its sysLocation names, and draws the links LLDP sees.
    if "$NW" lab up; then
        CIDR="$("$NW" lab status --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["mgmt_cidr"])')"
        HOST_END="$(.venv/bin/python -c 'import ipaddress,sys; print(next(ipaddress.ip_network(sys.argv[1]).hosts()))' "$CIDR")"
        # The range's first address is this machine's end of the management bridge, not a lab node.
        "$NW" discover "$CIDR" --exclude "$HOST_END" --credential lab-snmp --credential lab-ssh --site lab \
            || echo "warning: discovery of the lab failed; see the message above" >&2
        # The lab's nodes send linkDown/linkUp traps to this machine's end of the bridge, port 1162.
        COMMUNITY="$(.venv/bin/python -c 'from netwarden.lab.state import load_state; print(load_state("nwlab").community)')"
        export NETWARDEN_TRAPS_ENABLED=true NETWARDEN_TRAPS_HOST="$HOST_END" NETWARDEN_TRAPS_PORT=1162
        export NETWARDEN_TRAPS_COMMUNITIES="[\"$COMMUNITY\"]"
        # ... and their syslog (FRR adjacency changes, sshd, ...) to port 5514.
        export NETWARDEN_SYSLOG_ENABLED=true NETWARDEN_SYSLOG_HOST="$HOST_END" NETWARDEN_SYSLOG_PORT=5514
        # Config backups over the lab's SSH login: one now (so the Configs page has history), then daily,
        # and after each config change the routers log (FRR 'log commands'), with a compliance check.
        export NETWARDEN_CONFIG_CREDENTIALS='["lab-ssh"]'
        "$NW" config backup --why "demo start" > /dev/null || echo "warning: some config backups failed: see 'netwarden config status'" >&2
        "$NW" config check > /dev/null || true  # the lab has planted violations: a failing rule is expected
        # srv1's web server and DNS as service checks.
        SRV1="$("$NW" device show srv1 --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["mgmt_ip"])')" || SRV1=""
        if [ -n "$SRV1" ]; then
            export NETWARDEN_MONITOR_SERVICE_CHECKS="[{\"name\": \"srv1-http\", \"device\": \"srv1\", \"kind\": \"http\", \"url\": \"http://$SRV1/\"}]"
        fi
    else
        echo "warning: the lab did not come up; the console still starts (see 'netwarden lab status')" >&2
    fi
else
    echo "note: not root, so the lab network is not started (it needs CAP_NET_ADMIN);" \
         "the console shows the example inventory instead" >&2
    "$NW" device list --json | grep -q '"name"' || "$NW" import examples/inventory.yml
fi

# Monitor the lab: ping every 10 s, SNMP every 60 s with the lab's community.
export NETWARDEN_MONITOR_ENABLED=true NETWARDEN_MONITOR_PING_INTERVAL=10 NETWARDEN_MONITOR_SNMP_INTERVAL=60
export NETWARDEN_MONITOR_CREDENTIALS='["lab-snmp"]'

cat <<MSG

  netwarden console: http://127.0.0.1:8080/
  log in as:         admin
  password:          $(cat "$PASSWORD_FILE")
  API token:         in $DATA/demo-admin-token (use: Authorization: Bearer <token>)
  stop with Ctrl-C;  'netwarden lab down' removes the lab

MSG
exec "$NW" serve --host 127.0.0.1 --port 8080
