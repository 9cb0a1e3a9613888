#!/usr/bin/env python3
"""Reads the raw outputs that bench/run_benchmarks.sh left in WORKDIR, prints the comparison
table (workload, hivesim, anchor, ratio, target, met) and writes it as JSON.

usage: compare.py WORKDIR [--json PATH]

Exit status: 0 when every row could be computed (met or not), 1 when an output is missing or
malformed.
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys


def gbench_rates(path):
    """items_per_second per benchmark (run_name): the median aggregate when the run had
    repetitions, else the median of the iterations."""
    data = json.load(open(path))
    medians, runs = {}, {}
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            raise SystemExit(f"{path}: {b['name']}: {b.get('error_message', 'error')}")
        name = b.get("run_name", b["name"])
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[name] = b["items_per_second"]
        else:
            runs.setdefault(name, []).append(b["items_per_second"])
    names = set(medians) | set(runs)
    return {n: medians[n] if n in medians else statistics.median(runs[n]) for n in names}


def find(rates, pattern):
    hits = [v for k, v in rates.items() if re.search(pattern, k)]
    if len(hits) != 1:
        raise SystemExit(f"expected one benchmark matching {pattern!r}, found {sorted(rates)}")
    return hits[0]


def ns3_rates(path):
    """{scheduler: events/s} from ns3_events lines."""
    out = {}
    for line in open(path):
        m = re.search(r"ns3 ns3::(\S+) .*events_per_s=([\d.]+)", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    if not out:
        raise SystemExit(f"{path}: no ns3_events result")
    return out


def machine():
    def run(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return ""
    model = ""
    for line in run(["lscpu"]).splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    return {"nproc": int(run(["nproc"]).strip() or os.cpu_count()), "cpu": model,
            "kernel": platform.release()}


def mega(x, unit):
    if x >= 1e6:
        return f"{x / 1e6:.2f} M {unit}"
    if x >= 1e3:
        return f"{x / 1e3:.0f} k {unit}"
    return f"{x:.0f} {unit}"


def row(workload, value, value_s, anchor, anchor_s, ratio, op, target, target_s, note=""):
    met = ratio >= target if op == ">=" else ratio <= target
    return {"workload": workload, "hivesim": value, "hivesim_text": value_s,
            "anchor": anchor, "anchor_text": anchor_s, "ratio": round(ratio, 3),
            "target": f"{op} {target}", "target_text": target_s, "met": met, "note": note}


def build_rows(work):
    rows = []
    # Scheduler: hivesim vs the best of ns-3's schedulers at the same number of pending events.
    sched = gbench_rates(os.path.join(work, "scheduler_bench.json"))
    for pending, label, fname, target in ((10_000, "10,000", "ns3_10k.txt", 2),
                                          (1_000_000, "1,000,000", "ns3_1m.txt", 4)):
        ours = find(sched, rf"pending:{pending}/")
        ns3 = ns3_rates(os.path.join(work, fname))
        best = max(ns3, key=ns3.get)
        rows.append(row(f"scheduler, {label} pending", ours, mega(ours, "ev/s"),
                        ns3[best], f"{mega(ns3[best], 'ev/s')} (ns-3 {best.replace('Scheduler', '')})",
                        ours / ns3[best], ">=", target, f">= {target}x",
                        note="ns-3: " + ", ".join(f"{k} {v / 1e6:.2f} M/s"
                                                   for k, v in sorted(ns3.items()))))
    # First-packet simulations: absolute targets, no peer.
    flow = gbench_rates(os.path.join(work, "flow_core_bench.json"))
    l23 = find(flow, r"BM_FirstPacket_BridgeRouterBridge$")
    rows.append(row("first packet, bridge-router-bridge", l23, mega(l23, "sim/s"), None, "-",
                    l23 / 1e6, ">=", 1, ">= 1 M/s"))
    vip = find(flow, r"BM_FirstPacket_3Tier_VipToSecurityGroup$")
    snat = find(flow, r"BM_FirstPacket_3Tier_SecurityGroupToSnat$")
    slow, which = min((vip, "VIP->SG"), (snat, "SG->SNAT"))
    rows.append(row(f"first packet, 3-tier SG+NAT+LB ({which})", slow, mega(slow, "sim/s"), None,
                    "-", slow / 5e5, ">=", 1, ">= 500 k/s",
                    note=f"VIP->SG {vip:.0f}/s, SG->SNAT {snat:.0f}/s; the slower counts"))
    # Replay: whole hivesim process vs libpcap alone reading the same file warm, in pairs run
    # side by side; the medians of each side make the ratio.
    reads = re.findall(r"packets=(\d+) wall=\S+ pps=([\d.]+)",
                       open(os.path.join(work, "pcap_read.txt")).read())
    walls = [int(line) / 1e6 for line in open(os.path.join(work, "replay_wall_us.txt"))
             if line.strip()]
    if not reads or len(reads) != len(walls):
        raise SystemExit("pcap_read.txt / replay_wall_us.txt: no results, or unpaired")
    report = json.load(open(os.path.join(work, "replay.json")))
    packets = report["replay"]["packets"]
    if any(int(n) != packets for n, _ in reads):
        raise SystemExit(f"replay read {packets} packets, libpcap {reads[0][0]}")
    pcap_pps = statistics.median(float(pps) for _, pps in reads)
    wall = statistics.median(walls)
    replay_pps = packets / wall
    pair_ratios = sorted(packets / w / float(pps) for (_, pps), w in zip(reads, walls))
    rows.append(row(f"replay --topspeed, {packets:,} packets", replay_pps,
                    mega(replay_pps, "pkt/s"), pcap_pps, f"{mega(pcap_pps, 'pkt/s')} (libpcap)",
                    replay_pps / pcap_pps, ">=", 0.5, ">= 0.5x",
                    note=f"whole process, median of {len(walls)} pairs: {wall:.2f} s wall; "
                         f"pair ratios {pair_ratios[0]:.2f}-{pair_ratios[-1]:.2f}"))
    # Scale: peak RSS and simulated time over wall time.
    rep = json.load(open(os.path.join(work, "scale_report.json")))
    wall_s, rss_kb = open(os.path.join(work, "scale_time.txt")).read().split()[-2:]
    wall_s, rss = float(wall_s), int(rss_kb) * 1024
    sim_s = rep["sim_time_ns"] / 1e9
    size = f"{rep['packets']['injected']:,} packets, {rep['flows']['simulations']:,} simulations"
    gib = 1 << 30
    rows.append(row("scale, peak RSS", rss, f"{rss / gib:.2f} GiB", None, "-", rss / (4 * gib),
                    "<=", 1, "<= 4 GiB", note=size))
    rows.append(row("scale, simulated/wall time", sim_s / wall_s, f"{sim_s:.0f} s simulated",
                    wall_s, f"{wall_s:.1f} s wall", sim_s / wall_s, ">=", 1, ">= 1x",
                    note=size))
    # Scale growth: instructions per connection (loading included) at the larger cloud over the
    # smaller, the same load per host (bench/scale/growth.py under valgrind).
    growth = json.load(open(os.path.join(work, "scale_growth.json")))["instr"]
    small, large = growth[0], growth[-1]
    per = lambda r: r["run_ir"] / r["connections"]
    rows.append(row(f"scale growth, instructions/connection, {large['hosts']:,} vs "
                    f"{small['hosts']:,} hosts", per(large), f"{per(large):,.0f} instr/conn",
                    per(small), f"{per(small):,.0f} instr/conn", per(large) / per(small), "<=",
                    1.10, "<= 1.10x",
                    note=f"valgrind, {large.get('flows_per_source', 10)} connections per "
                    "traffic source, loading included"))
    # Loading large scenarios: check's CPU (least of 5) and peak RSS, with libfyaml's event
    # parser alone on the same file as the anchor (bench/scale/run_load.py).
    for r in json.load(open(os.path.join(work, "load.json")))["load"]:
        label = f"loading: check, {r['hosts']:,} hosts ({r['bytes'] / 1e6:.1f} MB)"
        rows.append(row(f"{label}, speed", r["check_mb_s"], f"{r['check_mb_s']:.1f} MB/s",
                        r["events_mb_s"], f"{r['events_mb_s']:.1f} MB/s (libfyaml events alone)",
                        r["check_mb_s"] / 20, ">=", 1, ">= 20 MB/s",
                        note=f"CPU {r['check_cpu_s']:.2f} s, least of "
                             f"{len(r['check_cpu_all'])}; check/parser "
                             f"{r['check_mb_s'] / r['events_mb_s']:.2f}"))
        rows.append(row(f"{label}, peak RSS", r["check_rss_kb"] * 1024,
                        f"{r['check_rss_kb'] / 1024:.1f} MiB", r["bytes"],
                        f"{r['bytes'] / 1e6:.1f} MB file", r["rss_over_file"], "<=", 4,
                        "<= 4x the file"))
    return rows


def print_table(rows, header):
    cols = ["workload", "hivesim", "anchor", "ratio", "target", "met"]
    cells = [[r["workload"], r["hivesim_text"], r["anchor_text"], f"{r['ratio']:.2f}",
              r["target_text"], "yes" if r["met"] else "NO"] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) for i, c in enumerate(cols)]
    fmt = lambda xs: "  ".join(x.ljust(w) for x, w in zip(xs, widths)).rstrip()
    print(header)
    print(fmt(cols))
    print(fmt(["-" * w for w in widths]))
    for c in cells:
        print(fmt(c))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    quick = open(os.path.join(a.work, "quick")).read().strip() == "1"
    rows = build_rows(a.work)
    info = machine()
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "machine": info,
        "rows": rows,
    }
    wall = os.path.join(a.work, "suite_wall_s.txt")
    if os.path.exists(wall):
        result["suite_wall_s"] = int(open(wall).read())
    header = (f"hivesim vs peers, {result['date']}, {info['cpu']}, {info['nproc']} cpus, "
              f"Linux {info['kernel']}")
    if quick:
        header += "\nQUICK MODE: reduced sizes, not comparable with the targets"
    print_table(rows, header)
    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    met = sum(r["met"] for r in rows)
    print(f"{met}/{len(rows)} targets met (no anchor: ratio = value / target); JSON: {a.json}")


if __name__ == "__main__":
    sys.exit(main())
