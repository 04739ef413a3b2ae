/*
 * smtp_int.h - what the parser's two halves share: smtp_parse.c (the
 * client's commands, the transaction) and smtp_reply.c (the server's
 * replies).  Not for other modules: smtp_parse.h is the API.
 */
#ifndef BW_SMTP_INT_H
#define BW_SMTP_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "smtp_parse.h"

/* The oldest command waiting for a reply; false when none is. */
bool smtp_fifo_pop(struct smtp_session *s, struct smtp_pending *out);

/* Is the open transaction still taking commands (not closing)? */
bool smtp_txn_accepting(const struct smtp_session *s);

/* Hand the transaction to the hooks and close it. */
void smtp_txn_emit(struct smtp_ctx *ctx, struct smtp_session *s, enum smtp_txn_end end,
		   uint64_t now);

/* STARTTLS went through: the rest of the session is opaque. */
void smtp_go_opaque(struct smtp_ctx *ctx, struct smtp_session *s, uint64_t now);

/* Count len octets of session traffic. */
void smtp_session_count(struct smtp_ctx *ctx, struct smtp_session *s, size_t len);

#endif
