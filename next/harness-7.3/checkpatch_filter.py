#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Filter checkpatch --terse --show-types output of one patch (stdin)
against the accepted exceptions: checkpatch_filter.py EXCEPTIONS PATCH.
Prints what remains and fails if anything does, or if an exception does
not match exactly its count (so stale exceptions are noticed)."""

import re
import sys

exceptions, patch = sys.argv[1:]
allowed = {}
for line in open(exceptions):
    if line.startswith('#') or not line.strip():
        continue
    name, kind, count = line.split()[:3]
    if name == patch:
        allowed[kind] = int(count)

seen = {}
left = []
for line in sys.stdin.read().splitlines():
    if not line.strip():
        continue
    m = re.search(r': (?:ERROR|WARNING|CHECK):([A-Z0-9_]+):', line)
    kind = m.group(1) if m else None
    if kind in allowed:
        seen[kind] = seen.get(kind, 0) + 1
        continue
    left.append(line)

for kind, count in allowed.items():
    if seen.get(kind, 0) != count:
        left.append(f'exception {kind} expects {count} report(s), '
                    f'got {seen.get(kind, 0)}')
print('\n'.join(left))
sys.exit(1 if left else 0)
