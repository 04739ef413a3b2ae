/*
 * lapi.c - libcurl's multi interface on the agent's event loop (lapi.h).
 *
 * curl tells us which sockets to watch and when it next wants to run;
 * evloop tells curl which socket is ready or that its time came.  A call
 * ends in check_done(), after curl_multi_socket_action() has returned,
 * so a completion callback may start the next call.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <curl/curl.h>

#include "lapi.h"
#include "log.h"

struct lapi_client {
	CURLM *multi;
	struct evloop *loop;
	struct evloop_timer timer;
	struct lapi_call *calls;	/* in flight */
};

struct lapi_call {
	struct lapi_client *c;
	CURL *easy;
	struct curl_slist *headers;
	lapi_body_fn *on_body;
	lapi_done_fn *on_done;
	void *arg;
	size_t max_body;
	size_t received;
	char *buf;			/* buffered body */
	size_t buf_len, buf_cap;
	bool checked;			/* status looked at (first piece) */
	bool streaming;			/* a 2xx body going to on_body */
	bool error_page;		/* a non-2xx body: kept for the log */
	bool too_big;
	bool refused;			/* on_body said -1 */
	char errbuf[CURL_ERROR_SIZE];
	struct lapi_call *next;
};

/* Sockets curl asked us to watch carry this mark (curl_multi_assign). */
static char watched;

static void check_done(struct lapi_client *c);

static void
on_fd(void *arg, int fd, uint32_t events)
{
	struct lapi_client *c = arg;
	int flags = 0, running;

	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(c->multi, fd, flags, &running);
	check_done(c);
}

static int
on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct lapi_client *c = userp;
	uint32_t events = 0;
	int ret;

	if (what == CURL_POLL_REMOVE) {
		if (socketp) {
			evloop_del(c->loop, s);
			curl_multi_assign(c->multi, s, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	if (socketp) {
		ret = evloop_mod(c->loop, s, events);
	} else {
		ret = evloop_add(c->loop, s, events, on_fd, c);
		if (ret == 0)
			curl_multi_assign(c->multi, s, &watched);
	}
	if (ret < 0)
		log_err("fleet http socket=%d err=\"%s\"", (int)s, strerror(-ret));
	return 0;
}

static void
on_timer(void *arg)
{
	struct lapi_client *c = arg;
	int running;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(c);
}

static int
on_timer_set(CURLM *multi, long timeout_ms, void *userp)
{
	struct lapi_client *c = userp;

	if (timeout_ms < 0)
		evloop_timer_cancel(c->loop, &c->timer);
	else
		evloop_timer_arm(c->loop, &c->timer, evloop_now_ms() + (uint64_t)timeout_ms);
	return 0;
}

int
lapi_client_new(struct lapi_client **out, struct evloop *loop)
{
	static bool global_done;
	struct lapi_client *c;

	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -EIO;
		global_done = true;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->multi = curl_multi_init();
	if (!c->multi) {
		free(c);
		return -ENOMEM;
	}
	c->loop = loop;
	evloop_timer_init(&c->timer, on_timer, c);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer_set);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 4L);
	*out = c;
	return 0;
}

/* The call out of the client's list and curl, its memory freed; the
 * header strings (an API key, a token) wiped first. */
static void
call_free(struct lapi_call *call)
{
	struct lapi_call **pp;

	for (pp = &call->c->calls; *pp; pp = &(*pp)->next) {
		if (*pp == call) {
			*pp = call->next;
			break;
		}
	}
	curl_multi_remove_handle(call->c->multi, call->easy);
	curl_easy_cleanup(call->easy);
	for (struct curl_slist *h = call->headers; h; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(call->headers);
	free(call->buf);
	free(call);
}

void
lapi_client_free(struct lapi_client *c)
{
	if (!c)
		return;
	while (c->calls)
		call_free(c->calls);
	curl_multi_cleanup(c->multi);
	evloop_timer_cancel(c->loop, &c->timer);
	free(c);
}

/* Keep up to cap bytes of a body in call->buf (NUL-terminated). */
static bool
buffer(struct lapi_call *call, const char *p, size_t len, size_t cap)
{
	size_t want;
	char *b;

	if (call->buf_len + len > cap)
		return false;
	want = call->buf_len + len + 1;
	if (want > call->buf_cap) {
		size_t ncap = call->buf_cap ? call->buf_cap : 1024;

		while (ncap < want)
			ncap *= 2;
		b = realloc(call->buf, ncap);
		if (!b)
			return false;
		call->buf = b;
		call->buf_cap = ncap;
	}
	memcpy(call->buf + call->buf_len, p, len);
	call->buf_len += len;
	call->buf[call->buf_len] = '\0';
	return true;
}

static size_t
on_write(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct lapi_call *call = userdata;
	size_t len = size * nmemb;
	long status = 0;
	int r;

	if (!call->checked) {
		curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
		call->error_page = status < 200 || status >= 300;
		call->streaming = call->on_body && !call->error_page;
		call->checked = true;
	}
	if (call->received + len > call->max_body) {
		call->too_big = true;
		return 0;
	}
	if (call->streaming) {
		r = call->on_body(call->arg, p, len);
		if (r == 0)
			return CURL_WRITEFUNC_PAUSE;
		if (r < 0) {
			call->refused = true;
			return 0;
		}
	} else if (call->error_page) {
		/* what fits for the log, the rest dropped */
		size_t room = LAPI_ERROR_BODY > call->buf_len ? LAPI_ERROR_BODY - call->buf_len : 0;

		buffer(call, p, len < room ? len : room, LAPI_ERROR_BODY);
	} else if (!buffer(call, p, len, call->max_body)) {
		call->too_big = true;
		return 0;
	}
	call->received += len;
	return len;
}

static int
error_of(const struct lapi_call *call, CURLcode res)
{
	switch (res) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_FILESIZE_EXCEEDED:
		return -EFBIG;
	case CURLE_WRITE_ERROR:
		return call->too_big ? -EFBIG : call->refused ? -ECANCELED : -EIO;
	default:
		return -EIO;
	}
}

