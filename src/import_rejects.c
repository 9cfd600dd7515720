/*
 * import_rejects.c - the rejects files of an import (see import_rejects.h).
 */
#include "followup/import_rejects.h"

#include "followup/cli.h"
#include "followup/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The column a rejects file adds after the row, headed so that no vendor's column is
 * taken for it. */
#define REJECTS_REASON "followup_reason"

/*
 * One rejects file: the rejected rows of the input files that share one header, under
 * that header, ready to fix and import again. The rows go to a temporary file as they
 * come; the rejects file itself is written only when the import lands (rejects_close),
 * so that a failed import leaves an earlier one alone.
 */
struct rejects_file {
	char *path;
	char *header;           /* its inputs' raw header, in UTF-8; NULL before a row */
	char delimiter;
	int bom;                /* an input had a BOM or was Windows-1252: Excel needs one */
	int sep_line;           /* an input had Excel's sep= line */
	FILE *rows;             /* the rows so far: an unlinked temporary file */
	int fd;                 /* the new file beside path, renamed onto it; -1 when path is
				 * written into (not a regular file) or before it is made */
	char *tmp;              /* fd's name */
};

struct import_rejects {
	const char *path;               /* --rejects */
	struct rejects_file *files;     /* [0] is --rejects; then one per other header */
	size_t nfiles;
	int stream;             /* --rejects is no regular file (a fifo, a device): one */
	char **inputs;          /* the files to import */
	int ninputs;
	/* The input file being read: its position (from 1), its header's cells, its
	 * reason column (-1: none), its rejects file once it rejected a row. */
	int ordinal;
	size_t columns;
	int reason_column;
	struct rejects_file *of_file;
};

static int same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && same_inode(&sa, &sb);
}

/* Whether path is what fd is open on (/dev/stdout, /proc/self/fd/0, a file redirected). */
static int is_open_as(const char *path, int fd)
{
	struct stat st, open_st;

	return !stat(path, &st) && !fstat(fd, &open_st) && same_inode(&st, &open_st);
}

/* An unlinked temporary file for the rows (they hold personal data: 0600, and gone
 * with the process whatever happens), or NULL (reported). */
