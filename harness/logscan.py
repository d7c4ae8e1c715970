#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Read kernel logs and KUnit JSON results of the harness runs.

  logscan.py reports LOG                 list the BUG/WARNING/lockdep/KASAN
                                         reports in LOG, one key per line
  logscan.py selfcheck LOG               check that LOG has KTAP output and
                                         that every report line in it was
                                         understood (prints a summary)
  logscan.py newreports BASELOG LOG      reports in LOG beyond those of
                                         BASELOG (selfcheck of both first)
  logscan.py kasan LOG                   KASAN reports in LOG, but those
                                         harness/kunit/upstream-kasan lists
  logscan.py lockdep LOG                 lockdep reports in LOG
  logscan.py lockdepcycle LOG HELD WANTED SITE
                                         LOG has exactly one lockdep report,
                                         a circular locking dependency in
                                         which the task holds lock class
                                         HELD and takes lock class WANTED in
                                         function SITE
  logscan.py kcsan TREE FILES LOG...     KCSAN reports in the LOGs: fails on
                                         one with a function of a file listed
                                         in FILES (one path of TREE per line:
                                         the files the series adds or
                                         modifies) in either stack; prints the
                                         others, keyed, for the comparison
                                         with the base
  logscan.py cases JSON [SUITE...]       count case results, check suites:
                                         every case passes or skips, each
                                         SUITE is there
  logscan.py casesvs BASEJSON JSON [--all] [SUITE...] [--own SUITE...]
                                         cases of JSON against the base run:
                                         fails on a case that fails here but
                                         passes, skips or is absent on the
                                         base; cases failing on the base too
                                         are reported, not failed on. Each
                                         SUITE is there and keeps the cases
                                         it has on the base. --own: suites of
                                         the series, they must be there and
                                         pass outright. --all: every case of
                                         the base run is there (a run that
                                         stopped part way fails).
