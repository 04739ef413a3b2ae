/*
 * names.h - the words operators read and write for the ABI's enums, in one
 * place: rule actions and origins, agent modes.  What the CLI prints, the
 * state file stores and the JSON carries are these same words.  Pure.
 */
#ifndef BW_NAMES_H
#define BW_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* "block", "throttle"; "-" for anything else (an allow rule). */
const char *names_action(uint32_t action);
/* "operator", "scorer", "crowdsec"; "unknown" for anything else. */
const char *names_origin(uint32_t origin);
/* "enforce", "monitor"; "unknown" for anything else. */
const char *names_mode(uint32_t mode);

/* "score", "storm", "always" (enum bw_bounce_policy). */
const char *names_bounce_policy(uint32_t p);
/* "auto", "on", "off" (enum bw_xdp_multi). */
const char *names_xdp_multi(uint32_t m);

/* The reverse, for text of length n (not NUL-terminated).  0 or -EINVAL. */
int names_action_parse(const char *s, size_t n, uint32_t *action);
int names_origin_parse(const char *s, size_t n, uint32_t *origin);
int names_mode_parse(const char *s, size_t n, uint32_t *mode);
int names_bounce_policy_parse(const char *s, size_t n, uint32_t *p);
int names_xdp_multi_parse(const char *s, size_t n, uint32_t *m);

#endif
