/* libFuzzer harness: the sequence loader on arbitrary bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "followup/sequence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz.yaml", 0);
	char path[64];
	struct diag_list d = DIAG_LIST_INIT;
	struct sequence *seq = NULL;

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (sequence_load_file(path, &seq, &d) == 0) {
		for (size_t i = 0; i < seq->nsteps; i++)
			if (!seq->steps[i].id)
				abort();        /* a valid sequence has every step named */
		sequence_free(seq);
	}
	diag_release(&d);
	close(fd);
	return 0;
}
