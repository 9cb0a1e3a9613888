#!/usr/bin/env python3
"""A generated Neutron dump for the import benchmark: PORTS VM ports spread over networks of
200 ports, one router per 10 networks (interfaces + gateway on one external network), a
floating IP on every tenth VM, an allowed address pair on every seventh, and three security
groups with a remote-group rule. Deterministic: the same PORTS gives the same file.

usage: gen_dump.py PORTS OUT.json
"""
import json
import sys


def uid(kind, n):
    return "%08x-0000-4000-8000-%012x" % (kind, n)


def main():
    ports_wanted, out = int(sys.argv[1]), sys.argv[2]
    nets, subs, ports, routers, fips, sgs = [], [], [], [], [], []
    ext = uid(1, 0)
    nets.append({"id": ext, "name": "public", "router:external": True})
    subs.append({"id": uid(2, 0), "network_id": ext, "ip_version": 4, "cidr": "100.64.0.0/10",
                 "gateway_ip": "100.64.0.1", "enable_dhcp": False})
    per_net = 200
    n_nets = (ports_wanted + per_net - 1) // per_net
    for g in range(3):
        sgs.append({"id": uid(3, g), "name": "sg%d" % g, "security_group_rules": [
            {"id": uid(4, g * 10 + 1), "direction": "ingress", "ethertype": "IPv4",
             "protocol": "tcp", "port_range_min": 22, "port_range_max": 22,
             "remote_group_id": uid(3, g)},
            {"id": uid(4, g * 10 + 2), "direction": "ingress", "ethertype": "IPv4",
             "protocol": "tcp", "port_range_min": 80, "port_range_max": 80,
             "remote_ip_prefix": "0.0.0.0/0"},
            {"id": uid(4, g * 10 + 3), "direction": "egress", "ethertype": "IPv4"}]})
    port_n = 0
    fip_n = 0
    for r in range((n_nets + 9) // 10):
        rid = uid(5, r)
        routers.append({"id": rid, "name": "router%d" % r,
                        "external_gateway_info": {"network_id": ext, "enable_snat": True},
                        "routes": []})
        ports.append({"id": uid(6, 10**6 + r), "network_id": ext,
                      "mac_address": "fa:17:00:00:%02x:%02x" % (r >> 8, r & 255),
                      "fixed_ips": [{"ip_address": "100.64.%d.%d" % (1 + r // 250, 1 + r % 250),
                                     "subnet_id": uid(2, 0)}],
                      "device_owner": "network:router_gateway", "device_id": rid})
    for n in range(n_nets):
        nid, sid = uid(1, n + 1), uid(2, n + 1)
        a, b = 10 + n // 256, n % 256
        nets.append({"id": nid, "name": "net%d" % n})
        subs.append({"id": sid, "network_id": nid, "ip_version": 4,
                     "cidr": "%d.%d.0.0/16" % (a, b), "gateway_ip": "%d.%d.0.1" % (a, b),
                     "enable_dhcp": True, "dns_nameservers": ["8.8.8.8"]})
        rid = uid(5, n // 10)
        ports.append({"id": uid(6, 2 * 10**6 + n), "network_id": nid,
                      "mac_address": "fa:18:00:00:%02x:%02x" % (n >> 8, n & 255),
                      "fixed_ips": [{"ip_address": "%d.%d.0.1" % (a, b), "subnet_id": sid}],
                      "device_owner": "network:router_interface", "device_id": rid})
        for i in range(min(per_net, ports_wanted - port_n)):
            pid = uid(6, port_n)
            ip = "%d.%d.%d.%d" % (a, b, 1 + i // 250, 2 + i % 250)
            ports.append({"id": pid, "name": "vm%d" % port_n, "network_id": nid,
                          "mac_address": "fa:16:%02x:%02x:%02x:%02x" % (
                              (port_n >> 24) & 255, (port_n >> 16) & 255, (port_n >> 8) & 255,
                              port_n & 255),
                          "fixed_ips": [{"ip_address": ip, "subnet_id": sid}],
                          "device_owner": "compute:nova",
                          "binding:host_id": "compute%03d" % (port_n % 100),
                          "security_groups": [uid(3, port_n % 3)],
                          "port_security_enabled": True,
                          "allowed_address_pairs": [] if i % 7 else [{"ip_address": ip}]})
            if port_n % 10 == 0:
                fips.append({"id": uid(7, fip_n), "floating_network_id": ext,
                             "floating_ip_address": "100.%d.%d.%d" % (
                                 65 + fip_n // 65536, (fip_n // 256) % 256, fip_n % 256),
                             "port_id": pid, "fixed_ip_address": ip, "router_id": rid})
                fip_n += 1
            port_n += 1
    dump = {"networks": nets, "subnets": subs, "ports": ports, "routers": routers,
            "floatingips": fips, "security_groups": sgs}
    with open(out, "w") as f:
        json.dump(dump, f)


if __name__ == "__main__":
    main()