static FILE *rows_file(void)
{
	int fd = temp_file("followup-rejects");
	FILE *f = NULL;

	if (fd < 0 || !(f = fdopen(fd, "w+"))) {
		error("cannot make a temporary file in %s: %s", temp_dir(), strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return f;
}

/* Whether path, as it is now, is renamed onto (a regular file of one name, or nothing
 * yet) or written into (a device, a fifo, a symlink, a hard link: replacing it would
 * break what it is). */
static int replaced_by_rename(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT;
	return S_ISREG(st.st_mode) && st.st_nlink == 1;
}

/* Makes the new file that is renamed onto rf->path when the import lands, now, so that
 * a directory we cannot write is found out before the import, not after it landed.
 * Nothing to make for a path that is written into. Returns FU_OK or FU_FAIL (reported). */
static int rejects_prepare(struct rejects_file *rf)
{
	rf->fd = -1;
	if (!replaced_by_rename(rf->path))
		return FU_OK;
	rf->tmp = xasprintf("%s.XXXXXX.tmp", rf->path);
	rf->fd = mkstemps(rf->tmp, 4);          /* 0600: a new rejects file stays so */
	if (rf->fd < 0) {
		error("cannot write '%s': %s", rf->path, strerror(errno));
		free(rf->tmp);
		rf->tmp = NULL;
		return FU_FAIL;
	}
	return FU_OK;
}

static void rejects_file_release(struct rejects_file *rf)
{
	if (rf->fd >= 0)
		close(rf->fd);
	if (rf->tmp)
		unlink(rf->tmp);
	if (rf->rows)
		fclose(rf->rows);
	free(rf->tmp);
	free(rf->header);
	free(rf->path);
}

static struct rejects_file *rejects_add(struct import_rejects *r, char *path)
{
	struct rejects_file *rf;

	r->files = xrealloc(r->files, (r->nfiles + 1) * sizeof(*r->files));
	rf = &r->files[r->nfiles++];
	*rf = (struct rejects_file){ .path = path, .fd = -1 };
	return rf;
}

/* A rejects file may be neither an input nor a directory: found out before the import. */
static int rejects_path_usable(const struct import_rejects *r, const char *path)
{
	for (int i = 0; i < r->ninputs; i++)
		if (same_file(path, r->inputs[i]))
			return usage_error("import", "--rejects '%s' is one of the files to import",
					   path);
	if (is_directory(path))
		return usage_error("import", "--rejects '%s' is a directory", path);
	return FU_OK;
}

/* "rejects.csv" for the file numbered n: "rejects-2.csv" ("rejects-2" without a dot). */
static char *numbered_path(const char *path, int n)
{
	const char *base = strrchr(path, '/'), *dot;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (!dot || dot == base)
		return xasprintf("%s-%d", path, n);
	return xasprintf("%.*s-%d%s", (int)(dot - path), path, n, dot);
}

/* Whether path is one of the inputs, or a rejects file of this import already. */
static int path_taken(const struct import_rejects *r, const char *path)
{
	for (int i = 0; i < r->ninputs; i++)
		if (same_file(path, r->inputs[i]) || !strcmp(path, r->inputs[i]))
			return 1;
	for (size_t i = 0; i < r->nfiles; i++)
		if (!strcmp(path, r->files[i].path))
			return 1;
	return 0;
}

/* "rejects-N.csv" for the file being read, N its position, or the next number free. */
static char *free_numbered_path(const struct import_rejects *r)
{
	char *path = NULL;

	for (int n = r->ordinal; !path || path_taken(r, path); n++) {
		free(path);
		path = numbered_path(r->path, n);
	}
	return path;
}

int rejects_open(struct import_rejects **out, const char *path, char **inputs, int ninputs)
{
	struct import_rejects *r;
	int status;

	*out = NULL;
	if (!path)
		return FU_OK;
	/* stdout carries the summary (and --json's): rejected rows there would mix in. */
	if (!strcmp(path, "-") || is_open_as(path, STDOUT_FILENO))
		return usage_error("import", "--rejects %s would mix the rows into the summary on"
				   " stdout: name a file (or /dev/stderr)", path);
	/* stdin may be the badge file itself ("import - < leads.csv"). */
	if (is_open_as(path, STDIN_FILENO))
		return usage_error("import", "--rejects %s is where the import reads from", path);
	r = xcalloc(1, sizeof(*r));
	r->path = path;
	r->inputs = inputs;
	r->ninputs = ninputs;
	r->reason_column = -1;
	if ((status = rejects_path_usable(r, path))) {
		rejects_close(r, 0);
		return status;
	}
	/* What is written into (a device, a fifo, a link) takes every group, each under its
	 * header: no numbered file is made beside it (not "/dev/stderr-2"). */
	r->stream = !replaced_by_rename(path);
	if ((status = rejects_prepare(rejects_add(r, xstrdup(path))))) {
		rejects_close(r, 0);
		return status;
	}
	*out = r;
	return FU_OK;
}

int rejects_reason_column(const struct csv_record *header)
{
	size_t last = header->count;
	char *cell;
	int column = -1;

	while (last > 1 && str_empty(header->fields[last - 1]))
		last--;
	if (last < 2)           /* a row to keep besides the reason */
		return -1;
	cell = str_trim(xstrdup(header->fields[last - 1]));
	if (!strcasecmp(cell, REJECTS_REASON))
		column = (int)last - 1;
	free(cell);
	return column;
}

void rejects_start_file(struct import_rejects *r, int ordinal, size_t columns,
			int reason_column)
{
	if (!r)
		return;
	r->ordinal = ordinal;
	r->columns = columns;
	r->reason_column = reason_column;
	r->of_file = NULL;
}

/* Where field n of a raw record (UTF-8, its line break removed) starts, less its
 * delimiter: the length of its first n fields; len when it has n fields or fewer. */
static size_t raw_fields_length(const char *raw, size_t len, char delimiter, size_t n)
{
	int quoted = 0, field_start = 1;

	for (size_t i = 0; i < len; i++) {
		if (quoted) {           /* to its closing quote; "" is a quote inside */
			if (raw[i] == '"' && i + 1 < len && raw[i + 1] == '"')
				i++;
			else if (raw[i] == '"')
				quoted = 0;
		} else if (raw[i] == '"' && field_start) {
			quoted = 1;     /* as the reader: a quote opens only a field's start */
		} else if (raw[i] == delimiter) {
			if (!--n)
				return i;
			field_start = 1;
			continue;
		}
		field_start = 0;
	}
	return len;
}

/* The rejects file of a file that has rejected a row: the one whose header it has (the
 * same raw header and delimiter), else --rejects while it has none, else a new one named
 * after the file's ordinal, so that every rejects file has one header and imports again.
 * A fifo or a device cannot be split: into it go all, each under its header. NULL
 * (reported) when it cannot be made. */
static struct rejects_file *rejects_for(struct import_rejects *r, const char *file,
					const struct csv_reader *csv)
{
	struct strbuf header = STRBUF_INIT;
	const char *raw = csv_header_raw(csv);
	struct rejects_file *rf = NULL;
	char *path;

	csv_add_raw_as_utf8(&header, raw, strlen(raw));
	if (r->reason_column >= 0)      /* a rejects file read back: its reason comes again */
		strbuf_setlen(&header, raw_fields_length(header.buf, header.len,
							 csv_delimiter(csv),
							 (size_t)r->reason_column));
	for (size_t i = 0; i < r->nfiles && !rf; i++)
		if (r->files[i].header && r->files[i].delimiter == csv_delimiter(csv) &&
		    !strcmp(r->files[i].header, header.buf))
			rf = &r->files[i];
	if (!rf && !r->files[0].header) {
		rf = &r->files[0];
	} else if (!rf && r->stream) {
		rf = rejects_add(r, xstrdup(r->path));
	} else if (!rf) {
		path = free_numbered_path(r);
		if (rejects_path_usable(r, path)) {
			free(path);
			goto fail;
		}
		if (rejects_prepare(rf = rejects_add(r, path)))
			goto fail;
		warning("%s: its header is not that of '%s': its rejected rows go to '%s'", file,
			r->files[0].path, path);
	}
	if (!rf->header) {
		rf->header = strbuf_detach(&header);
		rf->delimiter = csv_delimiter(csv);
		if (!(rf->rows = rows_file()))
			goto fail;
	}
	rf->bom |= csv_had_bom(csv);
	rf->sep_line |= csv_had_sep_line(csv);
	strbuf_release(&header);
	return rf;
fail:
	strbuf_release(&header);
	return NULL;
}

/* Appends a rejected row to the file's rejects file: the row as it was (in UTF-8), padded
 * when short so that the reason lands in its own column, then the reason. A row of a
 * rejects file read back loses its old reason (reason_column, -1 for none), so that the
 * new one takes its place. */
static void add_rejected_row(struct rejects_file *rf, const struct csv_record *rec,
			     size_t columns, int reason_column, const char *reason)
{
	struct strbuf line = STRBUF_INIT;
	size_t count = rec->count;

	csv_add_raw_as_utf8(&line, rec->raw, rec->raw_len);
	while (line.len && (line.buf[line.len - 1] == '\n' || line.buf[line.len - 1] == '\r'))
		strbuf_setlen(&line, line.len - 1);
	if (reason_column >= 0) {
		strbuf_setlen(&line, raw_fields_length(line.buf, line.len, rf->delimiter,
						       (size_t)reason_column));
		columns = (size_t)reason_column;
		count = count < columns ? count : columns;
	}
	for (size_t i = count; i < columns; i++)
		strbuf_addch(&line, rf->delimiter);
	strbuf_addch(&line, rf->delimiter);
	csv_write_field(&line, reason, rf->delimiter, 0);
	strbuf_addch(&line, '\n');
	fwrite(line.buf, 1, line.len, rf->rows);
	strbuf_release(&line);
}

int rejects_keep(struct import_rejects *r, const char *file, const struct csv_reader *csv,
		 const struct csv_record *rec, const char *reason)
{
	if (!r)
		return 0;
	if (!r->of_file && !(r->of_file = rejects_for(r, file, csv)))
		return -1;
	add_rejected_row(r->of_file, rec, r->columns, r->reason_column, reason);
	return 0;
}

const char *rejects_kept_in(const struct import_rejects *r)
{
	return r && r->of_file ? r->of_file->path : NULL;
}

void rejects_file_converted(struct import_rejects *r)
{
	if (r && r->of_file)
		r->of_file->bom = 1;
}

/* Writes the rejects file's content, as its inputs began: a BOM, a sep= line (only
 * first in a stream), the header with a reason column, the rows. Empty when no row was
 * rejected: an earlier run's rows are not this one's. Returns 0, or -1 with errno. */
static int write_rejects(FILE *out, struct rejects_file *rf, int first)
{
	char buf[65536];
	size_t n;

	if (!rf->header)
		return 0;
	if (first && rf->bom)
		fputs("\xEF\xBB\xBF", out);
	if (first && rf->sep_line)
		fprintf(out, "sep=%c\n", rf->delimiter);
	fprintf(out, "%s%c" REJECTS_REASON "\n", rf->header, rf->delimiter);
	if (fflush(rf->rows) || fseek(rf->rows, 0, SEEK_SET))
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), rf->rows)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			return -1;
	return ferror(rf->rows) || ferror(out) ? -1 : 0;
}

