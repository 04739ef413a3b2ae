/*
 * bench-rss-gen.c - the captures scripts/bench-rss.sh replays at the live
 * agent: N distinct SMTP sources, or N open SMTP connections from a few,
 * written as a classic Ethernet pcap in well under a second per million
 * packets (the Python generator takes ~25 s per million).
 *
 *   bench-rss-gen MODE N OUT.pcap DST_MAC SRC_MAC DST4 DST6 NET
 *
 * NET (the lab number, 1..255) places the sources in 10.NET.0.0/16 and
 * fd00:NET::/32 (NET read as hex digits there): 243 gives 10.243.0.0/16
 * and fd00:243::/32.
 *
 *   sources  N sources, each one connection: SYN, one client segment
 *            "EHLO / MAIL FROM:<> / RCPT TO:<...>" (pipelined), RST.  The
 *            RST ends the session, so the parser emits the null-sender
 *            transaction and the scorer tracks the source.  Sources
 *            alternate IPv4 (10.NET.1.0 - 10.NET.254.255, at most 65,024)
 *            and IPv6 (fd00:NET:X:Y::1, one /64 each); past the IPv4
 *            range, IPv6 only.  3 packets per source.
 *   flows    N connections left open: SYN, "EHLO" segment, no end.  Clients
 *            10.NET.255.1, .2, ... (60,000 ports each): the flow table holds
 *            N flows, the scorer tracks nothing (no MAIL FROM).  2 packets
 *            per flow.
 *   warm     N connections from fd00:NET:ffff:ffff::1 and 10.NET.255.255
 *            (alternating), ended by RST: the first carries a MAIL FROM
 *            (one tracked source per family at most), the others EHLO only.
 *            Touches the flow table's entries, the capture ring and every
 *            code path before the idle measurement.  3 packets each.
 *
 * Valid IPv4 header and TCP checksums; timestamps 1 µs apart (tcpreplay
 * is given its own rate).  Prints the packet count on stdout.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V4_FIRST	256u		/* 10.NET.1.0 */
#define V4_END		65280u		/* 10.NET.255.0: not a source */
#define PORTS_PER_CLIENT 60000u

static FILE *out;
static uint64_t npkt;
static uint8_t dmac[6], smac[6];
static uint8_t dst4[4], dst6[16];
static uint8_t net4;
static uint16_t net6;

static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One TCP segment from src:sport to the server's port 25. */
static void
segment(const uint8_t *src, int v6, uint16_t sport, uint32_t seq, uint32_t ack,
	uint8_t flags, const char *payload)
{
	uint8_t f[1600];
	size_t plen = payload ? strlen(payload) : 0, l3 = v6 ? 40 : 20, n;
	uint8_t *ip = f + 14, *tcp = ip + l3;
	uint32_t sum;
	uint32_t rec[4];

	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	put16(f + 12, v6 ? 0x86dd : 0x0800);
	memset(ip, 0, l3 + 20);
	if (v6) {
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(20 + plen));
		ip[6] = 6;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst6, 16);
	} else {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + 20 + plen));
		put16(ip + 4, (uint16_t)npkt);
		ip[6] = 0x40;	/* DF */
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst4, 4);
		put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	}
	put16(tcp, sport);
	put16(tcp + 2, 25);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put16(tcp + 14, 64240);
	memcpy(tcp + 20, payload ? payload : "", plen);
	/* pseudo-header */
	if (v6) {
		sum = csum_add(0, ip + 8, 32);
		sum += (uint32_t)(20 + plen) + 6;
	} else {
		sum = csum_add(0, ip + 12, 8);
		sum += 6 + (uint32_t)(20 + plen);
	}
	sum = csum_add(sum, tcp, 20 + plen);
	put16(tcp + 16, csum_fold(sum));
	n = 14 + l3 + 20 + plen;

	rec[0] = (uint32_t)(1700000000u + npkt / 1000000);
	rec[1] = (uint32_t)(npkt % 1000000);
	rec[2] = rec[3] = (uint32_t)n;
	fwrite(rec, sizeof(rec), 1, out);
	fwrite(f, n, 1, out);
	npkt++;
}

#define SYN 0x02
#define FIN 0x01
#define RST 0x04
#define PSH 0x08
#define ACK 0x10

static uint32_t
isn_of(uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(x >> 32);
}

