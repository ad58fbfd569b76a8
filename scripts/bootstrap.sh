#!/bin/sh
# Install what flatmob_mn needs, once: Debian packages and a virtual
# environment with pinned Python packages.  Re-running is quick: each step
# is skipped when its stamp is newer than the file that describes it.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV="$ROOT/.venv"
WANT_TESTS=${1:-}

DEBS="mininet frr knot knot-dnsutils bind9-dnsutils dnsmasq-base busybox \
iproute2 iputils-ping python3 python3-venv python3-dev gcc"

say() { echo "*** $*"; }

if [ "$(id -u)" -ne 0 ]; then
    echo "flatmob: set-up needs root (Mininet and FRR run as root)" >&2
    exit 2
fi

missing=""
for deb in $DEBS; do
    dpkg-query -W -f='${Status}' "$deb" 2>/dev/null \
        | grep -q "install ok installed" || missing="$missing $deb"
done
if [ -n "$missing" ]; then
    say "installing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

# Debian starts no daemons here (no systemd), but a machine with an init
# system may have started the packaged services: the emulation runs its own.

if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtual environment in $VENV"
    # Debian's python3 sees Debian's mininet module through system
    # site-packages; the pinned packages installed below take precedence.
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi

stamp="$VENV/.installed"
if [ ! -f "$stamp" ] || [ "$ROOT/requirements.txt" -nt "$stamp" ] \
        || [ "$ROOT/setup.py" -nt "$stamp" ]; then
    say "installing Python packages"
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q -r "$ROOT/requirements.txt"
    "$VENV/bin/pip" install -q --no-deps -e "$ROOT"
    touch "$stamp"
fi

tstamp="$VENV/.installed-tests"
if [ "$WANT_TESTS" = "--tests" ] && { [ ! -f "$tstamp" ] \
        || [ "$ROOT/requirements-test.txt" -nt "$tstamp" ]; }; then
    say "installing test packages"
    "$VENV/bin/pip" install -q -r "$ROOT/requirements-test.txt"
    touch "$tstamp"
fi

# Put flatmob on the PATH, unless another checkout's flatmob is there
# (and still works): that one is someone else's, left as it is.
link=/usr/local/bin/flatmob
current=$(readlink "$link" 2>/dev/null || true)
if [ "$current" != "$VENV/bin/flatmob" ]; then
    if [ -n "$current" ] && [ -x "$current" ]; then
        say "$link runs $current; this checkout's is $VENV/bin/flatmob"
    elif [ -e "$link" ] && [ ! -L "$link" ]; then
        say "$link is not ours; this checkout's is $VENV/bin/flatmob"
    else
        ln -sf "$VENV/bin/flatmob" "$link"
    fi
fi
