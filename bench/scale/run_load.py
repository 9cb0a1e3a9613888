#!/usr/bin/env python3
"""Loading large scenarios (issue 22): `hivesim check` on the scale generator's clouds, against
libfyaml's event parser alone on the same file (build/bench/yaml_events, the floor under the
loader). Targets: >= 20 MB/s of CPU (user + system) and peak RSS <= 4x the file.

Each program runs --runs times in turn, under /usr/bin/time; the least CPU time of each counts
(this 2-core machine is shared: other jobs only ever add time), and all of them are printed.

usage: run_load.py --hivesim BIN --events BIN [--sizes 10000,30000] [--runs 5] [--work DIR]
                   [--out results.json]
  A size H is `gen_scale.py --hosts H --tenants H/10` (10 VM ports a host; 10,000 hosts is the
  generator's default cloud, 13 MB).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(cmd):
    """CPU seconds (user + system) and peak RSS in KiB of one run."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        proc = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", "-o", t.name] + cmd,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-500:]}")
        user, system, rss = open(t.name).read().split()[-3:]
    return float(user) + float(system), int(rss)


def measure(hivesim, events, path, runs):
    size = os.path.getsize(path)
    check, anchor = [], []
    for _ in range(runs):  # interleaved, so that both see the same machine
        check.append(timed([hivesim, "check", path]))
        anchor.append(timed([events, path]))
    cpu = min(c for c, _ in check)
    rss = max(r for _, r in check)
    anchor_cpu = min(c for c, _ in anchor)
    return {"bytes": size, "check_cpu_s": cpu, "check_cpu_all": [c for c, _ in check],
            "check_mb_s": size / 1e6 / cpu, "check_rss_kb": rss,
            "rss_over_file": rss * 1024 / size, "events_cpu_s": anchor_cpu,
            "events_mb_s": size / 1e6 / anchor_cpu}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hivesim", required=True)
    ap.add_argument("--events", required=True, help="build/bench/yaml_events")
    ap.add_argument("--sizes", default="10000,30000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work", default=None)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="hivesim-load-")
    os.makedirs(work, exist_ok=True)
    results = []
    for hosts in (int(s) for s in a.sizes.split(",") if s):
        path = os.path.join(work, f"scale{hosts}.yaml")
        subprocess.run([sys.executable, os.path.join(HERE, "gen_scale.py"), path, "--hosts",
                        str(hosts), "--tenants", str(max(1, hosts // 10))], check=True)
        r = {"hosts": hosts, **measure(a.hivesim, a.events, path, a.runs)}
        os.remove(path)
        results.append(r)
        print(f"{hosts:,} hosts ({r['bytes'] / 1e6:.1f} MB): check {r['check_cpu_s']:.2f} s CPU "
              f"= {r['check_mb_s']:.1f} MB/s (runs: "
              f"{', '.join(f'{c:.2f}' for c in r['check_cpu_all'])}), peak "
              f"{r['check_rss_kb'] / 1024:.1f} MiB = {r['rss_over_file']:.2f}x the file; "
              f"libfyaml events alone {r['events_cpu_s']:.2f} s = {r['events_mb_s']:.1f} MB/s")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"load": results}, f, indent=2)


if __name__ == "__main__":
    main()