/* One connection: SYN, a client segment, RST when `end`. */
static void
conn(const uint8_t *src, int v6, uint16_t sport, uint64_t i, const char *data, int end)
{
	uint32_t isn = isn_of(i);

	segment(src, v6, sport, isn, 0, SYN, NULL);
	segment(src, v6, sport, isn + 1, 1, PSH | ACK, data);
	if (end)
		segment(src, v6, sport, isn + 1 + (uint32_t)strlen(data), 0, RST, NULL);
}

static void
v4_addr(uint8_t a[4], uint32_t host16)
{
	a[0] = 10;
	a[1] = net4;
	a[2] = (uint8_t)(host16 >> 8);
	a[3] = (uint8_t)host16;
}

static void
v6_addr(uint8_t a[16], uint32_t j)
{
	memset(a, 0, 16);
	a[0] = 0xfd;
	put16(a + 2, net6);
	put32(a + 4, j);	/* fd00:NET:JJJJ:JJJJ::1 */
	a[15] = 1;
}

static int
parse_mac(const char *s, uint8_t m[6])
{
	unsigned int v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		m[i] = (uint8_t)v[i];
	return 0;
}

int
main(int argc, char **argv)
{
	static const uint32_t ghdr[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
	static char buf[1 << 20];
	char data[256];
	uint8_t src[16];
	uint64_t n, v4 = 0, v6 = 0;
	unsigned long net = argc == 9 ? strtoul(argv[8], NULL, 10) : 0;

	if (argc != 9 || net < 1 || net > 255 || parse_mac(argv[4], dmac) || parse_mac(argv[5], smac) ||
	    inet_pton(AF_INET, argv[6], dst4) != 1 || inet_pton(AF_INET6, argv[7], dst6) != 1) {
		fprintf(stderr, "usage: %s sources|flows|warm N OUT.pcap DST_MAC SRC_MAC DST4 DST6 NET\n",
			argv[0]);
		return 2;
	}
	net4 = (uint8_t)net;
	net6 = (uint16_t)strtoul(argv[8], NULL, 16);
	n = strtoull(argv[2], NULL, 10);
	out = fopen(argv[3], "wb");
	if (!out) {
		perror(argv[3]);
		return 1;
	}
	setvbuf(out, buf, _IOFBF, sizeof(buf));
	fwrite(ghdr, sizeof(ghdr), 1, out);

	if (strcmp(argv[1], "sources") == 0) {
		for (uint64_t i = 0; i < n; i++) {
			int is6 = !((i & 1) == 0 && V4_FIRST + v4 < V4_END);

			if (is6)
				v6_addr(src, (uint32_t)v6++);
			else
				v4_addr(src, (uint32_t)(V4_FIRST + v4++));
			snprintf(data, sizeof(data),
				 "EHLO mta%llu.example.net\r\nMAIL FROM:<>\r\n"
				 "RCPT TO:<u%llu@victim.example>\r\n",
				 (unsigned long long)i, (unsigned long long)i);
			conn(src, is6, (uint16_t)(1024 + i % PORTS_PER_CLIENT), i, data, 1);
		}
	} else if (strcmp(argv[1], "flows") == 0) {
		for (uint64_t i = 0; i < n; i++) {
			uint64_t c = i / PORTS_PER_CLIENT;

			if (c >= 254) {
				fprintf(stderr, "bench-rss-gen: at most %u flows\n",
					254 * PORTS_PER_CLIENT);
				return 2;
			}
			v4_addr(src, (uint32_t)(V4_END + c + 1));
			conn(src, 0, (uint16_t)(1024 + i % PORTS_PER_CLIENT), i,
			     "EHLO client.example\r\n", 0);
		}
	} else if (strcmp(argv[1], "warm") == 0) {
		uint8_t s4[4], s6[16];

		v4_addr(s4, 0xffff);
		v6_addr(s6, 0xffffffffu);
		for (uint64_t i = 0; i < n; i++) {
			int is6 = i & 1;

			conn(is6 ? s6 : s4, is6, (uint16_t)(1024 + i % PORTS_PER_CLIENT), i,
			     i < 2 ? "EHLO warm.example\r\nMAIL FROM:<>\r\n"
				     "RCPT TO:<warm@victim.example>\r\n"
				   : "EHLO warm.example\r\n", 1);
		}
	} else {
		fprintf(stderr, "bench-rss-gen: unknown mode %s\n", argv[1]);
		return 2;
	}
	if (fclose(out) != 0) {
		perror(argv[3]);
		return 1;
	}
	printf("%llu\n", (unsigned long long)npkt);
	return 0;
}
