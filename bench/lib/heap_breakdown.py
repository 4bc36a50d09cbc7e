#!/usr/bin/env python3
"""Per-held-stream heap of one daemon, by holder, from a heaptrack file (bench/heap.sh).

    heap_breakdown.py FILE.zst STREAMS

Reads heaptrack_print's peak report (the allocations live at the moment of peak heap), keeps each
allocation site that holds memory in proportion to the streams (called at least STREAMS/2 times), and
sorts them into what gRPC holds per call (its call arena, the rest of its per-call state), what OpenSSL
holds (TLS sessions to providers, bench/heap.sh --tls) and what the suite's code holds. Prints bytes per
held stream for each, largest first.
"""
import re
import subprocess
import sys

UNITS = {'': 1, 'K': 1024, 'M': 1 << 20, 'G': 1 << 30}


def size(text):
    m = re.match(r'([0-9.]+)([KMG]?)', text)
    return float(m.group(1)) * UNITS[m.group(2)]


def sites(path):
    out = subprocess.run(
        ['heaptrack_print', '-f', path, '--print-peaks', '1', '--print-allocators', '0',
         '--print-leaks', '0', '--print-temporary', '0',
         '--peak-limit', '80', '--sub-peak-limit', '12'],
        capture_output=True, text=True, check=True).stdout.splitlines()
    i = 0
    while i < len(out):
        m = re.match(r'^([0-9.]+[KMG]?) consumed over (\d+) calls from:', out[i])
        i += 1
        if not m:
            continue
        frames = []
        while i < len(out) and out[i].startswith('    '):
            line = out[i].strip()
            if line.startswith('in ') and re.search(r'/lib(crypto|ssl)\.so', line) and frames:
                frames[-1] += ' [OpenSSL]'  # its frames often have no symbol, only the library
            elif not line.startswith('in ') and not line.startswith('at /usr'):
                frames.append(line)
            i += 1
        yield size(m.group(1)), int(m.group(2)), frames


def holder(frames):
    ours = next((f for f in frames if f.startswith('at ../') or 'byok::' in f), None)
    if any('Arena::CreateWithAlloc' in f or 'Arena::AllocZone' in f for f in frames[:3]):
        return 'gRPC call arena', ours
    if any(f.endswith('[OpenSSL]') for f in frames[:3]):
        return 'OpenSSL (TLS sessions)', ours
    grpc_core = ('grpc_core::', 'gpr_', 'grpc_slice', 'grpc::internal::MetadataMap', '0x')
    if ours is None or any(f.startswith(grpc_core) for f in frames[:3]):
        return 'gRPC, other per-call state', ours
    return 'suite code', ours


def main():
    path, streams = sys.argv[1], int(sys.argv[2])
    # One row per holder and allocating function: gRPC allocates a call's state from several threads,
    # which heaptrack reports as separate sites.
    grouped = {}
    for bytes_, calls, frames in sites(path):
        kind, ours = holder(frames)
        top = frames[0][:60] if frames else '?'
        row = grouped.setdefault((kind, top), [0, 0, (ours or '')[:70]])
        row[0] += bytes_
        row[1] += calls
    rows = [(b, c, kind, top, ours) for (kind, top), (b, c, ours) in grouped.items()
            if c >= streams // 2]  # fewer calls than streams: not per stream (start-up, caches)
    totals = {}
    for bytes_, _, kind, _, _ in rows:
        totals[kind] = totals.get(kind, 0) + bytes_
    print(f'  per held stream, by holder (allocation sites called >= {streams // 2} times):')
    for kind, total in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f'    {total / streams:8.0f} B  {kind}')
    print('  largest sites (bytes per held stream, allocations, holder, allocating frame | first suite frame):')
    for bytes_, calls, kind, top, ours in sorted(rows, key=lambda r: -r[0])[:14]:
        print(f'    {bytes_ / streams:8.0f} B {calls:7d}  {kind[:10]:10s} {top} | {ours}')


if __name__ == '__main__':
    main()