/* As root, an existing rejects file stays its owner's (a rename would give it to root);
 * anyone else cannot give files away, and rewrites a file that is theirs. */
static int keep_owner(int fd, const struct stat *st)
{
	if (geteuid() != 0 || (st->st_uid == geteuid() && st->st_gid == getegid()))
		return 0;
	return fchown(fd, st->st_uid, st->st_gid);
}

/* Renames the new file onto a regular file, which keeps its mode and owner, or onto
 * nothing: the new file is 0600 (mkstemps), as its rows hold personal data. Returns 0,
 * or -1 with errno. */
static int rejects_replace(struct rejects_file *rf)
{
	struct stat st;
	FILE *out;
	int ret = 0;

	if (!lstat(rf->path, &st))
		ret = keep_owner(rf->fd, &st) || fchmod(rf->fd, st.st_mode & 07777);
	if (ret || !(out = fdopen(rf->fd, "w")))
		return -1;
	rf->fd = -1;                            /* out has it now */
	ret = write_rejects(out, rf, 1);
	ret |= fclose(out);
	if (ret || rename(rf->tmp, rf->path))
		return -1;
	free(rf->tmp);
	rf->tmp = NULL;
	return 0;
}

/* Writes into what --rejects names (following a symlink): a fifo, a device, a file of
 * several names. stderr is written where it is, not truncated, so that `--rejects
 * /dev/stderr 2>>log` appends. */
