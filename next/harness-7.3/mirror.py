#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Mirror of the files the series adds, and MAINTAINERS.snippet.

  mirror.py export REPO REV ROOT   write the mirror and snippet for REV
  mirror.py check REPO REV ROOT    compare them with what REV produces

REPO is the base git repository (tag "base"), REV the commit at the end of
the series and ROOT the project checkout.
"""

import hashlib
import os
import subprocess
import sys

MIRROR_DIRS = ('drivers/', 'include/', 'Documentation/', 'tools/testing/')
SNIPPET = 'MAINTAINERS.snippet'


def git(repo, *args, binary=False):
    out = subprocess.run(['git', '-C', repo] + list(args), check=True,
                         stdout=subprocess.PIPE).stdout
    return out if binary else out.decode()


def added_files(repo, rev):
    out = git(repo, 'diff', '--no-renames', '--diff-filter=A', '--name-only',
              '-z', 'base', rev)
    return sorted(p for p in out.split('\0') if p)


def snippet(repo, rev):
    """The lines the series adds to MAINTAINERS, in order."""
    diff = git(repo, 'diff', '--no-renames', '-U0', 'base', rev, '--',
               'MAINTAINERS')
    lines = [l[1:] for l in diff.splitlines()
             if l.startswith('+') and not l.startswith('+++')]
    return ('\n'.join(lines) + '\n') if lines else ''


def mirrored_now(root):
    found = []
    for top in MIRROR_DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                found.append(os.path.relpath(os.path.join(dirpath, f), root))
    return sorted(found)


def expected(repo, rev):
    files = {}
    for path in added_files(repo, rev):
        if not path.startswith(MIRROR_DIRS):
            sys.exit(f'error: the series adds {path}, outside the mirrored '
                     f'directories {", ".join(MIRROR_DIRS)}')
        files[path] = git(repo, 'show', f'{rev}:{path}', binary=True)
    return files


def base_blobs(repo):
    out = git(repo, 'ls-tree', '-r', '-z', 'base')
    paths, blobs = set(), set()
    for entry in out.split('\0'):
        if not entry:
            continue
        meta, path = entry.split('\t', 1)
        paths.add(path)
        blobs.add(meta.split()[2])
    return paths, blobs


def blob_id(data):
    return hashlib.sha1(b'blob %d\0' % len(data) + data).hexdigest()


def export(repo, rev, root):
    want = expected(repo, rev)
    for path in mirrored_now(root):
        if path not in want:
            os.unlink(os.path.join(root, path))
    for path, data in want.items():
        dst = os.path.join(root, path)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        old = open(dst, 'rb').read() if os.path.exists(dst) else None
        if old != data:
            with open(dst, 'wb') as f:
                f.write(data)
    # prune empty directories left behind
    for top in MIRROR_DIRS:
        for dirpath, dirs, files in os.walk(os.path.join(root, top),
                                            topdown=False):
            if not os.listdir(dirpath):
                os.rmdir(dirpath)
    snip = snippet(repo, rev)
    path = os.path.join(root, SNIPPET)
    old = open(path).read() if os.path.exists(path) else None
    if old != snip:
        with open(path, 'w') as f:
            f.write(snip)


def check(repo, rev, root):
    errors = []
    want = expected(repo, rev)
    have = mirrored_now(root)
    for path in have:
        if path not in want:
            errors.append(f'{path}: in the mirror but not added by the series')
    for path, data in want.items():
        dst = os.path.join(root, path)
        if not os.path.exists(dst):
            errors.append(f'{path}: added by the series, missing in the mirror')
        elif open(dst, 'rb').read() != data:
            errors.append(f'{path}: differs from the series')
    snip = snippet(repo, rev)
    path = os.path.join(root, SNIPPET)
    if not os.path.exists(path) or open(path).read() != snip:
        errors.append(f'{SNIPPET}: differs from what the series adds to '
                      'MAINTAINERS')
    paths, blobs = base_blobs(repo)
    for path in have:
        data = open(os.path.join(root, path), 'rb').read()
        if path in paths:
            errors.append(f'{path}: exists upstream; modified upstream files '
                          'live in patches/ only')
        if blob_id(data) in blobs:
            errors.append(f'{path}: is a copy of an upstream file')
    for e in errors:
        print(e)
    print(f'{len(want)} mirrored files checked, {len(errors)} problems')
    return 1 if errors else 0


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ('export', 'check'):
        sys.exit(__doc__)
    cmd, repo, rev, root = sys.argv[1:]
    if cmd == 'export':
        export(repo, rev, root)
        return 0
    return check(repo, rev, root)


if __name__ == '__main__':
    sys.exit(main())