"""

import collections
import os
import json
import re
import sys

# The mainline dma-buf suites (dmabuf_kunit, drivers/dma-buf/st-*.c).
DMABUF_SUITES = ['dma-buf-fence', 'dma-buf-fence-chain',
                 'dma-buf-fence-unwrap', 'dma-buf-resv']


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
    r'-safe -> \S+-unsafe lock order|Nested lock was not taken|'
    r'bad contention detected|chain_key collision|'
    r'DEBUG_LOCKS_WARN_ON|Invalid wait context|'
    r'BUG: MAX_LOCK\S* too low|BUG: MAX_STACK_TRACE_ENTRIES too low|'
    r'BUG: key \S+ has not been registered|'
    r'BUG: looking up invalid subclass|'
    r'INFO: trying to register non-static key|'
    r'BUG: sleeping function called from invalid context|'
    r'BUG: scheduling while atomic|BUG: workqueue leaked|'
    r'BUG: assuming (atomic|non migratable) context|'
    r'lock held when returning to user space')

# The line __warn() prints (WARN_ON() and friends), in the forms of the
# kernels the harness has run on. FILE and LINE are missing when the
# architecture's bug table does not record them.
#   7.3:  WARNING: FILE:LINE at FUNC+OFF/LEN [MOD], CPU#0: TASK/PID
#         WARNING: at FUNC+OFF/LEN [MOD], CPU#0: TASK/PID
#   6.12: WARNING: CPU: 0 PID: 1 at FILE:LINE FUNC+OFF/LEN [MOD]
#         WARNING: CPU: 0 PID: 1 at FUNC+OFF/LEN [MOD]
WARN_FORMATS = [
    re.compile(r'WARNING: (?P<file>[^\s:]+):\d+ at (?P<func>\S+?)'
               r'(?: \[\S+\])?, CPU#\d+: .*/\d+$'),
    re.compile(r'WARNING: at (?P<func>\S+?)(?: \[\S+\])?, CPU#\d+: .*/\d+$'),
    re.compile(r'WARNING: CPU: \d+ PID: \d+ at (?P<file>[^\s:]+):\d+ '
               r'(?P<func>\S+)'),
    re.compile(r'WARNING: CPU: \d+ PID: \d+ at (?P<func>\S+)'),
]

# Any report line. What is not lockdep's or __warn()'s is keyed as it is,
# with numbers and addresses masked.
REPORT = re.compile(r'(BUG: .*|WARNING: .*|INFO: .*|kernel BUG at \S+|'
                    r'Kernel panic.*|DEBUG_LOCKS_WARN_ON.*|UBSAN: .*|'
                    r'unreferenced object)')

# Lines starting with "WARNING:" that are neither lockdep's nor __warn()'s,
# printed as plain messages by code the runs reach.
PLAIN_WARNINGS = re.compile(
    r'WARNING: Flushing system-wide workqueues')

# The marker WARN() and BUG() print before their report.
CUT_HERE = re.compile(r'-+\[ cut here \]-+')
# What printk prints before it prints a message again that another CPU's
# output interrupted on the console (seen on the SMP boots)
REPLAY = re.compile(r'\*\* replaying previous printk message \*\*')

# KTAP/TAP output of KUnit in a kernel log.
KTAP = re.compile(r'^\s*(KTAP|TAP) version \d+')


# Top-level directories of a kernel tree.
TOPDIRS = {'arch', 'block', 'certs', 'crypto', 'drivers', 'fs', 'include',
           'init', 'io_uring', 'ipc', 'kernel', 'lib', 'mm', 'net', 'rust',
           'samples', 'scripts', 'security', 'sound', 'tools', 'usr', 'virt'}


def srcpath(path):
    """FILE of a WARNING line relative to the top of the tree. Built with O=,
    it is the path the compiler was given: relative to the build directory
    ("../../series/drivers/..."), so it names the tree, which differs
    between the base and the series runs."""
    parts = [p for p in path.split('/') if p not in ('', '.', '..')]
    for i, p in enumerate(parts):
        if p in TOPDIRS and i + 1 < len(parts):
            return '/'.join(parts[i:])
    return '/'.join(parts)


def warn_key(line):
    """The key of a __warn() line, None if it is not one."""
    for fmt in WARN_FORMATS:
        m = fmt.search(line)
        if m:
            func = re.sub(r'\+0x.*', '', m.group('func'))
            # no symbol, only an address: it moves between builds
            func = re.sub(r'^0x[0-9a-f]+$', 'X', func)
            where = m.groupdict().get('file')
            return f'WARNING at {srcpath(where)} {func}' if where \
                else f'WARNING at {func}'
    return None


class Scan:
    """The reports of one kernel log.

    keys: one key per report line; unparsed: "WARNING:" lines of a form
    this script does not know (a kernel that changed __warn()'s format);
    orphan_cuts: "cut here" markers not followed by a report; ktap: number
    of KTAP/TAP version lines; lines: number of lines.
    """

    def __init__(self, path):
        self.keys, self.unparsed, self.orphan_cuts = [], [], []
        self.ktap = 0
        lines = [strip_prefix(raw) for raw in open(path, errors='replace')]
        self.lines = len(lines)
        cut_at = None
        for i, line in enumerate(lines):
            if KTAP.match(line):
                self.ktap += 1
            if CUT_HERE.search(line):
                # a marker printed again after the replay notice is one
                # marker, not an orphan and another one
                between = lines[cut_at + 1:i] if cut_at is not None else []
                replayed = between and all(REPLAY.search(b) for b in between)
                if cut_at is not None and not replayed:
                    self.orphan_cuts.append(lines[cut_at])
                cut_at = i
                continue
            key = self.key(line)
            # DEBUG_LOCKS_WARN_ON() is a WARN() whose message follows the
            # WARNING line: one lockdep report (the next line's key)
            if key and key.startswith('WARNING at ') and i + 1 < len(lines) \
                    and lines[i + 1].startswith('DEBUG_LOCKS_WARN_ON'):
                cut_at = None
                continue
            if key is None:
                if cut_at is not None and i - cut_at > 5:
                    self.orphan_cuts.append(lines[cut_at])
                    cut_at = None
                continue
            cut_at = None
            self.keys.append(key)
        if cut_at is not None:
            self.orphan_cuts.append(lines[cut_at])

    def key(self, line):
        if LOCKDEP.search(line):
            return 'lockdep report'
        key = warn_key(line)
        if key:
            return key
        m = REPORT.search(line)
        if not m:
            return None
        key = m.group(1)
        if key.startswith('WARNING:') and not PLAIN_WARNINGS.match(key):
            self.unparsed.append(line)
        key = re.sub(r'0x[0-9a-f]+', 'X', key)
        key = re.sub(r':\d+', '', key)
        key = re.sub(r'\b\d+\b', 'N', key)
        key = re.sub(r'\s*(\(\S+\))?\s*$', '', key)
        return key

    def problems(self):
        """What makes this log unusable for a comparison."""
        out = []
        if not self.lines:
            out.append('the log is empty')
        elif not self.ktap:
            out.append('the log has no KTAP output (the kernel did not run '
                       'the tests)')
        for line in self.unparsed:
            out.append(f'WARNING line of an unknown form: {line}')
        for line in self.orphan_cuts:
            out.append(f'"cut here" without a report this script knows '
                       f'after it: {line}')
        return out

    def summary(self):
        warns = [k for k in self.keys if k.startswith('WARNING at ')]
        return (f'{len(self.keys)} reports: {len(warns)} WARNINGs in '
                f'{len(set(warns))} places, '
                f'{self.keys.count("lockdep report")} lockdep, '
                f'{len(self.keys) - len(warns) - self.keys.count("lockdep report")}'
                f' other')


def keys(path):
    return Scan(path).keys


def selfcheck(path, quiet=False):
    scan = Scan(path)
    problems = scan.problems()
    for p in problems:
        print(f'{path}: {p}')
    if not quiet or problems:
        print(f'{path}: {scan.lines} lines, {scan.ktap} KTAP headers, '
              f'{scan.summary()}')
    if not quiet:
        for k, n in sorted(collections.Counter(scan.keys).items()):
            print(f'  {n:4} {k}')
    return scan, (1 if problems else 0)


def order_dependent(kind, name='order-dependent'):
    """Entries of one kind (case, report) of harness/kunit/NAME, a list of
    known results with their reasons (order-dependent, upstream-kasan)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'kunit', name)
    out = []
    if os.path.exists(path):
        for line in open(path):
            line = line.rstrip('\n')
            if line.startswith(kind + ' '):
                out.append(line[len(kind) + 1:])
    return out


