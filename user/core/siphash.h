/*
 * siphash.h - SipHash-2-4 (Aumasson and Bernstein), keyed.
 *
 * Every table indexed by something a remote party chooses (source
 * addresses, ports, recipients) hashes with a key drawn from getrandom()
 * at start, so nobody can aim collisions at one chain or steer which flows
 * get sampled.  Pure.
 */
#ifndef BW_SIPHASH_H
#define BW_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_BYTES	16

uint64_t siphash24(const uint8_t key[SIPHASH_KEY_BYTES], const void *data, size_t len);

#endif
