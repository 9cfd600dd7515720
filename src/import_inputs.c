/*
 * import_inputs.c - the files of one import, read ahead (see import_inputs.h).
 */
#include "followup/import_inputs.h"

#include "followup/csv_utf16.h"
#include "followup/fields.h"
#include "followup/import_header.h"
#include "followup/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct import_inputs {
	char **files;
	int count;
	int *copies;            /* per input, a temporary copy of a pipe it names, or -1 */
	off_t stdin_start;      /* where stdin, copied to a file if a pipe, starts */
	const char *const *maps;        /* --map */
	size_t nmaps;
	/* With several files: [file * nmaps + k], whether the file has the column of the
	 * k-th --map (NULL: every --map applies to every file). */
	unsigned char *map_found;
};

/* A temporary file (unlinked at once) holding what is left to read of from, at its
 * start; -1 (reported, naming what) when it cannot be made: what was read is lost then. */
static int copy_to_temp(int from, const char *what)
{
	char buf[65536];
	ssize_t n = 0;
	int fd;

	if ((fd = temp_file("followup-stdin")) < 0) {
		error("cannot copy %s to a file in %s: %s", what, temp_dir(), strerror(errno));
		return -1;
	}
	while ((n = read(from, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
	if (n != 0 || lseek(fd, 0, SEEK_SET) < 0) {
		error("cannot copy %s to a file in %s: %s", what, temp_dir(),
		      n > 0 ? "short write (is the disk full?)" : strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* A pipe cannot be read twice: it is copied to a temporary file (unlinked at once) that
 * takes the place of stdin, so that stdin is read like any file. Sets *start to where
 * stdin starts; -1 (reported) when it cannot be copied: what was read is lost then. */
static int rewindable_stdin(off_t *start)
{
	int fd, ret = 0;

	if ((*start = lseek(STDIN_FILENO, 0, SEEK_CUR)) >= 0)
		return 0;       /* a file already */
	*start = 0;
	if ((fd = copy_to_temp(STDIN_FILENO, "stdin")) < 0)
		return -1;
	if (dup2(fd, STDIN_FILENO) < 0)
		ret = error("cannot read stdin back: %s", strerror(errno));
	close(fd);
	return ret;
}

/*
 * When what fd reads from its position on is UTF-16 (Excel's "Unicode Text"), a copy of
 * it in UTF-8 into *copy: a temporary file (unlinked at once) at its start, which the
 * CSV reader reads as it reads any file, with the same lines. Else *copy is -1 and fd
 * is where it was. FU_OK; FU_USAGE (reported) when the text is not valid UTF-16; FU_FAIL
 * (reported) when it cannot be read or copied.
 */
static int utf8_copy_of_utf16(int fd, const char *name, int *copy)
{
	unsigned char head[4];
	off_t start = lseek(fd, 0, SEEK_CUR);
	ssize_t n = start < 0 ? -1 : pread(fd, head, sizeof(head), start);
	const char *encoding;
	char *err = NULL;
	size_t bom;
	int rc;

	*copy = -1;
	if (n < 0 || !(encoding = csv_utf16_encoding(head, (size_t)n, &bom)))
		return FU_OK;   /* not UTF-16 (or unreadable: the import says so) */
	if ((*copy = temp_file("followup-utf8")) < 0) {
		error("cannot convert '%s' from UTF-16 to a file in %s: %s", name, temp_dir(),
		      strerror(errno));
		return FU_FAIL;
	}
	if (lseek(fd, start + (off_t)bom, SEEK_SET) < 0)
		rc = CSV_EIO, err = xasprintf("cannot read '%s': %s", name, strerror(errno));
	else
		rc = csv_utf16_to_utf8(fd, *copy, encoding, name, &err);
	if (!rc && lseek(*copy, 0, SEEK_SET) < 0)
		rc = CSV_EIO, err = xasprintf("cannot read '%s' converted: %s", name,
					      strerror(errno));
	if (!rc)
		return FU_OK;
	error("%s", err);
	free(err);
	close(*copy);
	*copy = -1;
	return rc == CSV_EFORMAT ? FU_USAGE : FU_FAIL;
}

/* Stdin in UTF-16 is read from its copy in UTF-8, which takes its place. */
static int utf8_stdin(off_t *start)
{
	int copy, ret = utf8_copy_of_utf16(STDIN_FILENO, "<stdin>", &copy);

	if (ret || copy < 0)
		return ret;
	if (dup2(copy, STDIN_FILENO) < 0) {
		error("cannot read stdin back: %s", strerror(errno));
		ret = FU_FAIL;
	}
	*start = 0;
	close(copy);
	return ret;
}

/* The copy input i is read from: of a pipe (a FIFO, bash's <(...) as /dev/fd/63), which
 * cannot be read twice, as stdin is; of a file in UTF-16, in UTF-8. -1 for a regular
 * file read as it is, and for a file that cannot be opened (the import says what is
 * wrong with it). FU_OK, or FU_USAGE / FU_FAIL (reported). */
static int copy_input(struct import_inputs *in, int i)
{
	const char *file = in->files[i];
	struct stat st;
	int fd, pipe_copy = -1, ret;

	if (stat(file, &st) || S_ISDIR(st.st_mode) ||
	    (fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return FU_OK;
	if (!S_ISREG(st.st_mode)) {
		pipe_copy = copy_to_temp(fd, file);
		close(fd);
		if (pipe_copy < 0)
			return FU_FAIL;
		fd = pipe_copy;
	}
	ret = utf8_copy_of_utf16(fd, file, &in->copies[i]);
	if (in->copies[i] < 0 && pipe_copy >= 0)
		in->copies[i] = pipe_copy;
	else
		close(fd);
	return ret;
}

int import_inputs_csv(const struct import_inputs *in, int i, struct csv_reader **csv,
		      char **err)
{
	const char *file = in->files[i];

	if (in->copies[i] >= 0)
		return csv_open_copy(csv, in->copies[i], file, err);
	if (!strcmp(file, "-"))         /* a second '-' reads the copy again from its start */
		lseek(STDIN_FILENO, in->stdin_start, SEEK_SET);
	return csv_open(csv, file, err);
}

/* The header a --map names ("Correo electrónico" of "Correo electrónico=email"), its
 * length in *len; NULL when the map is malformed (header_map_build says so). */
static const char *map_header_of(const char *spec, int *len)
{
	const char *eq = strrchr(spec, '=');

	if (!eq || eq == spec)
		return NULL;
	*len = (int)(eq - spec);
	return spec;
}

/* Whether a record (a header, or a title line above it) has the column a --map names:
 * mapped to email, a header of its own spelling is all the map needs to build. */
static int has_map_column(const struct csv_record *rec, const char *spec)
{
	struct header_map *map = NULL;
	char *err = NULL, *probe;
	const char *header;
	int len, found;

	if (!(header = map_header_of(spec, &len)))
		return 1;
	probe = xasprintf("%.*s=email", len, header);
	found = !header_map_build(&map, rec, (const char *const *)&probe, 1, &err);
	header_map_free(map);
	free(err);
	free(probe);
	return found;
}

/* With several files, which has the column of each --map, read from the lines that may
 * be its header (the first, and the title lines it may have): a --map for the columns
 * of one vendor's files need not be in the others'. A file that cannot be read here
 * has them all (its import says what is wrong). */
static void find_map_columns(struct import_inputs *in)
{
	if (!in->nmaps || in->count < 2)
		return;
	in->map_found = xcalloc((size_t)in->count, in->nmaps);
	for (int i = 0; i < in->count; i++) {
		unsigned char *found = in->map_found + (size_t)i * in->nmaps;
		struct csv_reader *csv = NULL;
		struct csv_record rec = CSV_RECORD_INIT;
		char *err = NULL;

		if (import_inputs_csv(in, i, &csv, &err))
			memset(found, 1, in->nmaps);
		for (int line = 0; csv && line <= CSV_MAX_TITLE_LINES &&
		     csv_read(csv, &rec, &err) == 1; line++)
			for (size_t k = 0; k < in->nmaps; k++)
				found[k] |= has_map_column(&rec, in->maps[k]);
		free(err);
		csv_record_release(&rec);
		csv_close(csv);
	}
}

int import_inputs_open(struct import_inputs **out, char **files, int nfiles,
		       const char *const *maps, size_t nmaps)
{
	struct import_inputs *in = xcalloc(1, sizeof(*in));
	int ret;

	*out = in;
	in->files = files;
	in->count = nfiles;
	in->maps = maps;
	in->nmaps = nmaps;
	in->copies = xmalloc((size_t)(nfiles ? nfiles : 1) * sizeof(*in->copies));
	for (int i = 0; i < nfiles; i++)
		in->copies[i] = -1;
	for (int i = 0; i < nfiles; i++)
		if (!strcmp(files[i], "-")) {
			if (rewindable_stdin(&in->stdin_start))
				return FU_FAIL;
			if ((ret = utf8_stdin(&in->stdin_start)))
				return ret;
			break;  /* once: a second `-` reads the same copy */
		}
	for (int i = 0; i < nfiles; i++)
		if (strcmp(files[i], "-") && (ret = copy_input(in, i)))
			return ret;
	find_map_columns(in);
	return FU_OK;
}

void import_inputs_close(struct import_inputs *in)
{
	if (!in)
		return;
	for (int i = 0; i < in->count; i++)
		if (in->copies[i] >= 0)
			close(in->copies[i]);
	free(in->copies);
	free(in->map_found);
	free(in);
}

size_t import_inputs_maps(const struct import_inputs *in, int i, const char **maps)
{
	size_t n = 0;

	for (size_t k = 0; k < in->nmaps; k++) {
		int here = 1, anywhere = 0, len = 0;
		const char *header;

		for (int f = 0; in->map_found && f < in->count; f++)
			anywhere |= in->map_found[(size_t)f * in->nmaps + k];
		if (in->map_found)
			here = in->map_found[(size_t)i * in->nmaps + k];
		if (here || !anywhere) {
			maps[n++] = in->maps[k];
			continue;
		}
		header = map_header_of(in->maps[k], &len);
		warning("%s: no column '%.*s': --map '%s' is not used for this file",
			in->files[i], len, header, in->maps[k]);
	}
	return n;
}

enum date_order import_inputs_date_order(const struct import_inputs *in, int i,
					 const char *const *maps, size_t nmaps)
{
	struct csv_reader *csv = NULL;
	struct header_map *map = NULL;
	struct csv_record rec = CSV_RECORD_INIT;
	struct header_cells *header = NULL;
	enum date_order order = DATE_ORDER_AUTO;
	char *err = NULL;
	int title_lines;

	if (import_inputs_csv(in, i, &csv, &err) || csv_read(csv, &rec, &err) != 1 ||
	    import_header_read(csv, &rec, maps, nmaps, &map, &err, &title_lines))
		goto out;
	header = header_cells_new(&rec);
	while (order == DATE_ORDER_AUTO && csv_read(csv, &rec, &err) == 1) {
		char *when;

		if (header_cells_again(header, &rec))
			continue;
		when = header_map_scanned_at(map, &rec);
		if (when && date_first_field_over_12(when))
			order = DATE_ORDER_DMY;
		free(when);
	}
out:
	free(err);
	header_cells_free(header);
	header_map_free(map);
	csv_record_release(&rec);
	csv_close(csv);
	return order;
}