def newreports(base, log):
    base_scan, rc_base = selfcheck(base, quiet=True)
    scan, rc = selfcheck(log, quiet=True)
    if rc_base or rc:
        print('cannot compare the reports: fix the log or this script')
        return 1
    have = collections.Counter(base_scan.keys)
    new = collections.Counter(scan.keys)
    extra = []
    tolerated = collections.Counter(order_dependent('report'))
    for k, n in new.items():
        if n > have.get(k, 0) + tolerated[k]:
            extra.append(f'{k}  ({n} here, {have.get(k, 0)} on the base)')
        elif n > have.get(k, 0):
            print(f'order-dependent: {k}  ({n} here, {have.get(k, 0)} on '
                  f'the base; see harness/kunit/order-dependent)')
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


def lockdepcycle(log, held, wanted, site):
    """The one lockdep report of LOG is the cycle a suite provokes on
    purpose: "is trying to acquire lock:" is followed by a line naming
    (WANTED) at SITE+..., "but task is already holding lock:" by one naming
    (HELD). Any other lockdep report, or none, fails."""
    lines = [strip_prefix(l).rstrip('\n') for l in open(log, errors='replace')]
    reports = [i for i, l in enumerate(lines) if LOCKDEP.search(l)]
    print(f'{len(reports)} lockdep reports')
    for i in reports:
        print(lines[i])
    if len(reports) != 1:
        print('expected exactly one lockdep report')
        return 1
    first = reports[0]
    end = first + 200
    rc = 0
    if 'possible circular locking dependency' not in lines[first]:
        print('not a circular locking dependency')
        rc = 1

    def after(header):
        for j in range(first, min(end, len(lines) - 1)):
            if header in lines[j]:
                return lines[j + 1]
        return ''
    acquire = after('is trying to acquire lock:')
    holding = after('but task is already holding lock:')
    print(f'acquiring: {acquire.strip()}')
    print(f'holding:   {holding.strip()}')
    if f'({wanted})' not in acquire or f' at: {site}+' not in acquire:
        print(f'the lock taken is not {wanted} in {site}')
        rc = 1
    if f'({held})' not in holding:
        print(f'the lock held is not {held}')
        rc = 1
    return rc


