#!/bin/sh
# Install every Debian 12 package that building and testing bouncewall needs.
# Idempotent: packages already present are skipped, so `make check` may call it
# every time without touching the network.
set -eu

PKGS="clang llvm make gcc pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev
libpcap-dev libxdp-dev xdp-tools libcmocka-dev libssl-dev
libclang-rt-14-dev libcap-ng-dev iproute2 tcpdump hping3 tshark postfix swaks openssl
prometheus python3-scapy procps psmisc libnet-ssleay-perl libio-socket-inet6-perl
time curl groff-base man-db systemd tcpreplay ethtool nftables
qemu-system-x86 busybox-static cpio"

missing=""
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
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

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
