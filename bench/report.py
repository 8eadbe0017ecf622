#!/usr/bin/env python3
"""Turns bench/run's measurements into the markdown report."""
import json, os, platform, subprocess, sys

cli = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
vm = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
repeat = sys.argv[3]

def mb(n):
    return f'{n / 1048576:.1f} MiB' if n >= 1048576 else f'{n / 1024:.0f} KiB'

cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?')
load = open('/proc/loadavg').read().split()[:3]
print('# callconv benchmark\n')
print(f'Machine: {cpu}, {os.cpu_count()} cores, load average {" ".join(load)} at the end '
      f'(a shared machine: ratios are measured in the same run, tools interleaved round by round). '
      f'Medians of {repeat} runs; the CLI rows are whole processes (start-up included).\n')

stats = {r['file']: r for r in cli if r['tool'] == 'stats'}
cli = [r for r in cli if r['tool'] != 'stats']
files = []
for r in cli:
    if r['file'] not in files:
        files.append(r['file'])
labels = dict(zip(files, ['small', 'medium', 'large']))
print('## Full check against the binutils (wall time, median)\n')
print('| file | size | callconv check | readelf -a | objdump -d | nm -D | sha256 alone (openssl) | callconv / readelf -a | callconv / objdump -d |')
print('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
for f in files:
    row = {r['tool']: r for r in cli if r['file'] == f}
    cc, re_ = row['callconv check']['median_ms'], row['readelf -a']['median_ms']
    print(f"| {labels.get(f, '')} `{os.path.basename(f)}` | {mb(row['callconv check']['size'])} | "
          f"{cc:.1f} ms | {re_:.1f} ms | {row['objdump -d']['median_ms']:.1f} ms | "
          f"{row['nm -D']['median_ms']:.1f} ms | {row['openssl dgst -sha256']['median_ms']:.1f} ms | {cc / re_:.2f}× | "
          f"{cc / row['objdump -d']['median_ms']:.2f}× |")

def rate(count, ns):
    return f'{count / ns * 1e9 / 1e6:.2f} M/s' if ns > 0 and count else '–'

print('\n## Instructions per second (one `CALLCONV_STATS=1` run per file)\n')
print('Decoder: instructions decoded (decode-cache misses) per second spent decoding them, '
      'code reads included. Interpreter: instructions the per-function analysis stepped per '
      'second of analysis time less the decoding (the ISA sweep\'s time is in it too).\n')
print('| file | decoded | decoder | interpreted | swept | interpreter | analysis time |')
print('|---|---:|---:|---:|---:|---:|---:|')
for f in files:
    st = stats.get(f)
    if not st:
        print(f"| {labels.get(f, '')} `{os.path.basename(f)}` | unavailable | | | | | |")
        continue
    interp_ns = st['analysis_ns'] - st['decode_ns']
    print(f"| {labels.get(f, '')} `{os.path.basename(f)}` | {st['decoded']:,} | {rate(st['decoded'], st['decode_ns'])} | "
          f"{st['interpreted']:,} | {st['swept']:,} | {rate(st['interpreted'], interp_ns)} | {st['analysis_ns'] / 1e6:.1f} ms |")

decoders_file = sys.argv[4] if len(sys.argv) > 4 else None
if decoders_file and os.path.exists(decoders_file):
    print('\n## x86 decoders (the lifter alone, linear sweep of the executable sections)\n')
    print('Each lifter over every instruction of the file, median of the runs; capstone with details '
          'on against iced-x86 (`examples/x86_decoders.rs`).\n')
    print('| file | instructions | capstone | iced-x86 | capstone / iced |')
    print('|---|---:|---:|---:|---:|')
    for l in open(decoders_file):
        if not l.strip():
            continue
        d = json.loads(l)
        print(f"| {labels.get(d['file'], '')} `{os.path.basename(d['file'])}` | {d['instructions']:,} | "
              f"{d['capstone_ns']:.0f} ns ({1e3 / d['capstone_ns']:.2f} M/s) | {d['iced_ns']:.0f} ns ({1e3 / d['iced_ns']:.2f} M/s) | "
              f"{d['capstone_ns'] / d['iced_ns']:.2f}× |")

print('\n## Peak memory (max RSS of one process)\n')
print('| file | size | callconv check | readelf -a | objdump -d | nm -D | callconv / file size |')
print('|---|---:|---:|---:|---:|---:|---:|')
for f in files:
    row = {r['tool']: r for r in cli if r['file'] == f}
    size = row['callconv check']['size']
    c = row['callconv check']['max_rss_kb'] * 1024
    print(f"| {labels.get(f, '')} `{os.path.basename(f)}` | {mb(size)} | {mb(c)} | "
          f"{mb(row['readelf -a']['max_rss_kb'] * 1024)} | {mb(row['objdump -d']['max_rss_kb'] * 1024)} | "
          f"{mb(row['nm -D']['max_rss_kb'] * 1024)} | {c / size:.2f}× |")

print('\n## Inside the VM\n')
print('| measurement | value |')
print('|---|---:|')
for r in vm:
    if r['what'] == 'scan':
        print(f"| whole-project scan, {r['libraries']} NIFs, `Callconv.check_document/3` — first call, "
              f"{r['vm_age_ms']} ms after VM start | {r['cold_ms']:.1f} ms |")
        print(f"| whole-project scan, {r['libraries']} NIFs — warm median | {r['median_ms']:.1f} ms |")
    elif r['what'] == 'rescan':
        print(f"| project scan through `Callconv.Scan.check/4`, {r['libraries']} NIFs, no cache — median | {r['uncached_ms']:.1f} ms |")
        print(f"| the same, filling an empty result cache ({r['entries']} entries written) | {r['fill_ms']:.1f} ms |")
        print(f"| re-scan of the unchanged project, every report from the cache ({r['hits']} hits) — median | {r['median_ms']:.1f} ms |")
    elif r['what'] == 'nif-check':
        print(f"| `Callconv.check/2` of `{os.path.basename(r['file'])}` ({mb(r['size'])}) | {r['median_ms']:.2f} ms |")
    elif r['what'] == 'load' and 'median_us' in r:
        print(f"| load of hello_nif.so, {r['arm']} ({r['runs']} runs) | {r['median_us'] / 1000:.3f} ms |")
    elif r['what'] == 'load':
        print(f"| {r['arm']} | unavailable: {r['unavailable']} |")