KASAN_FUNC = re.compile(r'BUG: KASAN: \S+ in ([A-Za-z0-9_.]+)')
SUITE = re.compile(r'^    # Subtest: (\S+)')


def kasan(log):
    """KASAN reports of LOG, each with the KUnit suite that was running.
    A report listed in harness/kunit/upstream-kasan (in-tree test code, with
    the reason there) is printed and not failed on; any other fails."""
    known = {tuple(e.split()) for e in order_dependent('report',
                                                      'upstream-kasan')}
    suite = None
    found, tolerated = [], []
    for raw in open(log, errors='replace'):
        line = strip_prefix(raw)
        m = SUITE.match(line)
        if m:
            suite = m.group(1)
        if 'KASAN' not in line or not ('BUG' in line or
                                       'report' in line.lower()):
            continue
        m = KASAN_FUNC.search(line)
        func = m.group(1) if m else None
        if (suite, func) in known:
            tolerated.append(f'{line}  (suite {suite}: in-tree, see '
                             f'harness/kunit/upstream-kasan)')
        else:
            found.append(f'{line}  (suite {suite})')
    for f in tolerated + found:
        print(f)
    print(f'{len(found)} KASAN reports, {len(tolerated)} in in-tree test '
          f'code (harness/kunit/upstream-kasan)')
    return 1 if found else 0


KCSAN_BUG = re.compile(r'BUG: KCSAN: (\S+) in (.*)$')
FRAME = re.compile(r'^\s*(?:\|?\s*\+-> reordered to: )?([A-Za-z_][\w.]*)'
                   r'\+0x[0-9a-f]+/0x[0-9a-f]+')
RULE = re.compile(r'^={30,}$')
# a function's name and "(" at column 0, or after its return type there
CDEF = re.compile(r'^(?:[A-Za-z_][\w \t*]*?[ \t*])?([A-Za-z_]\w*)\s*\(')


def functions(path):
    """Names of the functions defined in a C file or header: a line at
    column 0 naming a function, followed by a body before any ';'. Macros
    that generate functions are not seen, and a static function of another
    file with the same name is taken for this one (which only makes the
    check stricter)."""
    text = open(path, errors='replace').read()
    out = set()
    for m in re.finditer(r'(?m)' + CDEF.pattern, text):
        if re.match(r'(return|if|else|while|for|switch|typedef|do)\b',
                    m.group(0)):
            continue
        rest = text[m.end():]
        brace, semi = rest.find('{'), rest.find(';')
        if brace >= 0 and (semi < 0 or brace < semi):
            out.add(m.group(1))
    return out


