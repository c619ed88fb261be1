#!/usr/bin/env python3
"""Medians of GNU time lines (`/usr/bin/time -f '%e %U %S %M'`, one line per run).

    benches/time_summary.py FILE LABEL

Prints: LABEL: wall median (min), CPU median (user + system), peak RSS median (max), runs.
Used by benches/ab.sh and benches/search/run.sh.
"""
import statistics as s
import sys

rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
wall = [r[0] for r in rows]
cpu = [r[1] + r[2] for r in rows]
rss = [r[3] / 1024 for r in rows]
print(f"{sys.argv[2]}: wall median {s.median(wall):.3f} s (min {min(wall):.3f}) | "
      f"CPU median {s.median(cpu):.3f} s | peak RSS median {s.median(rss):.0f} MiB "
      f"(max {max(rss):.0f}) | {len(rows)} runs")
