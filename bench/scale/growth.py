#!/usr/bin/env python3
"""The scale growth curve: how load time, run time, cost per connection and peak memory grow with
the cloud (issue 22). Every size carries the same per-host load (gen_scale.py with hosts / 10
tenants: 10 VMs a host, 100 connections per traffic source), so a cost that grows faster than
the cloud shows as a rising cost per connection.

usage: growth.py [--hivesim BIN] [--sizes 1000,10000,30000,100000] [--instr-sizes 1000,3000]
                 [--instr-flows-per-source 100] [--work DIR] [--out PREFIX] [--max-rss-gib 14]
                 [--replot]

For each of --sizes: `check` (the load alone) and `run`, each under /usr/bin/time -v: wall and
CPU (user + system) seconds, peak RSS. A run whose RSS passes --max-rss-gib is stopped and
recorded as such. For each of --instr-sizes: the same shape (--instr-flows-per-source connections
per source, 100 by default as in the timed sizes; the first rounds used 10 so that callgrind
finished), `check` and `run` under valgrind's cachegrind without its cache simulation (within
0.3% of callgrind's count, in a fraction of its time: 10,000 hosts take ~2 minutes of CPU,
30,000 ~6): instructions per connection, loading included and the load alone. Instructions do
not depend on the machine's load, which moves wall and CPU times by 20-40% on the shared
machine.

Writes PREFIX.json (each size as it finishes, so a long run is not lost), prints the table with
the growth ratio of the cost per connection between consecutive sizes against the target
(<= 1.10x from 10,000 to 30,000 hosts), and draws PREFIX.png with gnuplot when it is installed
(`--replot` redraws from PREFIX.json without running anything). Needs valgrind for
--instr-sizes (an empty --instr-sizes skips it).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = 1.10


def gen(path, hosts, flows_per_source):
    subprocess.run([sys.executable, os.path.join(HERE, "gen_scale.py"), path, "--hosts",
                    str(hosts), "--tenants", str(max(1, hosts // 10)), "--flows-per-source",
                    str(flows_per_source)], check=True)


def timed(cmd, out_path, max_rss_kb):
    """Runs cmd under /usr/bin/time -v, stdout to out_path; returns wall, cpu, rss_kb, rc,
    stopped (True when it was killed for passing max_rss_kb)."""
    tfile = out_path + ".time"
    with open(out_path, "w") as out:
        p = subprocess.Popen(["/usr/bin/time", "-v", "-o", tfile] + cmd, stdout=out,
                             stderr=subprocess.DEVNULL)
        stopped = False
        child = None
        while p.poll() is None:
            time.sleep(1)
            if child is None:
                kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True,
                                      text=True).stdout.split()
                child = int(kids[0]) if kids else None
            if child is not None:
                try:
                    status = open(f"/proc/{child}/status").read()
                    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
                except (OSError, AttributeError):
                    continue
                if rss > max_rss_kb:
                    os.kill(child, 9)
                    stopped = True
        rc = p.wait()
    t = open(tfile).read()
    field = lambda name: re.search(re.escape(name) + r":\s*(\S+)", t).group(1)
    wall_text = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    wall = 0.0
    for part in wall_text.split(":"):
        wall = wall * 60 + float(part)
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    return wall, cpu, int(field("Maximum resident set size (kbytes)")), rc, stopped


def instructions(cmd, work, tag):
    """Instructions the process runs (cachegrind, no cache simulation); its per-function
    profile is left in WORK/cachegrind.TAG.out for cg_annotate."""
    out = os.path.join(work, f"cachegrind.{tag}.out")
    log = os.path.join(work, f"cachegrind.{tag}.log")
    with open(os.path.join(work, f"cachegrind.{tag}.stdout"), "w") as so, open(log, "w") as se:
        subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no",
                        f"--cachegrind-out-file={out}"] + cmd, stdout=so, stderr=se)
    m = re.search(r"I\s+refs:\s+([\d,]+)", open(log).read())
    if not m:
        raise SystemExit(f"cachegrind failed, see {log}")
    return int(m.group(1).replace(",", ""))


def fmt_table(data):
    lines = []
    cols = ["hosts", "ports", "connections", "load wall s", "load CPU s", "load RSS MiB",
            "run wall s", "run CPU s", "run RSS GiB", "CPU us/conn"]
    rows = []
    for r in data["sizes"]:
        rows.append([f"{r['hosts']:,}", f"{r['ports']:,}", f"{r['connections']:,}",
                     f"{r['load_wall_s']:.1f}", f"{r['load_cpu_s']:.1f}",
                     f"{r['load_rss_kb'] / 1024:.0f}",
                     f"{r['run_wall_s']:.1f}", f"{r['run_cpu_s']:.1f}",
                     f"{r['run_rss_kb'] / 1048576:.2f}" + (" (stopped)" if r["stopped"] else ""),
                     f"{r['run_cpu_s'] / r['connections'] * 1e6:.1f}"])
    if rows:
        lines += table(cols, rows)
    if data.get("instr"):
        lines.append("")
        per_source = sorted({r.get("flows_per_source", 10) for r in data["instr"]})
        lines.append("Instructions (valgrind; " + "/".join(map(str, per_source)) +
                     " connections per source), per connection:")
        cols = ["hosts", "connections", "run (load incl.)", "load alone", "growth", "target",
                "met"]
        rows = []
        prev = None
        for r in data["instr"]:
            per = r["run_ir"] / r["connections"]
            growth, target, met = "", "", ""
            if prev is not None:
                g = per / (prev["run_ir"] / prev["connections"])
                growth = f"{g:.3f}x vs {prev['hosts']:,}"
                target = f"<= {TARGET:.2f}x"
                met = "yes" if g <= TARGET else "NO"
            rows.append([f"{r['hosts']:,}", f"{r['connections']:,}", f"{per:,.0f}",
                         f"{r['check_ir'] / r['connections']:,.0f}" if "check_ir" in r else "-",
                         growth, target, met])
            prev = r
        lines += table(cols, rows)
    return "\n".join(lines)


def table(cols, rows):
    widths = [max(len(c), *(len(x[i]) for x in rows)) if rows else len(c)
              for i, c in enumerate(cols)]
    fmt = lambda xs: "  ".join(x.rjust(w) for x, w in zip(xs, widths))
    return [fmt(cols), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows]


def plot(data, png):
    if not data["sizes"]:
        return
    if not shutil.which("gnuplot"):
        print(f"gnuplot not installed: no {png}", file=sys.stderr)
        return
    dat = png[:-4] + ".dat"
    with open(dat, "w") as f:
        f.write("# hosts load_cpu_s run_cpu_s run_rss_gib cpu_us_per_conn\n")
        for r in data["sizes"]:
            f.write(f"{r['hosts']} {r['load_cpu_s']} {r['run_cpu_s']} "
                    f"{r['run_rss_kb'] / 1048576} {r['run_cpu_s'] / r['connections'] * 1e6}\n")
    idat = png[:-4] + ".instr.dat"
    with open(idat, "w") as f:
        f.write("# hosts run_ir_per_conn check_ir_per_conn\n")
        for r in data.get("instr", []):
            f.write(f"{r['hosts']} {r['run_ir'] / r['connections']} "
                    f"{r['check_ir'] / r['connections'] if 'check_ir' in r else 'NaN'}\n")
    have_instr = bool(data.get("instr"))
    script = f"""