def kcsan_reports(log):
    """[(title, frames)] of the KCSAN reports of LOG: the "BUG: KCSAN:"
    line and the functions of both stacks."""
    out, cur = [], None
    for raw in open(log, errors='replace'):
        line = strip_prefix(raw)
        m = KCSAN_BUG.search(line)
        if m:
            # the racing functions of the title count as frames too
            cur = (f'{m.group(1)} in {m.group(2)}',
                   [re.sub(r'\+0x.*', '', f.strip())
                    for f in m.group(2).split(' / ')])
            out.append(cur)
            continue
        if cur is None:
            continue
        if RULE.match(line.strip()):
            cur = None
            continue
        m = FRAME.match(line)
        if m:
            # drop compiler suffixes: .isra.0, .cold, .constprop.0, ...
            cur[1].append(m.group(1).split('.')[0])
    return out


def kcsan(tree, files, logs):
    """KCSAN reports of the LOGs. One with a function of a file the series
    adds or modifies in either stack fails; the others are printed keyed as
    "KCSAN: TYPE in FUNC / FUNC" for the comparison with the base run."""
    ours = {}
    for f in open(files).read().split():
        path = os.path.join(tree, f)
        if os.path.exists(path) and f.endswith(('.c', '.h')):
            for fn in functions(path):
                ours.setdefault(fn, f)
    rc, n = 0, 0
    for log in logs:
        for title, frames in kcsan_reports(log):
            n += 1
            hits = sorted({f'{fn} ({ours[fn]})' for fn in frames
                           if fn in ours})
            if hits:
                print(f'{log}: KCSAN: {title}: involves the series: '
                      f'{", ".join(hits)}')
                rc = 1
            else:
                print(f'{log}: KCSAN: {title}: upstream code only')
    print(f'{n} KCSAN reports, {len(ours)} functions of the series\' files '
          f'looked for')
    return rc


def walk(group, suite=None, prefix=''):
    """(suite, case, status) of every case; the case of a parameterised
    test is CASE.PARAM."""
    for case in group.get('test_cases', []):
        yield suite or group['name'], prefix + case['name'], case['status']
    for sub in group.get('sub_groups', []):
        if suite is None:
            yield from walk(sub, sub['name'])
        else:
            yield from walk(sub, suite, prefix + sub['name'] + '.')


def load(path):
    """{suite: {case: status}} of a kunit.py JSON file, None if unreadable."""
    try:
        data = json.load(open(path))
    except (OSError, ValueError) as e:
        print(f'{path}: no KUnit results: {e}')
        return None
    out = collections.defaultdict(dict)
    for suite, name, status in walk(data):
        # parameters of one case may share a name: number the repeats
        key, n = name, 1
        while key in out[suite]:
            n += 1
            key = f'{name}#{n}'
        out[suite][key] = status
    if not out:
        print(f'{path}: no KUnit results: no test case in it')
        return None
    return out


def ok(status):
    return status in ('PASS', 'SKIP')


def cases(path, suites):
    results = load(path)
    if results is None:
        print('CASES 0 1 0')
        return 1
    count = collections.Counter()
    for suite, per in results.items():
        for name, status in per.items():
            count[status] += 1
            if not ok(status):
                print(f'{status}: {suite}.{name}')
    # On SMP, a report printed from another CPU while the console prints
    # a suite's "# Subtest:" header can cut that line short (printk then
    # replays it whole, after the cut copy kunit.py took the name from):
    # a suite of the results whose name is the start of the one expected,
    # and the only one, is that suite.
    for s in suites:
        if s in results:
            continue
        cut = [r for r in results
               if len(r) >= 8 and s.startswith(r) and r not in suites]
        if len(cut) == 1:
            print(f'suite header cut short in the log: "{cut[0]}" is {s}')
            results[s] = results.pop(cut[0])
    missing = [s for s in suites if s not in results]
    for s in missing:
        print(f'MISSING suite: {s}')
    for s in suites:
        if s in results:
            c = collections.Counter(results[s].values())
            print(f'suite {s}: {c["PASS"]} passed, '
                  f'{sum(c.values()) - c["PASS"] - c["SKIP"]} failed, '
                  f'{c["SKIP"]} skipped')
    failed = sum(count.values()) - count['PASS'] - count['SKIP']
    print(f'CASES {count["PASS"]} {failed} {count["SKIP"]}')
    return 1 if failed or missing or not count['PASS'] else 0


