#!/usr/bin/env bash
# One entry point for a fresh Debian/Ubuntu machine (see README):
#   ./setup.sh demo   install everything, then run the main job on the bundled sample parts
#   ./setup.sh test   install everything, then run the whole test suite on this machine's FreeCAD
#   ./setup.sh cadquery
#                     only .venv-cadquery: CadQuery in its own venv, for `freecad-spatial eval` on
#                     CadQuery sources (imported BenchCAD suites); `test` creates it too
#   ./setup.sh test --freecad 1.0|1.1|all
#                     the same suite on FreeCAD 1.0 (Debian 13) or 1.1 (Debian unstable, Qt6) in a
#                     root filesystem built from Debian's packages (tests/matrix/freecad_root.sh);
#                     all = this machine's FreeCAD, then 1.0, then 1.1
# Both leave .venv/bin/freecad-spatial behind. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
MODE=${1:-demo}
USAGE="usage: ./setup.sh demo|install|test|cadquery [--freecad host|1.0|1.1|all]"
case "$MODE" in demo|test|install|cadquery) ;; *) echo "$USAGE" >&2; exit 2;; esac
FREECAD_TARGET=host
if [ $# -ge 2 ]; then
  [ "$MODE" = test ] && [ "$2" = --freecad ] && [ $# -eq 3 ] || { echo "$USAGE" >&2; exit 2; }
  FREECAD_TARGET=$3
  case "$FREECAD_TARGET" in host|1.0|1.1|all) ;; *) echo "$USAGE" >&2; exit 2;; esac
