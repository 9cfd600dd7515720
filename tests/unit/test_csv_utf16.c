/* Unit tests of UTF-16 badge files read as UTF-8 (csv_utf16.h): Excel's "Unicode Text",
 * UTF-16BE, no byte order mark, and text that is not UTF-16, with its file and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "followup/csv.h"
#include "followup/csv_utf16.h"
#include "followup/util.h"

/* A file descriptor reading len bytes. */
static int fd_of(const void *bytes, size_t len)
{
	FILE *f = tmpfile();
	int fd;

	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	fflush(f);
	fd = dup(fileno(f));
	fclose(f);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* What fd holds, from its start. Caller frees. */
static char *contents(int fd, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	ssize_t n;

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		strbuf_add(&sb, buf, (size_t)n);
	*len = sb.len;
	return strbuf_detach(&sb);
}

/* Converts the UTF-16 bytes in[0..len) as the import does, from past their mark. */
static int convert(const char *in, size_t len, char **out, size_t *out_len, char **err)
{
	size_t bom;
	const char *enc = csv_utf16_encoding((const unsigned char *)in, len, &bom);
	int from = fd_of(in + bom, len - bom), to = fd_of("", 0), rc;

	assert_non_null(enc);
	rc = csv_utf16_to_utf8(from, to, enc, "u.txt", err);
	*out = contents(to, out_len);
	close(from);
	close(to);
	return rc;
}

static void test_csv_utf16__encoding_from_the_first_bytes(void **state)
{
	static const struct {
		const char *bytes;
		size_t len, bom;
		const char *encoding;
	} cases[] = {
		{ "\xFF\xFE" "E\0", 4, 2, "UTF-16LE" },
		{ "\xFE\xFF" "\0E", 4, 2, "UTF-16BE" },
		{ "E\0m\0", 4, 0, "UTF-16LE" },
		{ "\0E\0m", 4, 0, "UTF-16BE" },
		{ "\xEF\xBB\xBF" "Email", 8, 0, NULL },     /* UTF-8 with its mark */
		{ "Email,Name", 10, 0, NULL },
		{ "E\0", 2, 0, NULL },                      /* too little to tell */
		{ "\xE9\0m\0", 4, 0, NULL },                /* not ASCII beside the NULs */
		{ "", 0, 0, NULL },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t bom = 99;
		const char *enc = csv_utf16_encoding((const unsigned char *)cases[i].bytes,
						     cases[i].len, &bom);
		if (!cases[i].encoding) {
			assert_null(enc);
			continue;
		}
		assert_string_equal(enc, cases[i].encoding);
		assert_int_equal(bom, cases[i].bom);
	}
}

static void test_csv_utf16__little_and_big_endian_become_utf8(void **state)
{
	/* "Email\tName\r\nzoë@x.example\tZoë 😀\r\n" in both byte orders. */
	static const char le[] = "\xFF\xFE" "E\0m\0a\0i\0l\0\t\0N\0\r\0\n\0z\0o\0\xEB\0"
				 "\t\0Z\0 \0\x3D\xD8\x00\xDE\r\0\n\0";
	static const char be[] = "\xFE\xFF" "\0E\0m\0a\0i\0l\0\t\0N\0\r\0\n\0z\0o\0\xEB"
				 "\0\t\0Z\0 \xD8\x3D\xDE\x00\0\r\0\n";
	static const char want[] = "\xEF\xBB\xBF" "Email\tN\r\nzo\xC3\xAB\tZ \xF0\x9F\x98\x80\r\n";
	char *out, *err = NULL;
	size_t len;

	(void)state;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(convert(i ? be : le, sizeof(le) - 1, &out, &len, &err), CSV_OK);
		assert_int_equal(len, sizeof(want) - 1);
		assert_memory_equal(out, want, len);
		free(out);
	}
}

/* A block of 64 KB ends inside a character: the next read completes it. */
static void test_csv_utf16__character_across_blocks(void **state)
{
	struct strbuf in = STRBUF_INIT;
	char *out, *err = NULL;
	size_t len, pairs = 0;

	(void)state;
	strbuf_add(&in, "\xFF\xFE", 2);
	while (in.len < 3 * 65536) {
		strbuf_add(&in, "\x3D\xD8\x00\xDE", 4);       /* U+1F600, a surrogate pair */
		strbuf_add(&in, "\n\0", 2);
		pairs++;
	}
	/* 6 bytes a line past the mark: the second block, at 131072, ends between the
	 * halves of a pair. */
	assert_int_equal(convert(in.buf, in.len, &out, &len, &err), CSV_OK);
	assert_int_equal(len, 3 + pairs * 5);
	assert_memory_equal(out + 3 + (131072 / 6) * 5, "\xF0\x9F\x98\x80\n", 5);
	free(out);
	strbuf_release(&in);
}

static void test_csv_utf16__invalid_text_names_file_and_line(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *error;
	} cases[] = {
		/* an odd number of bytes: the last line is line 3 */
		{ "\xFF\xFE" "a\0\n\0b\0\r\0\n\0c", 13,
		  "u.txt:3: UTF-16 text with an odd number of bytes (the file is cut short?)" },
		/* a low surrogate alone, on line 2 after a lone CR */
		{ "\xFF\xFE" "a\0\r\0b\0\x00\xDC" "c\0", 12,
		  "u.txt:2: not valid UTF-16 (half of a surrogate pair)" },
		/* a high surrogate followed by a letter, on line 4 */
		{ "\xFF\xFE" "\n\0\n\0\n\0\x3D\xD8" "c\0", 12,
		  "u.txt:4: not valid UTF-16 (half of a surrogate pair)" },
		/* a high surrogate at the end of the file */
		{ "\xFE\xFF" "\0a\0\n\xD8\x3D", 8,
		  "u.txt:2: UTF-16 text ending in half of a surrogate pair (the file is cut short?)" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *out, *err = NULL;
		size_t len;

		assert_int_equal(convert(cases[i].bytes, cases[i].len, &out, &len, &err),
				 CSV_EFORMAT);
		assert_non_null(err);
		assert_string_equal(err, cases[i].error);
		free(err);
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_utf16__encoding_from_the_first_bytes),
		cmocka_unit_test(test_csv_utf16__little_and_big_endian_become_utf8),
		cmocka_unit_test(test_csv_utf16__character_across_blocks),
		cmocka_unit_test(test_csv_utf16__invalid_text_names_file_and_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