def casesvs(basepath, path, args):
    every = '--all' in args
    args = [a for a in args if a != '--all']
    if '--own' in args:
        i = args.index('--own')
        suites, own = args[:i], args[i + 1:]
    else:
        suites, own = args, []
    base, results = load(basepath), load(path)
    if base is None or results is None:
        print('cannot compare the cases')
        print('CASES 0 1 0 0')
        return 1
    count = collections.Counter()
    rc = 0
    for suite, per in sorted(results.items()):
        for name, status in sorted(per.items()):
            was = base.get(suite, {}).get(name, 'absent')
            if ok(status):
                count[status] += 1
                if status == 'SKIP' and was == 'PASS':
                    print(f'note: {suite}.{name}: SKIP here, PASS on the base')
            elif suite in own:
                count['FAIL'] += 1
                print(f'{status}: {suite}.{name} (a suite of the series)')
                rc = 1
            elif not ok(was) and was != 'absent':
                count['KNOWN'] += 1
                print(f'known: {suite}.{name}: {status} here, {was} on the '
                      f'base')
            elif f'{suite}.{name}' in order_dependent('case'):
                count['KNOWN'] += 1
                print(f'order-dependent: {suite}.{name}: {status} here, '
                      f'{was} on the base (harness/kunit/order-dependent)')
            else:
                count['FAIL'] += 1
                print(f'{status}: {suite}.{name} ({was} on the base)')
                rc = 1
    for s in suites + own:
        if s not in results:
            print(f'MISSING suite: {s}')
            rc = 1
            continue
        gone = sorted(set(base.get(s, {})) - set(results[s]))
        for name in gone:
            print(f'MISSING case: {s}.{name} ({base[s][name]} on the base)')
            rc = 1
        c = collections.Counter(results[s].values())
        print(f'suite {s}: {c["PASS"]} passed, '
              f'{sum(c.values()) - c["PASS"] - c["SKIP"]} failed, '
              f'{c["SKIP"]} skipped'
              f'{"" if s in base else " (not on the base)"}')
    # --all: every case of the base run ran here too. A kernel that crashed
    # or hung part way stops the run, and kunit.py's exit status cannot
    # tell that from the cases that fail on the base as well.
    for s in sorted(set(base) - set(suites + own)) if every else []:
        gone = sorted(set(base[s]) - set(results.get(s, {})))
        for name in gone:
            print(f'MISSING case: {s}.{name} ({base[s][name]} on the base)')
            rc = 1
    if not count['PASS']:
        rc = 1
    print(f'{count["KNOWN"]} cases fail on the base too or are order-dependent, '
          f'{count["FAIL"]} '
          f'other failures')
    print(f'CASES {count["PASS"]} {count["FAIL"]} {count["SKIP"]} '
          f'{count["KNOWN"]}')
    return rc


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == 'reports':
        for k in keys(args[0]):
            print(k)
        return 0
    if cmd == 'selfcheck':
        return selfcheck(args[0])[1]
    if cmd == 'newreports':
        return newreports(*args)
    if cmd == 'kasan':
        return kasan(*args)
    if cmd == 'lockdep':
        return lockdep(*args)
    if cmd == 'lockdepcycle':
        return lockdepcycle(*args)
    if cmd == 'kcsan':
        return kcsan(args[0], args[1], args[2:])
    if cmd == 'cases':
        return cases(args[0], args[1:])
    if cmd == 'casesvs':
        return casesvs(args[0], args[1], args[2:])
    sys.exit(__doc__)


if __name__ == '__main__':
    sys.exit(main())
