/* Unit tests of the CSV reader and writer: RFC 4180 and the real world (SPEC section 5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "followup/csv.h"
#include "followup/fields.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/followup-csv-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rc = system(cmd);

	(void)state;
	free(cmd);
	return rc;
}

/* Writes bytes to a new file in the test directory; caller frees the path. */
static char *write_file(const char *bytes, size_t len)
{
	static int n;
	char *path = xasprintf("%s/f%d.csv", dir, n++);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* Opens a file written from bytes, asserting that it opens. */
static struct csv_reader *open_bytes(const char *bytes, size_t len)
{
	char *path = write_file(bytes, len), *err = NULL;
	struct csv_reader *r = NULL;

	if (csv_open(&r, path, &err) != CSV_OK)
		fail_msg("cannot open %s: %s", path, err);
	free(path);
	return r;
}

/* Reads a whole input as "@LINE [COUNT] f1|f2\n" per record. */
static char *read_all(const char *bytes, size_t len, char *delim, char **errmsg)
{
	struct csv_reader *r = open_bytes(bytes, len);
	struct csv_record rec = CSV_RECORD_INIT;
	struct strbuf out = STRBUF_INIT;
	char *err = NULL;
	int rc;

	while ((rc = csv_read(r, &rec, &err)) == 1) {
		strbuf_addf(&out, "@%ld [%zu] ", rec.line, rec.count);
		for (size_t i = 0; i < rec.count; i++)
			strbuf_addf(&out, "%s%s", i ? "|" : "", rec.fields[i]);
		strbuf_addch(&out, '\n');
		assert_null(rec.fields[rec.count]);
	}
	if (delim)
		*delim = csv_delimiter(r);
	*errmsg = rc < 0 ? err : NULL;
	csv_record_release(&rec);
	csv_close(r);
	return strbuf_detach(&out);
}

/* Mostly the edge cases of sqlite's test/shell5.test, and what badge exports add. */
static const struct {
	const char *name, *input, *expected;
	char delimiter;
} cases[] = {
	{ "plain LF", "a,b\n1,2\n", "@1 [2] a|b\n@2 [2] 1|2\n", ',' },
	{ "CRLF", "a,b\r\n1,2\r\n", "@1 [2] a|b\n@2 [2] 1|2\n", ',' },
	{ "lone CR", "a,b\r1,2\r3,4\r", "@1 [2] a|b\n@2 [2] 1|2\n@3 [2] 3|4\n", ',' },
	{ "mixed line ends", "a,b\r\n1,2\r3,4\n5,6", "@1 [2] a|b\n@2 [2] 1|2\n@3 [2] 3|4\n@4 [2] 5|6\n",
	  ',' },
	{ "no final line end", "a,b\n1,2", "@1 [2] a|b\n@2 [2] 1|2\n", ',' },
	{ "BOM", "\xEF\xBB\xBF" "Email,x\n1,2\n", "@1 [2] Email|x\n@2 [2] 1|2\n", ',' },
	{ "doubled quotes", "a\n\"say \"\"hi\"\"\"\n", "@1 [1] a\n@2 [1] say \"hi\"\n", ',' },
	{ "a field that is one quote", "a,b\n\"\"\"\",x\n", "@1 [2] a|b\n@2 [2] \"|x\n", ',' },
	/* A row whose fields are all empty is a blank line, quoted or not (",,," is too). */
	{ "empty quoted fields are a blank line", "a,b,c\n\"\",\"\",\n1,2,3\n",
	  "@1 [3] a|b|c\n@3 [3] 1|2|3\n", ',' },
	{ "a line that is only \"\" is a blank line", "a\n\"\"\nz\n", "@1 [1] a\n@3 [1] z\n", ',' },
	{ "quoted spaces are a blank line", "a,b\n\" \",\"\t\"\n", "@1 [2] a|b\n", ',' },
	{ "an empty quoted field beside a value", "a,b,c\n\"\",\"x\",\n", "@1 [3] a|b|c\n@2 [3] |x|\n",
	  ',' },
	{ "delimiter and line end in quotes", "a,b\n\"x,y\",\"1\n2\"\n",
	  "@1 [2] a|b\n@2 [2] x,y|1\n2\n", ',' },
	{ "embedded CRLF stored as LF, lines counted", "a,b\n\"x\r\ny\",z\n3,4\n",
	  "@1 [2] a|b\n@2 [2] x\ny|z\n@4 [2] 3|4\n", ',' },
	{ "embedded lone CR", "a,b\r\"x\ry\",z\r3,4\r", "@1 [2] a|b\n@2 [2] x\ny|z\n@4 [2] 3|4\n",
	  ',' },
	{ "embedded blank lines", "a\n\"x\n\n\ny\"\nz\n", "@1 [1] a\n@2 [1] x\n\n\ny\n@6 [1] z\n", ',' },
	{ "a quote inside an unquoted field is literal", "a,b\n1,5'10\" tall\n",
	  "@1 [2] a|b\n@2 [2] 1|5'10\" tall\n", ',' },
	{ "a doubled quote inside an unquoted field is one", "a,b\n1,Said \"\"hi\"\" twice\n",
	  "@1 [2] a|b\n@2 [2] 1|Said \"hi\" twice\n", ',' },
	{ "text after a closing quote is kept", "a,b\n\"x\"y,z\n", "@1 [2] a|b\n@2 [2] xy|z\n", ',' },
	{ "semicolon sniffed", "a;b;c,d\n1;2;3,4\n", "@1 [3] a|b|c,d\n@2 [3] 1|2|3,4\n", ';' },
	{ "tab sniffed", "a\tb\tc\n1\t2\t3\n", "@1 [3] a|b|c\n@2 [3] 1|2|3\n", '\t' },
	{ "sniffed below title lines", "Leads\r\nExpo 2026\r\n\r\na;b\r\n1;2\r\n",
	  "@1 [1] Leads\n@2 [1] Expo 2026\n@4 [2] a|b\n@5 [2] 1|2\n", ';' },
	{ "sniffed in six lines at most", "a\nb\nc\nd\ne\nf\ng;h\n",
	  "@1 [1] a\n@2 [1] b\n@3 [1] c\n@4 [1] d\n@5 [1] e\n@6 [1] f\n@7 [1] g;h\n", ',' },
	{ "a comma in a title line does not decide", "Lead Report, Expo 2026\n"
	  "Email;Name;Company\nt1@x.example;T One;Acme, Inc\n",
	  "@1 [1] Lead Report, Expo 2026\n@2 [3] Email|Name|Company\n@3 [3] t1@x.example|T One|Acme, Inc\n",
	  ';' },
	{ "a quoted header below a title", "Leads; Expo\n\"Email\",\"Name\",\"Company\"\n",
	  "@1 [1] Leads; Expo\n@2 [3] Email|Name|Company\n", ',' },
	{ "a title of two cells and a header of two", "Leads, Expo\nEmail;Name\n",
	  "@1 [2] Leads| Expo\n@2 [1] Email;Name\n", ',' },
	{ "delimiters in quotes not counted", "\"a;b;c\",d\n1,2\n", "@1 [2] a;b;c|d\n@2 [2] 1|2\n",
	  ',' },
	{ "a tie is a comma", "a,b;c\n", "@1 [2] a|b;c\n", ',' },
	{ "sep= line is not the header", "sep=;\r\na;b\r\n1;2\r\n", "@2 [2] a|b\n@3 [2] 1|2\n", ';' },
	{ "sep= after a BOM, with LF", "\xEF\xBB\xBF" "SEP=\t\na\tb,c\n", "@2 [2] a|b,c\n", '\t' },
	{ "sep= overrides sniffing", "sep=,\na;b;c,d\n", "@2 [2] a;b;c|d\n", ',' },
	{ "sep= with no delimiter is a header", "sep=\na,b\n", "@1 [1] sep=\n@2 [2] a|b\n", ',' },
	{ "blank lines skipped", "a\n\n1\n\r\n2\n\n\n", "@1 [1] a\n@3 [1] 1\n@5 [1] 2\n", ',' },
	{ "rows of delimiters skipped", "a,b\n1,2\n,\n , \n3,4\n", "@1 [2] a|b\n@2 [2] 1|2\n@5 [2] 3|4\n",
	  ',' },
	{ "trailing empty columns", "a,b,,\n1,2,,\n", "@1 [4] a|b||\n@2 [4] 1|2||\n", ',' },
	{ "column-count mismatch shows in count", "a,b\n1\n1,2,3\n",
	  "@1 [2] a|b\n@2 [1] 1\n@3 [3] 1|2|3\n", ',' },
	{ "spaces kept (callers trim)", "a, b \n 1 ,2\n", "@1 [2] a| b \n@2 [2]  1 |2\n", ',' },
	{ "UTF-8 left as is", "a\nRenée Ö €\n", "@1 [1] a\n@2 [1] Renée Ö €\n", ',' },
	{ "Windows-1252 converted", "a,b\ncaf\xe9 \x80" "5,\x93q\x94\n",
	  "@1 [2] a|b\n@2 [2] café €5|\xE2\x80\x9Cq\xE2\x80\x9D\n", ',' },
	{ "Windows-1252 per field", "a,b\nRen\xc3\xa9" "e,Z\xf6" "e\n", "@1 [2] a|b\n@2 [2] Renée|Zöe\n",
	  ',' },
};

static void test_csv__table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char delim, *err, *got = read_all(cases[i].input, strlen(cases[i].input), &delim, &err);
		if (err)
			fail_msg("%s: %s", cases[i].name, err);
		if (strcmp(got, cases[i].expected) || delim != cases[i].delimiter)
			fail_msg("%s: got\n%s(delimiter '%c'), want\n%s", cases[i].name, got, delim,
				 cases[i].expected);
		free(got);
	}
}

