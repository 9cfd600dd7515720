/* libFuzzer harness: the CSV reader on arbitrary bytes, header mapping included. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "followup/csv.h"
#include "followup/fields.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz.csv", 0);
	char path[64], *err = NULL;
	struct csv_reader *r = NULL;
	struct csv_record rec = CSV_RECORD_INIT;
	struct header_map *map = NULL;

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (csv_open(&r, path, &err) == CSV_OK) {
		if (csv_read(r, &rec, &err) == 1 && header_map_build(&map, &rec, NULL, 0, &err) == 0) {
			while (csv_read(r, &rec, &err) == 1) {
				free(header_map_scanned_at(map, &rec));
				free(header_map_extra_json(map, &rec));
				const char *reason;
				email_plausible(header_map_value(map, &rec, FIELD_EMAIL), &reason);
			}
		}
	}
	free(err);
	header_map_free(map);
	csv_record_release(&rec);
	csv_close(r);
	close(fd);
	return 0;
}