set terminal pngcairo size 1200,{800 if have_instr else 420} font "DejaVu Sans,10"
set output "{png}"
set multiplot layout {2 if have_instr else 1},2 title "hivesim growth: same load per host ({data['machine']})"
set logscale x
set xlabel "hosts (10 VM ports each)"
set grid
set key top left
set title "CPU time (s), log-log"
set logscale y
plot "{dat}" using 1:3 with linespoints title "run (load included)", \\
     "{dat}" using 1:2 with linespoints title "check (load alone)"
unset logscale y
set title "peak RSS of run (GiB) and CPU per connection (us)"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
plot "{dat}" using 1:4 with linespoints title "peak RSS, GiB", \\
     "{dat}" using 1:5 axes x1y2 with linespoints title "CPU us per connection (right)"
"""
    if have_instr:
        script += f"""
unset y2tics
set ytics mirror
set title "instructions per connection (valgrind, {'/'.join(str(x) for x in sorted({r.get('flows_per_source', 10) for r in data['instr']}))} connections per source)"
set yrange [0:*]
plot "{idat}" using 1:2 with linespoints title "run, load included", \\
     "{idat}" using 1:3 with linespoints title "load alone"
"""
    script += "unset multiplot\n"
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    print(f"plot: {png}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hivesim", default=os.path.join(HERE, "../../build/sim/cli/hivesim"))
    ap.add_argument("--sizes", default="1000,10000,30000,100000")
    ap.add_argument("--instr-sizes", default="1000,3000")
    ap.add_argument("--instr-flows-per-source", type=int, default=100)
    ap.add_argument("--work", default="/tmp/hivesim-growth")
    ap.add_argument("--out", default=None, help="PREFIX of .json and .png (default WORK/growth)")
    ap.add_argument("--max-rss-gib", type=float, default=14.0)
    ap.add_argument("--replot", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    prefix = a.out or os.path.join(a.work, "growth")
    if a.replot:
        data = json.load(open(prefix + ".json"))
        print(fmt_table(data))
        plot(data, prefix + ".png")
        return 0
    machine = subprocess.run("lscpu | sed -n 's/^Model name: *//p'", shell=True,
                             capture_output=True, text=True).stdout.strip()
    data = {"machine": f"{os.cpu_count()} cpus, {machine}",
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "sizes": [], "instr": []}
    save = lambda: json.dump(data, open(prefix + ".json", "w"), indent=2)
    sizes = [int(x) for x in a.sizes.split(",") if x]
    instr_sizes = [int(x) for x in a.instr_sizes.split(",") if x]
    max_kb = int(a.max_rss_gib * 1048576)
    for hosts in sizes:
        yaml = os.path.join(a.work, f"s{hosts}.yaml")
        gen(yaml, hosts, 100)
        lw, lc, lr, rc, _ = timed([a.hivesim, "check", yaml], yaml + ".check", max_kb)
        if rc != 0:
            raise SystemExit(f"check {yaml} failed ({rc})")
        rw, cpu, rr, rc, stopped = timed([a.hivesim, "run", yaml, "--format", "json"],
                                         yaml + ".report.json", max_kb)
        if rc not in (0, 1) and not stopped:
            raise SystemExit(f"run {yaml} failed ({rc})")
        data["sizes"].append({"hosts": hosts, "ports": hosts * 10 + hosts // 10 * 4,
                              "connections": hosts * 100, "load_wall_s": lw, "load_cpu_s": lc,
                              "load_rss_kb": lr, "run_wall_s": rw, "run_cpu_s": cpu,
                              "run_rss_kb": rr, "stopped": stopped})
        os.remove(yaml)
        save()
        print(f"{hosts} hosts: load {lc:.1f} s CPU, run {cpu:.1f} s CPU, {rr / 1048576:.2f} GiB"
              + (" (stopped)" if stopped else ""), file=sys.stderr)
    for hosts in instr_sizes:
        yaml = os.path.join(a.work, f"f{hosts}.yaml")
        per_source = a.instr_flows_per_source
        gen(yaml, hosts, per_source)
        check_ir = instructions([a.hivesim, "check", yaml], a.work, f"check{hosts}")
        run_ir = instructions([a.hivesim, "run", yaml, "--format", "json"], a.work,
                              f"run{hosts}")
        data["instr"].append({"hosts": hosts, "connections": hosts * per_source,
                              "flows_per_source": per_source, "run_ir": run_ir,
                              "check_ir": check_ir})
        os.remove(yaml)
        save()
    print(fmt_table(data))
    plot(data, prefix + ".png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