/* Input that is an error, and what the message must say. */
static const struct {
	const char *name;
	const char *input;
	size_t len;
	const char *message;
} bad_inputs[] = {
	{ "unterminated quote names the line it starts on",
	  "a,b\n\"1\n2\",x\n3,\"open\nstill open\n", 0, ":4: unterminated quoted field" },
	{ "NUL byte", "a\n1\n\0\x01\x02\n", 9, ":3: binary data" },
	{ "NUL byte inside quotes", "a\n\"x\n\0\"\n", 8, ":3: binary data" },
};

static void test_csv__errors_name_file_and_line(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_inputs); i++) {
		size_t len = bad_inputs[i].len ? bad_inputs[i].len : strlen(bad_inputs[i].input);
		char *path = write_file(bad_inputs[i].input, len), *err = NULL;
		struct csv_reader *r = NULL;
		struct csv_record rec = CSV_RECORD_INIT;
		int rc;

		assert_int_equal(csv_open(&r, path, &err), CSV_OK);
		while ((rc = csv_read(r, &rec, &err)) == 1)
			;
		if (rc != CSV_EFORMAT || !starts_with(err, path) || !strstr(err, bad_inputs[i].message))
			fail_msg("%s: rc %d, '%s'", bad_inputs[i].name, rc, err ? err : "");
		free(err);
		csv_record_release(&rec);
		csv_close(r);
		free(path);
	}
}