static int rejects_write_into(struct import_rejects *r, size_t from, size_t to)
{
	int fd, ret = 0;
	FILE *out;

	if (is_open_as(r->files[from].path, STDERR_FILENO))
		fd = dup(STDERR_FILENO);
	else
		fd = open(r->files[from].path, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (!(out = fdopen(fd, "w"))) {
		close(fd);
		return -1;
	}
	for (size_t i = from; i < to && !ret; i++)
		ret = write_rejects(out, &r->files[i], i == from);
	ret |= fclose(out);
	return ret ? -1 : 0;
}

int rejects_close(struct import_rejects *r, int keep)
{
	const struct rejects_file *failed = NULL;

	if (!r)
		return FU_OK;
	if (keep && r->stream && rejects_write_into(r, 0, r->nfiles))
		failed = &r->files[0];
	for (size_t i = 0; keep && !r->stream && !failed && i < r->nfiles; i++) {
		struct rejects_file *rf = &r->files[i];
		if (rf->fd >= 0 ? rejects_replace(rf) : rejects_write_into(r, i, i + 1))
			failed = rf;
	}
	if (failed)
		error("cannot write '%s': %s", failed->path, strerror(errno));
	for (size_t i = 0; i < r->nfiles; i++)
		rejects_file_release(&r->files[i]);
	free(r->files);
	free(r);
	return failed ? FU_FAIL : FU_OK;
}
