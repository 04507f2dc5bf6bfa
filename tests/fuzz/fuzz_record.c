// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the record reader (src/record/rec_read.c) on any
 * bytes. Build and run: make fuzz-record (FUZZ_SECONDS=60). */
#include <stddef.h>
#include <stdint.h>
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct record r;
	char err[256];

	if (rec_parse((const char *)data, size, &r, err, sizeof(err)) == 0)
		rec_free(&r);
	return 0;
}