static void test_csv__conversion_reported_once_with_line(void **state)
{
	const char *in = "a\nok\n\"two\nlines\"\nbad\xe9\nbad\xe8\n";
	struct csv_reader *r = open_bytes(in, strlen(in));
	struct csv_record rec = CSV_RECORD_INIT;
	char *err = NULL;
	long first = -1;

	(void)state;
	while (csv_read(r, &rec, &err) == 1)
		assert_int_equal(csv_was_converted(r, NULL), rec.line >= 5);
	assert_int_equal(csv_was_converted(r, &first), 1);
	assert_int_equal(first, 5);
	csv_close(r);

	r = open_bytes("a\nRen\xc3\xa9" "e\n", 9);
	while (csv_read(r, &rec, &err) == 1)
		;
	assert_int_equal(csv_was_converted(r, &first), 0);
	assert_int_equal(first, 0);
	csv_record_release(&rec);
	csv_close(r);
}

static void test_csv__raw_bytes_offset_and_size(void **state)
{
	const char *in = "\xEF\xBB\xBF" "Email,Notes\r\nx@y.example,\"two\r\nlines\"\r\n"
			 "z@y.example,caf\xe9\r\n";
	struct csv_reader *r = open_bytes(in, strlen(in));
	struct csv_record rec = CSV_RECORD_INIT;
	char *err = NULL;

	(void)state;
	assert_int_equal(csv_size(r), (off_t)strlen(in));
	assert_string_equal(csv_header_raw(r), "");
	assert_int_equal(csv_read(r, &rec, &err), 1);
	assert_string_equal(csv_header_raw(r), "Email,Notes");
	assert_int_equal(csv_offset(r), (off_t)strlen("\xEF\xBB\xBF" "Email,Notes\r\n"));
	assert_int_equal(csv_read(r, &rec, &err), 1);
	assert_int_equal(rec.line, 2);
	assert_int_equal(rec.raw_len, strlen("x@y.example,\"two\r\nlines\""));
	assert_memory_equal(rec.raw, "x@y.example,\"two\r\nlines\"", rec.raw_len);
	assert_string_equal(rec.fields[1], "two\nlines");
	/* The raw bytes are the file's, before any conversion. */
	assert_int_equal(csv_read(r, &rec, &err), 1);
	assert_int_equal(rec.line, 4);
	assert_int_equal(rec.raw_len, strlen("z@y.example,caf\xe9"));
	assert_memory_equal(rec.raw, "z@y.example,caf\xe9", rec.raw_len);
	assert_string_equal(rec.fields[1], "café");
	assert_int_equal(csv_read(r, &rec, &err), 0);
	assert_int_equal(csv_offset(r), (off_t)strlen(in));
	csv_record_release(&rec);
	csv_close(r);
}

