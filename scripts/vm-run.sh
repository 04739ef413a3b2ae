#!/bin/bash
# vm-run.sh - run a command as root inside a throwaway VM that boots
# Debian's own kernel, for the lab tests that need what this machine's
# kernel refuses.
#
# The machine bouncewall is developed and tested on runs a locked-down
# kernel that refuses BPF_PROG_TYPE_EXT (freplace) and tracing programs
# with EPERM before the verifier looks at them, even for root with every
# capability.  libxdp's multi-program dispatcher is made of freplace
# links, so there libxdp (and xdp-filter, xdp-loader) falls back to one
# program per interface.  Debian's linux-image-amd64 runs the dispatcher.
#
# Usage: scripts/vm-run.sh [-t SECONDS] [-o OUTDIR] -- COMMAND [ARG]...
#   COMMAND runs in the VM with this machine's root filesystem mounted
#   read-only as its own root (9p), fresh tmpfs on /tmp and /run (a
#   checkout under them is mounted back, read-only), bpffs on
#   /sys/fs/bpf, the current directory and environment variables named
#   in VM_ENV (space-separated) carried over.  OUTDIR (default: a fresh
#   temp dir) is shared read-write as $VM_OUT.  The VM's console goes to
#   stdout; the exit status is the command's (125: the VM did not report
#   one, e.g. it timed out after SECONDS, default 600).
#
# Needs (scripts/install-deps.sh): qemu-system-x86, busybox-static, cpio,
# and Debian's kernel package in /var/cache/bouncewall/vm (downloaded, not
# installed).  Builds the kernel tree and initramfs under build/vm once.
# Software emulation (TCG): nested KVM was seen to hang at boot here;
# BW_VM_ACCEL=kvm tries it.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VM_CACHE=/var/cache/bouncewall/vm
VM_DIR=$ROOT/build/vm
timeout_s=600
out=

die() {
	echo "vm-run: $*" >&2
	exit 125
}

while getopts "t:o:" opt; do
	case $opt in
	t) timeout_s=$OPTARG ;;
	o) out=$OPTARG ;;
	*) die "usage: vm-run.sh [-t SECONDS] [-o OUTDIR] -- COMMAND [ARG]..." ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || die "no command"
[ "$(id -u)" = 0 ] || die "needs root"

command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (scripts/install-deps.sh)"
[ -x /bin/busybox ] || die "busybox (busybox-static) missing (scripts/install-deps.sh)"
deb=$(ls -t "$VM_CACHE"/linux-image-*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || die "no kernel package in $VM_CACHE (scripts/install-deps.sh downloads it)"

# The modules the initramfs loads to mount the host's root over 9p, in
# dependency order, and veth for the lab.
MODS="drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci net/9p/9pnet net/9p/9pnet_virtio
fs/netfs/netfs fs/fscache/fscache fs/9p/9p drivers/net/veth"

# build/vm: the kernel package unpacked, and the initramfs; redone when
# the package or this script is newer.
build_vm() {
	local kdir=$VM_DIR/kernel init=$VM_DIR/initrd/init m
	if [ -f "$VM_DIR/initrd.gz" ] && [ "$VM_DIR/initrd.gz" -nt "$deb" ] &&
	   [ "$VM_DIR/initrd.gz" -nt "${BASH_SOURCE[0]}" ]; then
		return 0
	fi
	rm -rf "$VM_DIR"
	mkdir -p "$kdir" "$VM_DIR/initrd/bin" "$VM_DIR/initrd/lib/modules" \
		"$VM_DIR/initrd/mnt" "$VM_DIR/initrd/proc" "$VM_DIR/initrd/sys" "$VM_DIR/initrd/dev"
	dpkg-deb -x "$deb" "$kdir" || return 1
	cp /bin/busybox "$VM_DIR/initrd/bin/" || return 1
	for m in $MODS; do
		cp "$kdir"/lib/modules/*/kernel/$m.ko "$VM_DIR/initrd/lib/modules/" || return 1
	done
	# The guest's init: modules, the host's root over 9p, then the
	# command in it.  A guest that cannot mount powers off at once.
	cat >"$init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
for m in $(for m in $MODS; do printf '%s ' "${m##*/}"; done); do
	insmod /lib/modules/\$m.ko || echo "vm: insmod \$m failed"
done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000 hostroot /mnt || poweroff -f
mount --move /proc /mnt/proc
mount --move /sys /mnt/sys
mount --move /dev /mnt/dev
exec switch_root /mnt /bin/bash -c 'mount -t tmpfs tmpfs /tmp && mount -t tmpfs tmpfs /run &&
	mount -t bpf bpf /sys/fs/bpf && mkdir -p /tmp/vmout &&
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 vmout /tmp/vmout &&
	ip link set lo up && bash /tmp/vmout/cmd.sh; sync; /bin/busybox poweroff -f'
EOF
	chmod 755 "$init"
	(cd "$VM_DIR/initrd" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$VM_DIR/initrd.gz.tmp" &&
		mv "$VM_DIR/initrd.gz.tmp" "$VM_DIR/initrd.gz"
}
build_vm || die "cannot build $VM_DIR"
kernel=$(ls "$VM_DIR"/kernel/boot/vmlinuz-* | head -1)

if [ -z "$out" ]; then
	out=$(mktemp -d /tmp/bwvm.XXXXXX)
fi
mkdir -p "$out"
rm -f "$out/rc"
# The command, its directory and chosen environment, as a script the
# guest runs; its status lands in $VM_OUT/rc.
{
	echo "export VM_OUT=/tmp/vmout PATH='$PATH'"
	for v in ${VM_ENV:-}; do
		[ -n "${!v+x}" ] && printf 'export %s=%q\n' "$v" "${!v}"
	done
	# The guest's /tmp and /run are fresh: a checkout under them (a CI
	# clone in /tmp) comes over 9p, read-only, at the same path.
	case $ROOT in
	/tmp/* | /run/*)
		printf 'mkdir -p %q && mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000 repo %q || exit 125\n' \
			"$ROOT" "$ROOT" ;;
	esac
	printf 'cd %q || exit 125\n' "$PWD"
	printf '%q ' "$@"
	echo
	echo 'echo $? >/tmp/vmout/rc'
} >"$out/cmd.sh"

accel=${BW_VM_ACCEL:-tcg}
cpu=max
[ "$accel" = kvm ] && cpu=host,-arch-capabilities
timeout -k 10 "$timeout_s" qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -m 1024 -smp 2 \
	-nographic -no-reboot -nic none \
	-kernel "$kernel" -initrd "$VM_DIR/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1 edd=off" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$out,mount_tag=vmout,security_model=none" \
	-virtfs "local,path=$ROOT,mount_tag=repo,security_model=none,readonly=on" </dev/null 2>&1 |
	tr -d '\r' | sed -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\x1bc//g' |
	grep -v -e '^\[ *[0-9]*\.[0-9]*\] ' -e 'SeaBIOS' -e '^Booting from' -e '^$'
[ -s "$out/rc" ] || exit 125
exit "$(cat "$out/rc")"
