#!/bin/sh
# Fetches what `hivesim import neutron` reads from a live OpenStack cloud, with the credentials
# of the usual OS_* environment (source your openrc first, or set OS_CLOUD for clouds.yaml).
#
#   scripts/fetch-neutron-dump.sh DUMP.json [HYPERVISORS.json]
#
# DUMP.json: one JSON object holding the Neutron API lists (GET /v2.0/<collection>) and, when
# the cloud has Octavia, its lists (GET /v2/lbaas/<collection>). HYPERVISORS.json (optional,
# needs an admin role): `openstack hypervisor list --long -f json`, for the hosts' addresses.
# Needs the `openstack` CLI (python3-openstackclient), curl and python3. Reads nothing but
# lists; writes the files through temporary names, so a failed fetch leaves no half file.
set -eu

dump=${1:?usage: fetch-neutron-dump.sh DUMP.json [HYPERVISORS.json]}
hypervisors=${2:-}

token=$(openstack token issue -f value -c id)
endpoint() {  # the public URL of a service type, or nothing
  openstack catalog show "$1" -f json 2>/dev/null | python3 -c '
import json, sys
for e in json.load(sys.stdin).get("endpoints", []):
    if e.get("interface") == "public":
        print(e["url"].rstrip("/")); break' || true
}
neutron=$(endpoint network)
[ -n "$neutron" ] || { echo "fetch-neutron-dump: no network endpoint in the catalog" >&2; exit 2; }
octavia=$(endpoint load-balancer)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
get() {  # URL FILE: one whole list (Neutron and Octavia do not paginate unless asked to)
  curl -fsS -H "X-Auth-Token: $token" -H "Accept: application/json" "$1" -o "$2"
}
for c in networks subnets ports routers floatingips security_groups; do
  get "$neutron/v2.0/$c" "$tmp/$c.json"
done
if [ -n "$octavia" ]; then
  for c in loadbalancers listeners pools healthmonitors; do
    get "$octavia/v2/lbaas/$c" "$tmp/$c.json"
  done
  # Pools list their members by id only: fetch each pool's members.
  python3 - "$tmp" <<'PY' > "$tmp/pool_ids"
import json, sys
for p in json.load(open(sys.argv[1] + "/pools.json"))["pools"]:
    print(p["id"])
PY
  while read -r pool; do
    get "$octavia/v2/lbaas/pools/$pool/members" "$tmp/members-$pool.json"
  done < "$tmp/pool_ids"
fi

python3 - "$tmp" > "$tmp/dump.json" <<'PY'
import glob, json, os, sys
d = sys.argv[1]
out = {}
for path in sorted(glob.glob(d + "/*.json")):
    name = os.path.basename(path)[:-5]
    if name.startswith("members-"):
        continue
    out.update(json.load(open(path)))
for pool in out.get("pools", []):
    path = "%s/members-%s.json" % (d, pool["id"])
    if os.path.exists(path):
        pool["members"] = json.load(open(path))["members"]
json.dump(out, sys.stdout, indent=1, sort_keys=True)
PY
mv "$tmp/dump.json" "$dump.tmp" && mv "$dump.tmp" "$dump"
if [ -n "$hypervisors" ]; then
  openstack hypervisor list --long -f json > "$hypervisors.tmp" && mv "$hypervisors.tmp" "$hypervisors"
fi
echo "wrote $dump${hypervisors:+ and $hypervisors}" >&2