/* A rejects file begins as its input did: with a BOM, with a sep= line. */
static void test_csv__what_the_file_began_with(void **state)
{
	static const struct {
		const char *input;
		int bom, sep;
	} files[] = {
		{ "a,b\n1,2\n", 0, 0 },
		{ "\xEF\xBB\xBF" "a,b\n1,2\n", 1, 0 },
		{ "sep=;\na;b\n", 0, 1 },
		{ "\xEF\xBB\xBF" "sep=;\r\na;b\r\n", 1, 1 },
		{ "sep=\na,b\n", 0, 0 },      /* no delimiter named: it is the header */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		struct csv_reader *r = open_bytes(files[i].input, strlen(files[i].input));
		if (csv_had_bom(r) != files[i].bom || csv_had_sep_line(r) != files[i].sep)
			fail_msg("file %zu: bom %d sep %d", i, csv_had_bom(r), csv_had_sep_line(r));
		csv_close(r);
	}
}

static void test_csv__raw_as_utf8(void **state)
{
	static const struct {
		const char *raw, *utf8;
	} raws[] = {
		{ "z@y.example,caf\xe9", "z@y.example,café" },
		{ "Ren\xc3\xa9" "e,Z\xf6" "e \x80", "Renée,Zöe €" },      /* mixed: UTF-8 kept */
		{ "plain,ascii", "plain,ascii" },
		{ "cut \xc3", "cut Ã" },
		{ "\xe9t\xc3\xa9 \xe9", "été é" },       /* valid runs between bad bytes */
		{ "\x93q\x94", "\xE2\x80\x9Cq\xE2\x80\x9D" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(raws); i++) {
		struct strbuf out = STRBUF_INIT;
		csv_add_raw_as_utf8(&out, raws[i].raw, strlen(raws[i].raw));
		assert_string_equal(out.buf, raws[i].utf8);
		strbuf_release(&out);
	}
}

/* A 1 MB notes cell is a record like any other, and later records keep their lines. */
static void test_csv__one_megabyte_cell(void **state)
{
	struct strbuf in = STRBUF_INIT;
	struct csv_reader *r;
	struct csv_record rec = CSV_RECORD_INIT;
	char *err = NULL;

	(void)state;
	strbuf_addstr(&in, "Email,Notes\nbig@x.example,\"");
	for (int i = 0; i < (1 << 20); i++)
		strbuf_addch(&in, i % 1000 == 999 ? '\n' : 'n');
	strbuf_addstr(&in, "\"\nsmall@x.example,hi\n");
	r = open_bytes(in.buf, in.len);
	assert_int_equal(csv_read(r, &rec, &err), 1);
	assert_int_equal(csv_read(r, &rec, &err), 1);
	assert_int_equal(strlen(rec.fields[1]), 1 << 20);
	assert_int_equal(csv_read(r, &rec, &err), 1);
	assert_string_equal(rec.fields[0], "small@x.example");
	assert_int_equal(rec.line, 3 + (1 << 20) / 1000);
	csv_record_release(&rec);
	csv_close(r);
	strbuf_release(&in);
}

/* A missing closing quote must not make the reader swallow a whole large file. */
static void test_csv__record_over_16_mb_is_refused(void **state)
{
	struct strbuf in = STRBUF_INIT;
	struct csv_reader *r;
	struct csv_record rec = CSV_RECORD_INIT;
	char *err = NULL;
	int rc;

	(void)state;
	strbuf_addstr(&in, "Email,Notes\na@x.example,\"oops\n");
	while (in.len < CSV_MAX_RECORD + (1 << 20))
		strbuf_addstr(&in, "b@x.example,a row that the open quote swallows\n");
	r = open_bytes(in.buf, in.len);
	while ((rc = csv_read(r, &rec, &err)) == 1)
		;
	assert_int_equal(rc, CSV_EFORMAT);
	assert_non_null(strstr(err, ":2: a quoted field runs past 16 MB"));
	assert_true(rec.rawbuf.len < CSV_MAX_RECORD + (1 << 20));      /* it stopped there */
	free(err);
	csv_record_release(&rec);
	csv_close(r);
	strbuf_release(&in);
}

static long max_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Writes rows of about 250 bytes to fd until there are `rows` of them, in a child. */
static pid_t spawn_writer(int fd, long rows)
{
	pid_t pid = fork();

	if (pid == 0) {
		FILE *out = fdopen(fd, "w");
		fputs("Email,First Name,Company,Notes\r\n", out);
		for (long i = 0; i < rows; i++)
			fprintf(out, "user%ld@company%ld.example,First%ld,Company %ld Holdings,\"%s\r\n%s\"\r\n",
				i, i % 977, i, i % 977,
				"Met at the booth; asked about pricing, the API and integrations.",
				"Wants a demo next week, \"\"urgent\"\", call back on Tuesday at ten.");
		_exit(fclose(out) ? 1 : 0);
	}
	close(fd);
	return pid;
}

/*
 * Streaming: 250,000 rows (about 49 MB) through a pipe on stdin, where the reader
 * cannot know the size or map the file. Runs first, so that the peak resident size before
 * it is the test program's, not another test's.
 */
static void test_csv__streams_a_pipe_in_bounded_memory(void **state)
{
	const long rows = 250000;
	struct csv_reader *r = NULL;
	struct csv_record rec = CSV_RECORD_INIT;
	char *err = NULL;
	int pipefd[2], saved_stdin = dup(STDIN_FILENO), status, rc;
	long records = 0, rss_before = max_rss_kb();
	pid_t writer;

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	writer = spawn_writer(pipefd[1], rows);
	assert_int_equal(dup2(pipefd[0], STDIN_FILENO), STDIN_FILENO);
	close(pipefd[0]);
	assert_int_equal(csv_open(&r, "-", &err), CSV_OK);
	assert_int_equal(csv_size(r), 0);
	while ((rc = csv_read(r, &rec, &err)) == 1) {
		assert_int_equal(rec.count, 4);
		assert_int_equal(rec.line, records ? 2 * records : 1);  /* two lines a row */
		if (records++ == rows) {
			assert_string_equal(rec.fields[0], "user249999@company864.example");
			assert_string_equal(rec.fields[3], "Met at the booth; asked about pricing, "
					    "the API and integrations.\nWants a demo next week, "
					    "\"urgent\", call back on Tuesday at ten.");
		}
	}
	assert_int_equal(rc, 0);
	assert_int_equal(records, rows + 1);
	assert_true(csv_offset(r) > 45 * 1000 * 1000);
	/* The reader holds one block, a record its own row, and nothing grows with the file. */
	assert_true(csv_buffer_size(r) <= 1 << 20);
	assert_true(rec.data.alloc < 64 * 1024 && rec.rawbuf.alloc < 64 * 1024);
	assert_true(max_rss_kb() - rss_before < 16 * 1024);
	csv_record_release(&rec);
	csv_close(r);
	assert_int_equal(dup2(saved_stdin, STDIN_FILENO), STDIN_FILENO);
	close(saved_stdin);
	assert_int_equal(waitpid(writer, &status, 0), writer);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void expect_open_error(const char *path, int code, const char *message)
{
	static char sentinel;
	struct csv_reader *r = (struct csv_reader *)&sentinel;  /* must come back NULL */
	char *err = NULL;

	assert_int_equal(csv_open(&r, path, &err), code);
	assert_null(r);
	if (!err || !strstr(err, message))
		fail_msg("%s: got '%s', want '%s'", path, err ? err : "", message);
	free(err);
}

static void test_csv__open_errors(void **state)
{
	char *missing = xasprintf("%s/none.csv", dir), *want;
	char *empty = write_file("", 0), *bom_only = write_file("\xEF\xBB\xBF", 3);
	char *blank = write_file("\r\n\n\r\n", 5), *sep_only = write_file("sep=;\r\n", 7);
	char *utf16 = write_file("\xFF\xFE" "E\0m\0", 6);

	(void)state;
	want = xasprintf("cannot open '%s': No such file or directory", missing);
	expect_open_error(missing, CSV_EIO, want);
	free(want);
	want = xasprintf("cannot open '%s': it is a directory", dir);
	expect_open_error(dir, CSV_EIO, want);
	free(want);
	for (size_t i = 0; i < 4; i++) {
		char *path = (char *[]){ empty, bom_only, blank, sep_only }[i];
		want = xasprintf("'%s' is empty", path);
		expect_open_error(path, CSV_EFORMAT, want);
		free(want);
	}
	expect_open_error(utf16, CSV_EFORMAT, "is UTF-16 text");
	free(missing);
	free(empty);
	free(bom_only);
	free(blank);
	free(sep_only);
	free(utf16);
}

static void expect_field(const struct csv_record *rec, size_t i, const char *want)
{
	assert_true(i < rec->count);
	assert_string_equal(rec->fields[i], want);
}

/* Reads a sample up to the record that starts on line `line`. */
static void read_to_line(struct csv_reader *r, struct csv_record *rec, long line)
{
	char *err = NULL;

	while (csv_read(r, rec, &err) == 1)
		if (rec->line == line)
			return;
	fail_msg("no record at line %ld (%s)", line, err ? err : "end of file");
}

static void test_csv__vendor_samples(void **state)
{
	static const struct {
		const char *file;
		long records, last_line, converted_at;
		size_t header_fields;
		char delim;
	} samples[] = {
		{ "tests/data/A_eventyay_style_leads.csv", 7, 8, 0, 14, ',' },
		{ "tests/data/B_eventbrite_attendee_excel_cp1252.csv", 6, 7, 2, 21, ',' },
		{ "tests/data/C_eu_semicolon_sep_validar_style.csv", 7, 9, 0, 12, ';' },
	};
	struct csv_record rec = CSV_RECORD_INIT;
	struct csv_reader *r;
	char *err = NULL;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(samples); i++) {
		long n = 0, last_line = 0, converted_at = -1;
		assert_int_equal(csv_open(&r, samples[i].file, &err), CSV_OK);
		for (n = 0; csv_read(r, &rec, &err) == 1; n++) {
			assert_int_equal(rec.count, samples[i].header_fields);
			last_line = rec.line;
		}
		assert_int_equal(n, samples[i].records);
		assert_int_equal(last_line, samples[i].last_line);
		assert_int_equal(csv_delimiter(r), samples[i].delim);
		assert_int_equal(csv_was_converted(r, &converted_at), samples[i].converted_at > 0);
		assert_int_equal(converted_at, samples[i].converted_at);
		csv_close(r);
	}

	assert_int_equal(csv_open(&r, samples[0].file, &err), CSV_OK);
	assert_int_equal(csv_read(r, &rec, &err), 1);
	expect_field(&rec, 0, "ID");                    /* the BOM is gone */
	read_to_line(r, &rec, 3);
	expect_field(&rec, 9, "Renée Lefèvre-Özdemir");
	expect_field(&rec, 11, "Société Générale d'Études, SA");
	expect_field(&rec, 12, "Wants demo, EU pricing\nCall back Tue 10:00 CET");
	read_to_line(r, &rec, 7);
	expect_field(&rec, 12, "Said \"ship it\" twice");      /* its doubled quotes, unquoted */
	read_to_line(r, &rec, 8);
	expect_field(&rec, 10, "");
	expect_field(&rec, 11, " Tailspin Toys ");
	csv_close(r);

	assert_int_equal(csv_open(&r, samples[1].file, &err), CSV_OK);
	read_to_line(r, &rec, 2);
	expect_field(&rec, 2, "Zoë");
	expect_field(&rec, 3, "Ångström");
	read_to_line(r, &rec, 3);
	expect_field(&rec, 18, "Met at booth; \"very interested\" in API\nSend deck + pricing");
	read_to_line(r, &rec, 5);
	expect_field(&rec, 4, "Info Requested");
	read_to_line(r, &rec, 6);
	expect_field(&rec, 4, "m.rossi@example,com");
	csv_close(r);

	assert_int_equal(csv_open(&r, samples[2].file, &err), CSV_OK);
	read_to_line(r, &rec, 2);
	expect_field(&rec, 4, "Email Address");
	read_to_line(r, &rec, 3);
	expect_field(&rec, 0, "Łukasz");
	expect_field(&rec, 10, "Budget ok; Entscheidung Q3\nRückruf \"dringend\"");
	read_to_line(r, &rec, 6);
	expect_field(&rec, 10, "2nd visit – wants trial");
	csv_close(r);
	csv_record_release(&rec);
}

static const struct {
	const char *value;
	int neutralise;
	const char *written;
} writes[] = {
	{ "plain", 1, "plain" },
	{ "", 1, "" },
	{ "a,b", 0, "\"a,b\"" },
	{ "a;b", 0, "a;b" },
	{ "say \"hi\"", 0, "\"say \"\"hi\"\"\"" },
	{ "two\nlines", 0, "\"two\nlines\"" },
	{ "cr\rhere", 0, "\"cr\rhere\"" },
	{ " padded", 0, "\" padded\"" },
	{ "padded ", 0, "\"padded \"" },
	{ "=SUM(A1)", 1, "'=SUM(A1)" },
	{ "+46 8 555", 1, "'+46 8 555" },
	{ "-5", 1, "'-5" },
	{ "-5", 0, "-5" },
	{ "@cmd", 1, "'@cmd" },
	{ "\tx", 1, "\"'\tx\"" },
	{ "=1,2", 1, "\"'=1,2\"" },
	{ "'=already", 1, "''=already" },
	{ "O'Brien", 1, "O'Brien" },
	{ "'quoted'", 1, "'quoted'" },
};

static void test_csv__writer_quotes_and_neutralises(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(writes); i++) {
		struct strbuf out = STRBUF_INIT;
		csv_write_field(&out, writes[i].value, ',', writes[i].neutralise);
		if (strcmp(out.buf, writes[i].written))
			fail_msg("'%s': wrote '%s', want '%s'", writes[i].value, out.buf,
				 writes[i].written);
		strbuf_release(&out);
	}
}

