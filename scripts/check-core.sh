#!/bin/bash
# check-core.sh OBJ... - the pure core stays pure.
#
# user/core is compiled with only its own headers on the include path, so
# it cannot include io or cmd at all.  This checks the rest: no core source
# names a header outside user/core and include/ (even by a relative path),
# and no core object calls anything that does I/O, reads a clock or draws
# randomness.  Formatting into a FILE the caller passed (fprintf, fputs) is
# allowed; naming stdout or stderr is not.
set -u
cd "$(dirname "$0")/.." || exit 1
fail=0

for f in user/core/*.[ch]; do
	while read -r inc; do
		[ -e "user/core/$inc" ] || [ -e "include/$inc" ] || {
			echo "check-core: $f includes \"$inc\", which is not in user/core or include/"
			fail=1
		}
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done

forbidden='^(open|open64|openat|creat|fopen|fopen64|fdopen|freopen|read|write|pread|pwrite|readv|writev|close|socket|connect|bind|listen|accept|accept4|recv|recvfrom|recvmsg|send|sendto|sendmsg|poll|select|epoll_.*|ioctl|mmap|munmap|stat|fstat|lstat|stat64|fstat64|unlink|rename|mkdir|rmdir|getenv|secure_getenv|time|clock_gettime|gettimeofday|getrandom|rand|random|srand|sleep|usleep|nanosleep|printf|puts|putchar|perror|syslog|stdout|stderr|fflush|exit|abort_unused|pcap_(open_live|open_offline.*|create|activate|dispatch|loop|next|next_ex|compile|setfilter|close|stats|get_selectable_fd|setnonblock|set_.*|datalink|geterr)|bpf_.*|libbpf_.*|curl_.*|res_.*|getaddrinfo)$'
for o in "$@"; do
	bad=$(nm -u "$o" | awk '{print $2}' | sed 's/@.*//' | grep -E "$forbidden" | tr '\n' ' ')
	if [ -n "$bad" ]; then
		echo "check-core: $o (pure core) uses: $bad"
		fail=1
	fi
done
[ $fail = 0 ] && echo "check-core: $# core objects include and call nothing outside the core"
exit $fail