fi
if [ "$FREECAD_TARGET" != host ]; then
  # The matrix: each version's suite in its own root filesystem; every version runs
  # even when an earlier one fails, and the summary says which failed.
  VERSIONS=("$FREECAD_TARGET"); [ "$FREECAD_TARGET" = all ] && VERSIONS=(host 1.0 1.1)
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  failed=()
  for v in "${VERSIONS[@]}"; do
    started=$SECONDS
    if [ "$v" = host ]; then
      "$0" test || failed+=("host")
    else
      if ! command -v mmdebstrap >/dev/null; then
        $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends mmdebstrap
      fi
      $SUDO tests/matrix/freecad_root.sh test "$v" || failed+=("$v")
    fi
    printf '\033[1m==> FreeCAD %s: %s in %d s\033[0m\n' "$v" "$([[ " ${failed[*]} " == *" $v "* ]] && echo FAILED || echo passed)" $((SECONDS - started)) >&2
  done
  [ ${#failed[@]} -eq 0 ] || { echo "setup.sh: the suite failed on FreeCAD ${failed[*]}" >&2; exit 1; }
  exit 0
fi

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

# FreeCAD's Python module, and the interpreter it was built for.
find_freecad_lib() {
  for d in "${FREECAD_LIB:-}" /usr/lib/freecad/lib /usr/lib/freecad-python3/lib /usr/local/lib/freecad/lib /opt/freecad/lib; do
    [ -n "$d" ] && [ -e "$d/FreeCAD.so" ] && { echo "$d"; return 0; }
  done
  return 1
}

apt_install() {
  if ! command -v apt-get >/dev/null; then echo "setup.sh: no apt-get here; install $* by hand" >&2; exit 2; fi
  if [ -z "${APT_UPDATED:-}" ]; then $SUDO apt-get update -q; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@"
}

# CadQuery in a venv of its own (no system site-packages): its OCP bindings would replace the pmi
# extra's in .venv, and Debian's pyparsing is too old for it. The eval builder runs CadQuery programs
# with .venv-cadquery/bin/python (spatial_tools/eval/cadquery_source.py).
cadquery_venv() {
  .venv-cadquery/bin/python -c 'import cadquery' 2>/dev/null && return 0
  say "creating .venv-cadquery (CadQuery for freecad-spatial eval's CadQuery sources)"
  rm -rf .venv-cadquery
  "$PY" -m venv .venv-cadquery
  .venv-cadquery/bin/python -m pip install -q --disable-pip-version-check cadquery
}

PY=${FREECAD_PYTHON:-/usr/bin/python3}
if [ "$MODE" = cadquery ]; then
  "$PY" -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
  cadquery_venv
  exit 0
fi

NEED=()
if ! FREECAD_LIB_DIR=$(find_freecad_lib); then
  say "FreeCAD not found: installing it from the OS packages"
  NEED+=(freecad)
fi
[ -x "$PY" ] || NEED+=(python3)
"$PY" -c 'import ensurepip, venv' 2>/dev/null || NEED+=(python3-venv)
# FreeCAD's own Python renders the HTML report of the Export report command.
"$PY" -c 'import jinja2' 2>/dev/null || NEED+=(python3-jinja2)
if [ "$MODE" = test ]; then
  command -v Xvfb >/dev/null || NEED+=(xvfb)
  command -v xauth >/dev/null || NEED+=(xauth)
  command -v freecad >/dev/null || NEED+=(freecad)
  dpkg -s fonts-dejavu-core >/dev/null 2>&1 || NEED+=(fonts-dejavu-core)
  # The HTML report is looked at the way a person sees it: rendered by headless Chromium.
  command -v chromium >/dev/null || NEED+=(chromium)
  # FreeCAD 0.20's Addon Manager clones a git URL only with GitPython; the install test takes that path.
  "$PY" -c 'import git' 2>/dev/null || NEED+=(python3-git)
fi
# FreeCAD built on Qt6 (1.1): its SVG icons need Qt's SVG plugin, which the package does not
# pull in, and the tests need the OS's PySide6 (pip's wheel is built on another Qt 6).
qt6_needs() {
  ldd "$1/FreeCADGui.so" 2>/dev/null | grep -q libQt6Core || return 0
  local p wanted=(qt6-svg-plugins)
  [ "$MODE" = test ] && wanted+=(python3-pyside6.qtcore python3-pyside6.qtgui python3-pyside6.qtwidgets python3-pyside6.qttest python3-pyside6.qtsvg)
  for p in "${wanted[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done
}
[ -n "${FREECAD_LIB_DIR:-}" ] && mapfile -t -O "${#NEED[@]}" NEED < <(qt6_needs "$FREECAD_LIB_DIR")
if [ ${#NEED[@]} -gt 0 ]; then
  say "installing OS packages: ${NEED[*]}"
  apt_install "${NEED[@]}"
fi
FREECAD_LIB_DIR=$(find_freecad_lib) || { echo "setup.sh: FreeCAD is still not importable; set FREECAD_LIB to the folder holding FreeCAD.so" >&2; exit 2; }
QT6=$(qt6_needs "$FREECAD_LIB_DIR")  # FreeCAD was only just installed: its Qt is known now
[ -z "$QT6" ] || apt_install $QT6

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import FreeCAD' 2>/dev/null; then
  say "creating .venv with $PY (the interpreter FreeCAD was built for)"
  rm -rf .venv
  "$PY" -m venv --system-site-packages .venv
  SITE=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "$FREECAD_LIB_DIR" > "$SITE/freecad_lib.pth"
fi
say "installing the Python dependencies into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
EXTRAS="assistant"
if [ "$MODE" = test ]; then
  EXTRAS="assistant,test,pmi,dask,synth"
  # Qt6 for the tests outside FreeCAD: the OS's PySide6 where it is installed (FreeCAD 1.1 is
  # built on it, and pip's wheel, built on another Qt 6, fails to load beside it), else pip's.
  .venv/bin/python -c 'import PySide6.QtWidgets' 2>/dev/null || EXTRAS="$EXTRAS,qt"
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[${EXTRAS}]"

MOD_DIR=$(.venv/bin/python -c 'import FreeCAD; print(FreeCAD.getUserAppDataDir())')Mod
mkdir -p "$MOD_DIR"
if [ "$(readlink -f "$MOD_DIR/FreeCADSpatial" 2>/dev/null)" != "$ROOT" ]; then
  say "linking the addon into $MOD_DIR/FreeCADSpatial"
  rm -rf "$MOD_DIR/FreeCADSpatial"
  ln -s "$ROOT" "$MOD_DIR/FreeCADSpatial"
fi
[ -x .venv/bin/freecad-spatial ] || { echo "setup.sh: .venv/bin/freecad-spatial was not installed" >&2; exit 2; }
[ "$MODE" != test ] || cadquery_venv  # the suite builds CadQuery sources too

case "$MODE" in
  demo)
    SAMPLES=(resources/samples/*.FCStd resources/samples/*.step resources/samples/*.brep)
    say "measuring the bundled sample parts"
    .venv/bin/freecad-spatial tour "${SAMPLES[@]}"
    say "checking them for 3-axis CNC machining"
    mkdir -p out
    status=0
    .venv/bin/freecad-spatial check "${SAMPLES[@]}" --process cnc-3axis --jobs 2 --format html --out out/report.html || status=$?
    # 1 means "findings at error level": the demo's point, not a failure of the demo.
    [ "$status" -le 1 ] || exit "$status"
    say "HTML report: $ROOT/out/report.html"
    ;;
  test)
    say "ruff"
    .venv/bin/python -m ruff check .
    say "the whole test suite"
    .venv/bin/python -m pytest -q -ra
    ;;
esac