/* What export writes, import reads back the same: the reader, then field_unneutralise. */
static void test_csv__round_trip(void **state)
{
	struct strbuf file = STRBUF_INIT;
	struct csv_reader *r;
	struct csv_record rec = CSV_RECORD_INIT;
	char *err = NULL;

	(void)state;
	strbuf_addstr(&file, "sep=;\r\nvalue\r\n");
	for (size_t i = 0; i < ARRAY_SIZE(writes); i++) {
		if (!*writes[i].value || strchr(writes[i].value, '\r') || writes[i].value[0] == '\t')
			continue;       /* blank lines are skipped; line breaks come back as LF */
		csv_write_field(&file, writes[i].value, ';', 1);
		strbuf_addstr(&file, "\r\n");
	}
	r = open_bytes(file.buf, file.len);
	assert_int_equal(csv_read(r, &rec, &err), 1);
	for (size_t i = 0; i < ARRAY_SIZE(writes); i++) {
		if (!*writes[i].value || strchr(writes[i].value, '\r') || writes[i].value[0] == '\t')
			continue;
		assert_int_equal(csv_read(r, &rec, &err), 1);
		assert_int_equal(rec.count, 1);
		field_unneutralise(rec.fields[0]);
		assert_string_equal(rec.fields[0], writes[i].value);
	}
	assert_int_equal(csv_read(r, &rec, &err), 0);
	csv_record_release(&rec);
	csv_close(r);
	strbuf_release(&file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv__streams_a_pipe_in_bounded_memory),
		cmocka_unit_test(test_csv__table),
		cmocka_unit_test(test_csv__errors_name_file_and_line),
		cmocka_unit_test(test_csv__conversion_reported_once_with_line),
		cmocka_unit_test(test_csv__raw_bytes_offset_and_size),
		cmocka_unit_test(test_csv__what_the_file_began_with),
		cmocka_unit_test(test_csv__raw_as_utf8),
		cmocka_unit_test(test_csv__one_megabyte_cell),
		cmocka_unit_test(test_csv__record_over_16_mb_is_refused),
		cmocka_unit_test(test_csv__open_errors),
		cmocka_unit_test(test_csv__vendor_samples),
		cmocka_unit_test(test_csv__writer_quotes_and_neutralises),
		cmocka_unit_test(test_csv__round_trip),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
