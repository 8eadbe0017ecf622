#!/usr/bin/env python3
"""Times commands on files: median wall time of REPEAT runs and the peak RSS of one run
(GNU time's report for that very child), for callconv and readelf/objdump/nm alike; then one
more callconv run with CALLCONV_STATS=1 for its work counters (instructions decoded and
interpreted, and the time in each), from which the rates are computed.

    measure.py REPEAT CALLCONV FILE...   -> one JSON object per line on stdout
"""
import json, os, statistics, subprocess, sys, time  # noqa: E401

repeat, callconv, files = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
tools = {
    'callconv check': [callconv, 'check', '--format', 'json'],
    'readelf -a': ['readelf', '-a', '-W'],
    'objdump -d': ['objdump', '-d'],
    'nm -D': ['nm', '-D'],
    # The floor for any check that hashes the whole file, as callconv does.
    'openssl dgst -sha256': ['openssl', 'dgst', '-sha256'],
}

def run_once(cmd):
    start = time.perf_counter()
    with open(os.devnull, 'wb') as null:
        p = subprocess.Popen(cmd, stdout=null, stderr=null)
        p.wait()
    return time.perf_counter() - start

def work_stats(cmd):
    # The counters line the CLI prints last on stderr under CALLCONV_STATS=1.
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       env=dict(os.environ, CALLCONV_STATS='1'))
    lines = [l for l in r.stderr.splitlines() if l.startswith('callconv-stats: ')]
    return json.loads(lines[-1].split(': ', 1)[1]) if lines else None

def peak_rss_kb(cmd):
    # GNU time reports the child's own peak (a Python child would report the interpreter's).
    r = subprocess.run(['/usr/bin/time', '-f', '%M'] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    return int(r.stderr.strip().splitlines()[-1])

for f in files:
    size = os.path.getsize(f)
    # Interleave the tools round by round, so a burst of load on a shared machine hits all.
    times = {t: [] for t in tools}
    rss = {t: 0 for t in tools}
    for _ in range(repeat):
        for t, cmd in tools.items():
            times[t].append(run_once(cmd + [f]))
    for t, cmd in tools.items():
        rss[t] = peak_rss_kb(cmd + [f])
    for t in tools:
        print(json.dumps({'file': f, 'size': size, 'tool': t,
                          'median_ms': statistics.median(times[t]) * 1000,
                          'min_ms': min(times[t]) * 1000,
                          'runs': repeat, 'max_rss_kb': rss[t]}), flush=True)
    stats = work_stats(tools['callconv check'] + [f])
    if stats:
        print(json.dumps({'file': f, 'size': size, 'tool': 'stats', **stats}), flush=True)
