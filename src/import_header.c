/*
 * import_header.c - a badge file's header as the import finds it (see import_header.h).
 */
#include "followup/import_header.h"

#include "followup/util.h"

#include <stdlib.h>

/* A line a report may put above its header: a title, an export date, "Event:,Expo". */
static int looks_like_title(const struct csv_record *rec)
{
	size_t cells = 0;

	for (size_t i = 0; i < rec->count; i++)
		cells += !str_empty(rec->fields[i]);
	return cells <= 2;
}

int import_header_read(struct csv_reader *csv, struct csv_record *rec,
		       const char *const *maps, size_t nmaps, struct header_map **map,
		       char **err, int *title_lines)
{
	char *later = NULL;

	*title_lines = 0;
	if (!header_map_build(map, rec, maps, nmaps, err))
		return 0;
	while (*title_lines < CSV_MAX_TITLE_LINES && looks_like_title(rec) &&
	       csv_read(csv, rec, &later) == 1) {
		++*title_lines;
		if (!header_map_build(map, rec, maps, nmaps, &later)) {
			free(*err);
			*err = NULL;
			csv_take_as_header(csv, rec);
			return 0;
		}
		free(later);
		later = NULL;
	}
	free(later);
	return -1;
}

struct header_cells {
	char **cells;
	size_t count;
};

struct header_cells *header_cells_new(const struct csv_record *header)
{
	struct header_cells *h = xcalloc(1, sizeof(*h));

	h->count = header->count;
	h->cells = xcalloc(h->count ? h->count : 1, sizeof(*h->cells));
	for (size_t i = 0; i < h->count; i++)
		h->cells[i] = xstrdup(header->fields[i]);
	return h;
}

void header_cells_free(struct header_cells *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->count; i++)
		free(h->cells[i]);
	free(h->cells);
	free(h);
}

int header_cells_again(const struct header_cells *h, const struct csv_record *rec)
{
	size_t n = h->count > rec->count ? h->count : rec->count;

	for (size_t i = 0; i < n; i++)
		if (!str_same_trimmed_nocase(i < h->count ? h->cells[i] : NULL,
					     i < rec->count ? rec->fields[i] : NULL))
			return 0;
	return 1;
}
