#!/usr/bin/env bash
# The FreeCAD version matrix: a Debian root filesystem per FreeCAD version, built
# from Debian's own packages and cached, with this checkout's suite run inside it.
#
#   tests/matrix/freecad_root.sh build 1.0|1.1     build (or reuse) the root filesystem
#   tests/matrix/freecad_root.sh test  1.0|1.1     build if needed, then ./setup.sh test inside it
#   tests/matrix/freecad_root.sh shell 1.0|1.1 [CMD...]   a command in the copy of the checkout there
#
# 1.0 is Debian 13 (trixie: Python 3.13, Qt5/PySide2); 1.1 is Debian unstable
# (sid: Python 3.14, Qt6/PySide6). Needs root, mmdebstrap and the network to
# Debian's archive and PyPI. The cache lives in FREECAD_SPATIAL_ROOTFS_CACHE
# (default /var/cache/freecad-spatial/rootfs); a root filesystem is rebuilt when
# the package list in this script changes. Every run happens in its own mount and
# PID namespace, so nothing it starts (Xvfb, FreeCAD, workers) outlives it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ACTION=${1:-}; VERSION=${2:-}
[ $# -ge 2 ] && shift 2 || true
CACHE=${FREECAD_SPATIAL_ROOTFS_CACHE:-/var/cache/freecad-spatial/rootfs}

say() { printf '\033[1m==> [FreeCAD %s] %s\033[0m\n' "$VERSION" "$*" >&2; }
die() { echo "freecad_root.sh: $*" >&2; exit 2; }

case "$VERSION" in
  1.0) SUITE=trixie ;;
  1.1) SUITE=sid ;;
  *) die "usage: freecad_root.sh build|test|shell 1.0|1.1" ;;
esac
case "$ACTION" in build|test|shell) ;; *) die "usage: freecad_root.sh build|test|shell 1.0|1.1" ;; esac
[ "$(id -u)" -eq 0 ] || die "needs root (mmdebstrap, chroot and mounts)"

# What the suite needs besides FreeCAD: the same list setup.sh would install, so
# the run inside never calls apt.
PACKAGES=(freecad python3-venv python3-pip python3-jinja2 xvfb xauth fonts-dejavu-core
  chromium git python3-git ca-certificates libgl1-mesa-dri procps)
if [ "$VERSION" = 1.1 ]; then
  # FreeCAD 1.1 is built on Qt6: Debian's PySide6 (pip's wheel is built on another Qt 6
  # and fails to load beside FreeCAD's), and the SVG plugin FreeCAD does not pull in.
  PACKAGES+=(python3-pyside6.qtcore python3-pyside6.qtgui python3-pyside6.qtwidgets
    python3-pyside6.qttest python3-pyside6.qtsvg qt6-svg-plugins)
fi
STAMP=$(printf '%s\n' "$SUITE" "${PACKAGES[@]}" | sha256sum | cut -c1-16)
ROOT=$CACHE/$VERSION

build() {
  # Reused while its package list is unchanged and it is younger than
  # FREECAD_SPATIAL_ROOTFS_MAX_DAYS (default 14: Debian unstable moves on).
  local max_days=${FREECAD_SPATIAL_ROOTFS_MAX_DAYS:-14}
  if [ -f "$ROOT/.freecad-spatial-stamp" ] && [ "$(cat "$ROOT/.freecad-spatial-stamp")" = "$STAMP" ] \
     && [ -z "$(find "$ROOT/.freecad-spatial-stamp" -mtime "+$max_days")" ]; then
    say "root filesystem cached in $ROOT"
    return 0
  fi
  command -v mmdebstrap >/dev/null || die "mmdebstrap is missing (apt-get install mmdebstrap)"
  say "building the Debian $SUITE root filesystem in $ROOT (FreeCAD from Debian's packages)"
  local started=$SECONDS tmp="$ROOT.new"
  rm -rf "$tmp"; mkdir -p "$CACHE"
  # Debian's archive signs sid with short-lived Release files; the clock of a build
  # machine must not turn them into errors. No recommends: the list above is complete.
  mmdebstrap --variant=apt --components=main \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --aptopt='APT::Install-Recommends "false"' \
    --include="$(IFS=,; echo "${PACKAGES[*]}")" \
    "$SUITE" "$tmp" >&2
  echo "$STAMP" > "$tmp/.freecad-spatial-stamp"
  rm -rf "$ROOT"; mv "$tmp" "$ROOT"
  say "built in $((SECONDS - started)) s: $(chroot "$ROOT" dpkg-query -W -f '${Version}' freecad 2>/dev/null || echo '?')"
}

