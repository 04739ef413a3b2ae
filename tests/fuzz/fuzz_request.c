/*
 * fuzz_request.c - libFuzzer target: bytes arriving on the control socket
 * go through the same decode and parse the agent runs on them.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[REQ_BYTES_MAX], err[256];
	char *argv[REQ_ARGS_MAX];
	struct request r;
	int argc;

	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	argc = request_decode(buf, size, argv);
	if (argc > 0)
		request_parse(argc, argv, &r, err, sizeof(err));
	return 0;
}
