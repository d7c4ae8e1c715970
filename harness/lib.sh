# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers of the series harness. Sourced by the harness commands, never
# run directly.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HARNESS=$ROOT/harness
BUILD=${BUILD:-$ROOT/build}

# The pinned base tree: Debian's linux-source-7.3 from trixie-backports,
# fetched with apt options that point under $BUILD (the machine's own apt
# configuration is not touched, no package is installed). KBASE_SHA256 is the
# checksum of the tarball inside the package, KBASE_DEB_SHA256 that of the
# package itself. Override the variables together to move to another version
# (see README.md).
KBASE_PACKAGE=${KBASE_PACKAGE:-linux-source-7.3}
KBASE_VERSION=${KBASE_VERSION:-7.3.4-1~bpo13+1}
KBASE_SHA256=${KBASE_SHA256:-76df1affb19f24926949369be1d74b60071c963c598ce8780bddd4bbf0fc3bc4}
KBASE_DEB_SHA256=${KBASE_DEB_SHA256-703e369ddd4cce971452f5a593ee55df3a5c10c83caf0fa0df039633ed181ee3}
KBASE_SUITE=${KBASE_SUITE:-trixie-backports}
KBASE_MIRROR=${KBASE_MIRROR:-http://deb.debian.org/debian}
# Alternatively, a local copy of the pinned tarball (still checksummed).
KBASE_TARBALL=${KBASE_TARBALL:-}

BASE=$BUILD/base		# git repository, base commit tagged "base"
AM=$BUILD/am			# scratch worktree where the series is git am'ed
SERIES=$BUILD/series		# worktree the kernels are built from
WORK=$BUILD/work		# the developer's worktree (harness/worktree)
OUT=$BUILD/out			# kernel build directories (O=)
LOGS=$BUILD/logs
JOBS=${JOBS:-$(nproc)}

# Debian packages everything here needs.
PACKAGES="build-essential bc bison flex libelf-dev libssl-dev python3 git
	  xz-utils coccinelle rsync cpio kmod perl python3-ply python3-git
	  curl ca-certificates"

# Sparse for the C=2 checks. Debian 12's sparse 0.6.4 does not know
# __typeof_unqual__, which Linux 7.3's compiler headers use, so the kernel's
# scripts/checker-valid.sh rejects it and kbuild silently runs no checker.
# Build 0.6.5-rc1 (the upstream source Debian unstable packages) under
# $BUILD instead, pinned by checksum.
SPARSE_URL=${SPARSE_URL:-http://deb.debian.org/debian/pool/main/s/sparse/sparse_0.6.5~rc1.orig.tar.gz}
SPARSE_SHA256=${SPARSE_SHA256:-3ac8855ec7f3ab92f325be0f64347ccc2b10f8b4d7c2906783ee8e2bdab3f0de}
SPARSE=$BUILD/sparse/sparse

# Use Debian's tools (python3 with python3-ply for checkpatch's SPDX check)
# before anything installed elsewhere, e.g. a pyenv python3.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Install the Debian packages that are missing (as root), or say how to.
ensure_packages() {
	local missing="" p

	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed$' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0

	if [ "$(id -u)" != 0 ]; then
		die "missing Debian packages:$missing; run as root or install them: apt-get install$missing"
	fi
	log "installing Debian packages:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
}

# Build the pinned sparse into $SPARSE once, and check that the kernel
# accepts it as a checker (scripts/checker-valid.sh of the base).
ensure_sparse() {
	local dir=$BUILD/sparse tgz sum

	if [ ! -x "$SPARSE" ]; then
		mkdir -p "$dir"
		tgz=$dir/src.tar.gz
		log "downloading sparse from $SPARSE_URL"
		curl -sSfL -o "$tgz" "$SPARSE_URL" ||
			die "cannot download $SPARSE_URL (override SPARSE_URL and SPARSE_SHA256)"
		sum=$(sha256sum "$tgz" | cut -d' ' -f1)
		[ "$sum" = "$SPARSE_SHA256" ] ||
			die "checksum mismatch for $SPARSE_URL: got $sum, pinned $SPARSE_SHA256"
		rm -rf "$dir/src"
		mkdir -p "$dir/src"
		tar -C "$dir/src" --strip-components=1 -xzf "$tgz"
		make -C "$dir/src" -j"$JOBS" sparse >"$dir/build.log" 2>&1 ||
			die "building sparse failed, see $dir/build.log"
		cp "$dir/src/sparse" "$SPARSE"
	fi
	if [ -x "$BASE/scripts/checker-valid.sh" ]; then
		[ "$("$BASE/scripts/checker-valid.sh" "$SPARSE" 2>/dev/null)" = 1 ] ||
			die "$SPARSE is not accepted by scripts/checker-valid.sh: C=2 would check nothing"
	fi
}

# apt-get/apt-cache with a private sources list for $KBASE_SUITE: lists,
# cache and sources all live under $BUILD/apt.
apt_private() {
	local cmd=$1 dir=$BUILD/apt
	shift
	"$cmd" -q -o Dir::Etc::sourcelist="$dir/sources.list" \
		-o Dir::Etc::sourceparts="$dir/sources.list.d" \
		-o Dir::State::Lists="$dir/lists" \
		-o Dir::Cache="$dir/cache" \
		-o APT::Sandbox::User=root "$@"
}

# apt_private_setup [src]: write the private sources list and update its
# lists; with "src", a deb-src line for the same suite too (source packages:
# harness/debian-patches).
apt_private_setup() {
	local dir=$BUILD/apt
	local opts="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]"

	mkdir -p "$dir/sources.list.d" "$dir/lists/partial" \
		 "$dir/cache/archives/partial"
	{
		echo "deb $opts $KBASE_MIRROR $KBASE_SUITE main"
		[ "${1:-}" != src ] ||
			echo "deb-src $opts $KBASE_MIRROR $KBASE_SUITE main"
	} > "$dir/sources.list"
	apt_private apt-get update >&2
}

# Fetch the pinned tarball into $BUILD/dl and print its path.
fetch_base_tarball() {
	local dl=$BUILD/dl deb tarball sum

	if [ -n "$KBASE_TARBALL" ]; then
		[ -f "$KBASE_TARBALL" ] || die "KBASE_TARBALL=$KBASE_TARBALL does not exist"
		echo "$KBASE_TARBALL"
		return
	fi

	mkdir -p "$dl"
	tarball=$dl/usr/src/$KBASE_PACKAGE.tar.xz
	if [ ! -f "$tarball" ]; then
		rm -f "$dl"/*.deb
		log "downloading $KBASE_PACKAGE=$KBASE_VERSION from $KBASE_MIRROR $KBASE_SUITE"
		if ! apt_private_setup ||
		   ! (cd "$dl" && apt_private apt-get download "$KBASE_PACKAGE=$KBASE_VERSION" >&2); then
			printf '\nerror: Debian does not serve %s version %s in %s any more.\n' \
				"$KBASE_PACKAGE" "$KBASE_VERSION" "$KBASE_SUITE" >&2
			printf 'Versions served now:\n' >&2
			apt_private apt-cache policy "$KBASE_PACKAGE" >&2 || true
			cat >&2 <<MSG

Either point the harness at a copy of the pinned tarball:
    KBASE_TARBALL=/path/to/$KBASE_PACKAGE.tar.xz $0
or move the base to a served version (and re-check the series on it):
    KBASE_VERSION=<version> KBASE_DEB_SHA256= \\
    KBASE_SHA256=<sha256 of its $KBASE_PACKAGE.tar.xz> $0
(KBASE_SUITE and KBASE_PACKAGE select another suite or series.)
MSG
			exit 1
		fi
		deb=$(ls "$dl"/*.deb)
		if [ -n "$KBASE_DEB_SHA256" ]; then
			sum=$(sha256sum "$deb" | cut -d' ' -f1)
			[ "$sum" = "$KBASE_DEB_SHA256" ] ||
				die "checksum mismatch for $deb: got $sum, pinned $KBASE_DEB_SHA256"
		fi
		dpkg-deb --fsys-tarfile "$deb" |
			tar -C "$dl" -x "./usr/src/$KBASE_PACKAGE.tar.xz"
		rm -f "$deb"
	fi
	echo "$tarball"
}

# Unpack the pinned base once into $BASE, as a git repository with a single
# commit tagged "base". Later runs reuse it.
prepare_base() {
	local tarball sum tmp

	if git -C "$BASE" rev-parse -q --verify refs/tags/base >/dev/null 2>&1; then
		return 0
	fi
	[ -e "$BASE" ] && die "$BASE exists but is not a prepared base; remove it"

	tarball=$(fetch_base_tarball)
	sum=$(sha256sum "$tarball" | cut -d' ' -f1)
	[ "$sum" = "$KBASE_SHA256" ] ||
		die "checksum mismatch for $tarball: got $sum, pinned $KBASE_SHA256"
	log "checksum OK ($sum)"

	tmp=$BUILD/base.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	log "unpacking $KBASE_PACKAGE $KBASE_VERSION"
	tar -C "$tmp" -xf "$tarball"
	mv "$tmp"/* "$BASE.new"
	rmdir "$tmp"

	# Debian appends "ignore everything at the top level" (its packaging
	# lives in another repository) to the top-level .gitignore. Drop that
	# block so the tree behaves like an upstream checkout.
	python3 - "$BASE.new/.gitignore" <<'PY'
import sys
p = sys.argv[1]
lines = open(p).read().split('\n')
for i, l in enumerate(lines):
    if l.startswith('# Debian packaging'):
        j = i
        while j > 0 and lines[j - 1] in ('', '#'):
            j -= 1
        lines = lines[:j] + ['']
        break
open(p, 'w').write('\n'.join(lines))
PY

	log "creating the base commit"
	(
		cd "$BASE.new"
		git init -q -b base-tree
		git config user.name "Series Harness"
		git config user.email "harness@localhost"
		git config gc.auto 0
		git add -A -f
		GIT_AUTHOR_DATE='2000-01-01T00:00:00Z' \
		GIT_COMMITTER_DATE='2000-01-01T00:00:00Z' \
			git -c user.name="Debian linux-source" \
			    -c user.email="base@localhost" \
			    commit -q -m "Linux base: Debian $KBASE_PACKAGE $KBASE_VERSION"
		git tag base
	)
	mv "$BASE.new" "$BASE"
}

# The patch files of the series, in order.
series_patches() {
	local p

	while read -r p; do
		case "$p" in ''|'#'*) continue ;; esac
		echo "$ROOT/patches/$p"
	done < "$ROOT/series"
}

# git am the series on the base in $AM; the result is branch "series" of
# $BASE. Returns git am's status, leaving $AM as git am left it.
am_series() {
	local patches

	if [ ! -e "$AM/.git" ]; then
		git -C "$BASE" worktree add -q --detach "$AM" base
	fi
	git -C "$AM" am --abort >/dev/null 2>&1 || true
	git -C "$AM" checkout -q -f --detach base
	git -C "$AM" clean -q -fdx
	mapfile -t patches < <(series_patches)
	[ "${#patches[@]}" -gt 0 ] || die "series is empty"
	GIT_COMMITTER_NAME="Series Harness" GIT_COMMITTER_EMAIL="harness@localhost" \
		git -C "$AM" am -q "${patches[@]}" || return 1
	git -C "$BASE" update-ref refs/heads/series "$(git -C "$AM" rev-parse HEAD)"
}

# Check out @1 in the build worktree $SERIES. Only files that differ are
# rewritten, so the build directories stay incremental.
checkout_series_tree() {
	if [ ! -e "$SERIES/.git" ]; then
		git -C "$BASE" worktree add -q --detach "$SERIES" "$1"
	else
		git -C "$SERIES" checkout -q -f --detach "$1"
	fi
}

# The kunitconfig fragments of one build flavour (lockdep or kasan), as
# --kunitconfig arguments. The series' own .kunitconfig files are listed in
# harness/kunit/series.list; those missing in the tree (e.g. on the base) are
# skipped.
kunitconfig_args() {
	local flavour=$1 tree=$2 f

	# the in-tree regression suites run in the lockdep flavour only
	if [ "$flavour" = lockdep ]; then
		echo "--kunitconfig=$HARNESS/kunit/regressions.config"
	fi
	echo "--kunitconfig=$HARNESS/kunit/$flavour.config"
	while read -r f; do
		case "$f" in ''|'#'*) continue ;; esac
		[ -f "$tree/$f" ] && echo "--kunitconfig=$tree/$f"
	done < "$HARNESS/kunit/series.list"
}

kunit() {
	local tree=$1
	shift
	python3 "$tree/tools/testing/kunit/kunit.py" "$@"
}

# Write the .config of a flavour into the build directory @3 for tree @2.
# ARCH (default um) selects the architecture: the "smp" flavour is x86_64.
kunit_config() {
	local flavour=$1 tree=$2 out=$3
	local args

	mapfile -t args < <(kunitconfig_args "$flavour" "$tree")
	mkdir -p "$out"
	kunit "$tree" config --arch="${KARCH:-um}" --build_dir="$out" \
		"${args[@]}" >/dev/null
}