# The checkout as it is (tracked and new files, not ignored ones) copied to
# /work/$COPY inside; its .venv stays between runs so a warm run only tests.
# FREECAD_SPATIAL_MATRIX_COPY names another copy, for runs side by side. The
# copies live beside the root filesystem ($CACHE/work/VERSION, mounted on /work),
# so rebuilding the root filesystem does not take them away.
COPY=${FREECAD_SPATIAL_MATRIX_COPY:-freecad-spatial}
case "$COPY" in *[!A-Za-z0-9._-]*|.*) die "FREECAD_SPATIAL_MATRIX_COPY must be a plain folder name" ;; esac
WORK=$CACHE/work/$VERSION
sync_checkout() {
  local dest="$WORK/$COPY"
  mkdir -p "$dest"
  find "$dest" -mindepth 1 -maxdepth 1 ! -name .venv ! -name .venv-cadquery -exec rm -rf {} +
  (cd "$REPO" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$dest"
}

# Runs "$@" inside the root filesystem: own mount and PID namespaces, the host's
# name resolution and CA bundle (the registries may sit behind a TLS proxy).
inside() {
  cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$ROOT/usr/local/share/ca-certificates/host"
    cp /etc/ssl/certs/ca-certificates.crt "$ROOT/usr/local/share/ca-certificates/host/bundle.crt"
  fi
  local envs=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    LANG=C.UTF-8 CI="${CI:-}" FREECAD_SPATIAL_MATRIX="$VERSION")
  local var
  for var in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_DEFAULT_TIMEOUT FREECAD_SPATIAL_UPDATE_DOCS; do
    [ -n "${!var:-}" ] && envs+=("$var=${!var}")
  done
  [ -f /etc/ssl/certs/ca-certificates.crt ] && envs+=(
    PIP_CERT=/usr/local/share/ca-certificates/host/bundle.crt
    SSL_CERT_FILE=/usr/local/share/ca-certificates/host/bundle.crt
    REQUESTS_CA_BUNDLE=/usr/local/share/ca-certificates/host/bundle.crt)
  mkdir -p "$ROOT/work" "$WORK"
  unshare --mount --pid --fork --kill-child --propagation private bash -c '
    set -e; R=$1; W=$2; shift 2
    mount --bind "$W" "$R/work"
    mount --rbind /dev "$R/dev"
    mount -t proc proc "$R/proc"
    mount -t sysfs sysfs "$R/sys"
    mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
    mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm"
    exec chroot "$R" /usr/bin/env -i "$@"
  ' inside "$ROOT" "$WORK" "${envs[@]}" "$@"
}

case "$ACTION" in
  build) build ;;
  test)
    build
    sync_checkout
    say "./setup.sh test inside the root filesystem"
    started=$SECONDS
    status=0
    inside bash -c 'cd "/work/$1" && ./setup.sh test' run "$COPY" || status=$?
    say "suite finished with status $status in $((SECONDS - started)) s"
    exit "$status"
    ;;
  shell)
    build
    sync_checkout
    if [ $# -eq 0 ]; then set -- bash; fi
    inside bash -c 'cd "/work/$1" && shift && exec "$@"' shell "$COPY" "$@"
    ;;
esac
