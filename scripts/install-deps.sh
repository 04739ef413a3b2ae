#!/bin/sh
# Install every Debian 12 package that building and testing bouncewall needs.
# Idempotent: packages already present are skipped, so `make check` may call it
# every time without touching the network.  --bench adds what only `make
# bench` uses.
set -eu

PKGS="clang llvm make gcc pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev
libpcap-dev libxdp-dev xdp-tools libcmocka-dev libssl-dev wireshark-common
libclang-rt-14-dev libcap-ng-dev iproute2 tcpdump hping3 tshark postfix swaks openssl
prometheus python3-scapy procps psmisc libnet-ssleay-perl libio-socket-inet6-perl
time curl groff-base man-db systemd tcpreplay ethtool nftables libc-ares-dev dnsmasq-base
libcurl4-openssl-dev libjson-c-dev crowdsec qemu-system-x86 busybox-static cpio"
# Only `make bench` needs these (scripts/bench-fleet.sh's baseline); the
# bouncer registers itself with crowdsec's database, so it comes after
# crowdsec.  `make check` does not depend on them.
LATE=""
[ "${1:-}" = --bench ] && LATE="crowdsec-firewall-bouncer"

missing=""
updated=0
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing packages:$missing (run as root)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Postfix must not ask questions nor write a config of its own: the lab
	# writes its own main.cf.  tshark must not ask about non-root capture.
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	# crowdsec's post-install registers with CrowdSec's online API unless
	# this file already holds something; the lab runs its own offline LAPI
	# (never the system service, which may or may not have started).
	case " $missing " in
	*" crowdsec "*)
		if [ ! -s /etc/crowdsec/online_api_credentials.yaml ]; then
			mkdir -p /etc/crowdsec
			echo "# offline: no Central API (bouncewall lab)" \
				>/etc/crowdsec/online_api_credentials.yaml
		fi ;;
	esac
	apt-get update -q
	updated=1
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

for p in $LATE; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" && continue
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing package: $p (run as root)" >&2
		exit 1
	fi
	[ "$updated" = 1 ] || apt-get update -q
	updated=1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$p"
	# The bench runs its own copy in a namespace; the system one must not
	# start filtering this machine's traffic.
	if [ -d /run/systemd/system ]; then
		systemctl disable --now "$p" >/dev/null 2>&1 || true
	fi
done
# The lab's VM (scripts/vm-run.sh) boots Debian's own kernel, for the tests
# that need what this machine's kernel refuses (libxdp's dispatcher).  The
# package is downloaded, not installed; vm-run.sh unpacks it under build/.
VM_CACHE=/var/cache/bouncewall/vm
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$kpkg" ] || ! ls "$VM_CACHE/${kpkg}"_*.deb >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: the VM kernel package is missing (run as root)" >&2
		exit 1
	fi
	mkdir -p "$VM_CACHE"
	if [ -z "$kpkg" ]; then
		apt-get update -q
		kpkg=$(apt-cache depends linux-image-amd64 |
			awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	fi
	(cd "$VM_CACHE" && apt-get download -q -o APT::Sandbox::User=root "$kpkg") ||
		(apt-get update -q && cd "$VM_CACHE" &&
		 apt-get download -q -o APT::Sandbox::User=root "$kpkg")
fi

# bpffs is where the agent pins its maps and link.
if ! mount | grep -q " /sys/fs/bpf type bpf"; then
	mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
fi
