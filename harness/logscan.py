#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Read kernel logs and KUnit JSON results of the harness runs.

  logscan.py reports LOG                 list the BUG/WARNING/lockdep/KASAN
                                         reports in LOG, one key per line
  logscan.py newreports BASELOG LOG      reports in LOG beyond those of BASELOG
  logscan.py kasan LOG                   KASAN reports in LOG
  logscan.py lockdep LOG                 lockdep reports in LOG
  logscan.py cases JSON [SUITE...]       count case results, check suites
  logscan.py selftests LOG               parse the dma-buf boot selftests
"""

import collections
import json
import re
import sys

def strip_prefix(line):
    # kunit.py logs keep the console line as is; drop a printk timestamp
    return re.sub(r'^\[\s*\d+\.\d+\]\s*', '', line.rstrip('\n'))


# Reports of lockdep and of the debug options next to it. Lockdep prints
# only its first report and then switches itself off, so which one an
# in-tree suite triggers first varies from run to run: they are compared as
# one kind, and the series' suites run alone to be checked for any.
LOCKDEP = re.compile(
    r'possible (circular|recursive) locking|still has locks held|'
    r'bad unlock balance|inconsistent lock state|held lock freed|'
    r'possible irq lock inversion|suspicious RCU usage|'
    r'DEBUG_LOCKS_WARN_ON|Invalid wait context|'
    r'BUG: sleeping function called from invalid context|'
    r'BUG: scheduling while atomic|BUG: workqueue leaked lock|'
    r'lock held when returning to user space')


def keys(path):
    out = []
    for raw in open(path, errors='replace'):
        line = strip_prefix(raw)
        if LOCKDEP.search(line):
            out.append('lockdep report')
            continue
        m = re.match(r'.*?(WARNING: CPU: \d+ PID: \d+ at (\S+) (\S+))', line)
        if m:
            where = re.sub(r':\d+$', '', m.group(2))
            func = re.sub(r'\+0x.*', '', m.group(3))
            # no symbol, only an address: it moves between builds
            func = re.sub(r'^0x[0-9a-f]+$', 'X', func)
            out.append(f'WARNING at {where} {func}')
            continue
        m = re.search(r'(BUG: .*|WARNING: .*|INFO: .*|kernel BUG at \S+|'
                      r'Kernel panic.*|DEBUG_LOCKS_WARN_ON.*|UBSAN: .*|'
                      r'unreferenced object)', line)
        if m:
            key = m.group(1)
            key = re.sub(r'0x[0-9a-f]+', 'X', key)
            key = re.sub(r':\d+', '', key)
            key = re.sub(r'\b\d+\b', 'N', key)
            key = re.sub(r'\s*(\(\S+\))?\s*$', '', key)
            out.append(key)
    return out


def newreports(base, log):
    have = collections.Counter(keys(base))
    new = collections.Counter(keys(log))
    extra = []
    for k, n in new.items():
        if n > have.get(k, 0):
            extra.append(f'{k}  ({n} here, {have.get(k, 0)} on the base)')
    for e in extra:
        print(e)
    print(f'{sum(new.values())} reports, {sum(have.values())} on the base, '
          f'{len(extra)} new')
    return 1 if extra else 0


def lockdep(log):
    found = [strip_prefix(l) for l in open(log, errors='replace')
             if LOCKDEP.search(l)]
    for f in found:
        print(f)
    print(f'{len(found)} lockdep reports')
    return 1 if found else 0


def kasan(log):
    found = [strip_prefix(l) for l in open(log, errors='replace')
             if 'KASAN' in l and ('BUG' in l or 'report' in l.lower())]
    for f in found:
        print(f)
    print(f'{len(found)} KASAN reports')
    return 1 if found else 0


def walk(group, suite=None):
    for case in group.get('test_cases', []):
        yield suite or group['name'], case['name'], case['status']
    for sub in group.get('sub_groups', []):
        yield from walk(sub, suite or sub['name'])


def cases(path, suites):
    data = json.load(open(path))
    count = collections.Counter()
    per_suite = collections.defaultdict(collections.Counter)
    for suite, name, status in walk(data):
        count[status] += 1
        per_suite[suite][status] += 1
        if status not in ('PASS', 'SKIP'):
            print(f'{status}: {suite}.{name}')
    missing = [s for s in suites if s not in per_suite]
    for s in missing:
        print(f'MISSING suite: {s}')
    for s in suites:
        if s in per_suite:
            c = per_suite[s]
            print(f'suite {s}: {c["PASS"]} passed, '
                  f'{sum(c.values()) - c["PASS"] - c["SKIP"]} failed, '
                  f'{c["SKIP"]} skipped')
    failed = sum(count.values()) - count['PASS'] - count['SKIP']
    print(f'CASES {count["PASS"]} {failed} {count["SKIP"]}')
    return 1 if failed or missing or not count['PASS'] else 0


SELFTESTS = ['sanitycheck', 'dma_fence', 'dma_fence_chain',
             'dma_fence_unwrap', 'dma_resv']


def selftests(log):
    top, sub, errors = [], 0, []
    for raw in open(log, errors='replace'):
        line = strip_prefix(raw)
        m = re.search(r'dma-buf: Running (\S+)', line)
        if m:
            if '/' in m.group(1):
                sub += 1
            else:
                top.append(m.group(1))
        if re.search(r'dma-buf/\S+: .* failed with error', line) or \
           'conflicting with selftest' in line:
            errors.append(line)
    missing = [t for t in SELFTESTS if t not in top]
    for e in errors:
        print(e)
    for m in missing:
        print(f'selftest {m} did not run')
    print(f'dma-buf selftests: {len(top)} groups, {sub} subtests run, '
          f'{len(errors)} failed')
    return 1 if errors or missing or not sub else 0


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == 'reports':
        for k in keys(args[0]):
            print(k)
        return 0
    if cmd == 'newreports':
        return newreports(*args)
    if cmd == 'kasan':
        return kasan(*args)
    if cmd == 'lockdep':
        return lockdep(*args)
    if cmd == 'cases':
        return cases(args[0], args[1:])
    if cmd == 'selftests':
        return selftests(*args)
    sys.exit(__doc__)


if __name__ == '__main__':
    sys.exit(main())