static void
finish(struct lapi_call *call, CURLcode res)
{
	struct lapi_result r = { 0 };
	curl_off_t us = 0;

	r.err = error_of(call, res);
	curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_getinfo(call->easy, CURLINFO_TOTAL_TIME_T, &us);
	r.ms = (uint64_t)us / 1000;
	r.body = call->buf ? call->buf : "";
	r.len = call->streaming ? call->received : call->buf_len;
	r.what = r.err == -EFBIG ? "body over its limit" :
		 r.err == -ECANCELED ? "body refused" :
		 call->errbuf[0] ? call->errbuf : curl_easy_strerror(res);
	/* Out of curl first: on_done may start the next call. */
	curl_multi_remove_handle(call->c->multi, call->easy);
	if (call->on_done)
		call->on_done(call->arg, &r);
	call_free(call);
}

static void
check_done(struct lapi_client *c)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(c->multi, &left))) {
		struct lapi_call *call = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&call);
		if (call)
			finish(call, m->data.result);
	}
}

static int
call_setup(struct lapi_call *call, const struct lapi_request *r)
{
	CURL *e = call->easy;
	bool ok = true;

	ok &= curl_easy_setopt(e, CURLOPT_URL, r->url) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			       (long)(r->timeout_ms < LAPI_CONNECT_MS ? r->timeout_ms :
				      LAPI_CONNECT_MS)) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_body) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_USERAGENT, "bouncewall/" BW_VERSION) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_WRITEDATA, call) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_PRIVATE, call) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->errbuf) == CURLE_OK;
	if (r->body) {
		ok &= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)r->body_len) == CURLE_OK;
		ok &= curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, r->body) == CURLE_OK;
	}
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "POST") != 0)
		ok &= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers) == CURLE_OK;
	return ok ? 0 : -EINVAL;
}

static int
add_header(struct lapi_call *call, const char *h)
{
	struct curl_slist *l = curl_slist_append(call->headers, h);

	if (!l)
		return -ENOMEM;
	call->headers = l;
	return 0;
}

int
lapi_call_start(struct lapi_client *c, const struct lapi_request *r, struct lapi_call **out)
{
	struct lapi_call *call = calloc(1, sizeof(*call));
	int ret = 0;

	if (!call)
		return -ENOMEM;
	call->c = c;
	call->on_body = r->on_body;
	call->on_done = r->on_done;
	call->arg = r->arg;
	call->max_body = r->max_body;
	call->easy = curl_easy_init();
	if (!call->easy) {
		free(call);
		return -ENOMEM;
	}
	/* No "Expect: 100-continue" round trip before a JSON body. */
	ret = add_header(call, "Expect:");
	if (ret == 0 && r->body)
		ret = add_header(call, "Content-Type: application/json");
	for (int i = 0; ret == 0 && i < LAPI_HEADERS_MAX && r->headers[i]; i++)
		ret = add_header(call, r->headers[i]);
	if (ret == 0)
		ret = call_setup(call, r);
	call->next = c->calls;
	c->calls = call;
	if (ret == 0 && curl_multi_add_handle(c->multi, call->easy) != CURLM_OK)
		ret = -EIO;
	if (ret < 0) {
		call_free(call);
		return ret;
	}
	if (out)
		*out = call;
	return 0;
}

void
lapi_call_resume(struct lapi_call *call)
{
	/* curl re-delivers the paused piece and arms its timer for the rest. */
	curl_easy_pause(call->easy, CURLPAUSE_CONT);
}

void
lapi_call_cancel(struct lapi_call *call)
{
	call_free(call);
}
