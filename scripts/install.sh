#!/bin/sh
# install.sh - install bouncewall into $DESTDIR$PREFIX (what `make install`
# runs after `make`).
#
#   PREFIX      default /usr/local
#   DESTDIR     staging root for packages; default empty
#   SYSCONFDIR  default /etc: the agent's built-in config path is
#               /etc/bouncewall/bouncewall.conf whatever the prefix
#   BIN         the binary to install; default build/bouncewall
#
# Installs:
#   $PREFIX/sbin/bouncewall                                   0755
#   $SYSCONFDIR/bouncewall/bouncewall.conf                    0640, never overwritten
#   $PREFIX/lib/systemd/system/bouncewall.service             0644
#   $PREFIX/share/man/man8/bouncewall.8                       0644
#   $PREFIX/share/bash-completion/completions/bouncewall      0644
#   $PREFIX/share/bouncewall/grafana-dashboard.json           0644
#   $PREFIX/share/bouncewall/bouncewall.conf.default          0644 (the shipped defaults)
#
# The unit's ExecStart and the man page's paths follow PREFIX and
# SYSCONFDIR.  Nothing is started or enabled: `systemctl daemon-reload &&
# systemctl enable --now bouncewall` is the operator's call.
set -eu

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
SYSCONFDIR=${SYSCONFDIR:-/etc}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bouncewall}
PKG=$ROOT/packaging

case $PREFIX in
/*) ;;
*) echo "install.sh: PREFIX must be an absolute path (got '$PREFIX')" >&2; exit 2 ;;
esac
case $SYSCONFDIR in
/*) ;;
*) echo "install.sh: SYSCONFDIR must be an absolute path (got '$SYSCONFDIR')" >&2; exit 2 ;;
esac
if [ ! -x "$BIN" ]; then
	echo "install.sh: $BIN not found: run make first" >&2
	exit 1
fi
VERSION=$("$BIN" --version | sed -n 's/^bouncewall //p')
[ -n "$VERSION" ] || { echo "install.sh: cannot read the version of $BIN" >&2; exit 1; }

SBINDIR=$PREFIX/sbin
UNITDIR=$PREFIX/lib/systemd/system
MANDIR=$PREFIX/share/man/man8
COMPDIR=$PREFIX/share/bash-completion/completions
DATADIR=$PREFIX/share/bouncewall
CONFDIR=$SYSCONFDIR/bouncewall

say() { printf '  %-8s %s\n' "$1" "$2"; }

# put MODE SRC DEST: install one file, creating its directories.
put() {
	install -d -m 0755 "$(dirname "$3")"
	install -m "$1" "$2" "$3"
	say INSTALL "$3"
}

# subst FILE: the packaged file with this install's paths and version.
subst() {
	sed -e "s|/usr/sbin/bouncewall|$SBINDIR/bouncewall|g" \
	    -e "s|/etc/bouncewall/|$CONFDIR/|g" \
	    -e "s|/usr/share/bouncewall/|$DATADIR/|g" \
	    -e "s|/lib/systemd/system/bouncewall.service|$UNITDIR/bouncewall.service|g" \
	    -e "s|\"bouncewall [0-9][0-9.]*\"|\"bouncewall $VERSION\"|" "$1"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

put 0755 "$BIN" "$DESTDIR$SBINDIR/bouncewall"

subst "$PKG/bouncewall.service" >"$tmp/bouncewall.service"
put 0644 "$tmp/bouncewall.service" "$DESTDIR$UNITDIR/bouncewall.service"

subst "$PKG/bouncewall.8" >"$tmp/bouncewall.8"
put 0644 "$tmp/bouncewall.8" "$DESTDIR$MANDIR/bouncewall.8"

put 0644 "$PKG/bouncewall.bash-completion" "$DESTDIR$COMPDIR/bouncewall"
put 0644 "$PKG/grafana-dashboard.json" "$DESTDIR$DATADIR/grafana-dashboard.json"
put 0644 "$PKG/bouncewall.conf" "$DESTDIR$DATADIR/bouncewall.conf.default"

# The config: it may hold batv_secret, so 0640; an operator's file is never
# replaced (the shipped defaults stay in $DATADIR for comparison).
if [ -e "$DESTDIR$CONFDIR/bouncewall.conf" ]; then
	say KEEP "$DESTDIR$CONFDIR/bouncewall.conf (exists; defaults in $DATADIR/bouncewall.conf.default)"
else
	install -d -m 0755 "$DESTDIR$CONFDIR"
	put 0640 "$PKG/bouncewall.conf" "$DESTDIR$CONFDIR/bouncewall.conf"
fi
