#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Line coverage of what the series adds, from an lcov tracefile.

  coverage.py INFO TREE BASEREF REF MIN [--uncovered FILE] [--objdir DIR]

INFO is lcov's tracefile of a KUnit run, TREE the git tree the kernel was
built from, BASEREF..REF the series. For every .c/.h file the series adds or
modifies, the lines REF adds (git diff -U0) that the compiler made
executable (lines with a DA record) are counted, and those the run
executed. Files the kernel of the run does not build have no record: they
are listed as not built. Test files (tests/ directories, st-*.c, *_test.c)
are counted apart: the gate is on the code under test, which must have at
least MIN percent of its added executable lines executed.

Prints a table (markdown) and the added lines left unexecuted, grouped
into runs of consecutive lines; with --uncovered, writes those to FILE.
With --objdir, the build directory of the kernel: a .c file of the series
that was compiled there (its .o exists) must have coverage data, or the
check fails (a file that lost its instrumentation would otherwise drop out
of the count unnoticed).
"""

import collections
import os
import re
import subprocess
import sys


def is_test(path):
    name = os.path.basename(path)
    return ('/tests/' in path or name.startswith('st-') or
            name.endswith('_test.c') or name.endswith('-test.h'))


def tracefile(path, tree):
    """{file relative to TREE: {line: count}}."""
    out = collections.defaultdict(dict)
    cur = None
    root = os.path.realpath(tree) + '/'
    for line in open(path):
        line = line.strip()
        if line.startswith('SF:'):
            f = os.path.realpath(line[3:])
            cur = out[f[len(root):]] if f.startswith(root) else None
        elif line.startswith('DA:') and cur is not None:
            n, c = line[3:].split(',')[:2]
            n = int(n)
            cur[n] = max(cur.get(n, 0), int(c))
        elif line == 'end_of_record':
            cur = None
    return out


def added_lines(tree, base, ref, path):
    diff = subprocess.run(['git', '-C', tree, 'diff', '-U0', '--no-renames', '--no-color',
                           base, ref, '--', path], capture_output=True,
                          text=True, check=True).stdout
    lines = set()
    for m in re.finditer(r'^@@ -\S+ \+(\d+)(?:,(\d+))? @@', diff, re.M):
        start, count = int(m.group(1)), int(m.group(2) or 1)
        lines.update(range(start, start + count))
    return lines


def runs(lines):
    out, lines = [], sorted(lines)
    for n in lines:
        if out and out[-1][1] == n - 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return [f'{a}' if a == b else f'{a}-{b}' for a, b in out]


def main():
    args = sys.argv[1:]
    uncovered_file = objdir = None
    if '--uncovered' in args:
        i = args.index('--uncovered')
        uncovered_file = args[i + 1]
        del args[i:i + 2]
    if '--objdir' in args:
        i = args.index('--objdir')
        objdir = args[i + 1]
        del args[i:i + 2]
    if len(args) != 5:
        sys.exit(__doc__)
    info, tree, base, ref, minimum = args
    data = tracefile(info, tree)
    files = subprocess.run(['git', '-C', tree, 'diff', '--name-only',
                            '--no-renames', '--diff-filter=AM', base, ref,
                            '--', '*.c', '*.h'], capture_output=True,
                           text=True, check=True).stdout.split()
    rows, missed, not_built, lost = [], [], [], []
    total = collections.Counter()
    for f in files:
        if f not in data:
            if not f.endswith('.c'):
                continue
            if objdir and os.path.exists(os.path.join(objdir, f[:-2] + '.o')):
                lost.append(f)
            else:
                not_built.append(f)
            continue
        added = added_lines(tree, base, ref, f)
        lines = {n: c for n, c in data[f].items() if n in added}
        if not lines:
            continue
        hit = sum(1 for c in lines.values() if c)
        kind = 'test' if is_test(f) else 'code'
        total[kind, 'lines'] += len(lines)
        total[kind, 'hit'] += hit
        rows.append((kind, f, len(lines), hit))
        left = [n for n, c in lines.items() if not c]
        if left:
            missed.append(f'{f}: {", ".join(runs(left))}')
    print('| file | kind | added executable lines | executed | % |')
    print('| --- | --- | --- | --- | --- |')
    for kind, f, n, hit in sorted(rows, key=lambda r: (r[0], r[1])):
        print(f'| `{f}` | {kind} | {n} | {hit} | {100.0 * hit / n:.1f} |')
    for kind in ('code', 'test'):
        n, hit = total[kind, 'lines'], total[kind, 'hit']
        if n:
            print(f'| all {kind} | | {n} | {hit} | {100.0 * hit / n:.1f} |')
    print()
    print('Not built in this kernel (no coverage data; compile-checked by '
          'the bisect and sparse-w1 gates):')
    for f in not_built:
        print(f'  {f}')
    print()
    print('Added executable lines not executed:')
    for m in missed:
        print(f'  {m}')
    if uncovered_file:
        with open(uncovered_file, 'w') as out:
            out.write('\n'.join(missed) + '\n')
    for f in lost:
        print(f'{f}: compiled in {objdir} but no coverage data')
    n, hit = total['code', 'lines'], total['code', 'hit']
    if lost:
        return 1
    if not n:
        print('no coverage data for any file of the series')
        return 1
    pct = 100.0 * hit / n
    print(f'code under test: {hit} of {n} added executable lines executed, '
          f'{pct:.1f} % (minimum {minimum} %)')
    return 0 if pct >= float(minimum) else 1


if __name__ == '__main__':
    sys.exit(main())
