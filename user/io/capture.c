/*
 * capture.c - libpcap on the protected interfaces (capture.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <pcap/pcap.h>

#include "capture.h"

/* "tcp port 25 or tcp port 587 ..." and the same behind one VLAN tag.
 * Returns 0 or -ENOSPC. */
static int
build_filter(char *buf, size_t len, const uint16_t *ports, unsigned int n)
{
	char one[BW_MAX_PORTS * 20] = "";
	size_t off = 0;
	int w;

	for (unsigned int i = 0; i < n; i++) {
		w = snprintf(one + off, sizeof(one) - off, "%stcp port %u", i ? " or " : "",
			     ports[i]);
		if (w < 0 || (size_t)w >= sizeof(one) - off)
			return -ENOSPC;
		off += (size_t)w;
	}
	w = snprintf(buf, len, "(%s) or (vlan and (%s))", one, one);
	return w < 0 || (size_t)w >= len ? -ENOSPC : 0;
}

static void
on_frame(u_char *arg, const struct pcap_pkthdr *h, const u_char *frame)
{
	void **ctx = (void **)arg;
	struct capture *c = ctx[0];
	struct engine *e = ctx[1];
	uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000ULL + (uint64_t)h->ts.tv_usec;

	c->frames++;
	engine_frame(e, c->linktype, frame, h->caplen, ts);
}

int
capture_open(struct capture *c, const char *ifname, const uint16_t *ports,
	     unsigned int n_ports, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "", filter[1024];
	struct bpf_program prog;
	int ret;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	snprintf(c->ifname, sizeof(c->ifname), "%s", ifname);
	c->pcap = pcap_create(ifname, ebuf);
	if (!c->pcap) {
		snprintf(err, errlen, "pcap_create %s: %s", ifname, ebuf);
		return -ENODEV;
	}
	if (pcap_set_snaplen(c->pcap, CAPTURE_SNAPLEN) != 0 ||
	    pcap_set_buffer_size(c->pcap, CAPTURE_BUFFER) != 0 ||
	    pcap_set_timeout(c->pcap, CAPTURE_TIMEOUT_MS) != 0 ||
	    pcap_set_tstamp_precision(c->pcap, PCAP_TSTAMP_PRECISION_NANO) != 0) {
		snprintf(err, errlen, "pcap setup %s: %s", ifname, pcap_geterr(c->pcap));
		goto fail;
	}
	ret = pcap_activate(c->pcap);
	if (ret < 0) {
		snprintf(err, errlen, "pcap activate %s: %s", ifname, pcap_geterr(c->pcap));
		goto fail;
	}
	if (build_filter(filter, sizeof(filter), ports, n_ports) < 0 ||
	    pcap_compile(c->pcap, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen, "pcap filter %s: %s", ifname, pcap_geterr(c->pcap));
		goto fail;
	}
	ret = pcap_setfilter(c->pcap, &prog);
	pcap_freecode(&prog);
	if (ret != 0 || pcap_setnonblock(c->pcap, 1, ebuf) != 0) {
		snprintf(err, errlen, "pcap filter %s: %s", ifname, pcap_geterr(c->pcap));
		goto fail;
	}
	c->linktype = pcap_datalink(c->pcap);
	c->fd = pcap_get_selectable_fd(c->pcap);
	if (c->fd < 0) {
		snprintf(err, errlen, "pcap %s: no selectable fd", ifname);
		goto fail;
	}
	return 0;
fail:
	pcap_close(c->pcap);
	c->pcap = NULL;
	return -EIO;
}

int
capture_dispatch(struct capture *c, struct engine *e)
{
	void *ctx[2] = { c, e };
	int n = pcap_dispatch(c->pcap, CAPTURE_BATCH, on_frame, (u_char *)ctx);

	return n < 0 ? -EIO : n;
}

uint64_t
capture_drops(struct capture *c)
{
	struct pcap_stat st;

	if (!c->pcap || pcap_stats(c->pcap, &st) != 0)
		return c->drops_seen;
	c->drops_seen = (uint64_t)st.ps_drop + st.ps_ifdrop;
	return c->drops_seen;
}

void
capture_close(struct capture *c)
{
	if (c->pcap)
		pcap_close(c->pcap);
	c->pcap = NULL;
	c->fd = -1;
}
