/* test_timeutil.c - times, zones, durations, windows and the cadence clock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "followup/timeutil.h"
#include "followup/util.h"

#define NY "America/New_York"
#define BERLIN "Europe/Berlin"
#define TOKYO "Asia/Tokyo"

/* "2026-03-05T09:00:00Z" -> time_t, independent of the code under test. */
static time_t at(const char *iso)
{
	struct tm tm = { 0 };

	if (sscanf(iso, "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		fail_msg("bad fixture time '%s'", iso);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

/* time_t -> "2026-03-05T09:00:00Z", so that a failure shows both times readably. */
static const char *iso(time_t t)
{
	static char buf[4][TIME_UTC_SIZE];
	static int next;
	char *out = buf[next++ % 4];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, TIME_UTC_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}

/* --- zones ---------------------------------------------------------------------- */

static void test_timeutil__zone_valid(void **state)
{
	static const struct {
		const char *zone;
		int valid;
	} cases[] = {
		{ "America/New_York", 1 }, { "UTC", 1 }, { "Asia/Tokyo", 1 },
		{ "Europe/Berlin", 1 }, { "Etc/GMT+5", 1 },
		{ "Mars/Base", 0 }, { "../etc/passwd", 0 }, { "", 0 },
		{ "/usr/share/zoneinfo/UTC", 0 }, { "America/../UTC", 0 }, { "America", 0 },
		{ "America//New_York", 0 }, { "America/New_York/", 0 }, { "zone.tab", 0 },
		{ "America/New York", 0 }, { "UTC;rm", 0 }, { "utc", 0 },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (zone_valid(cases[i].zone) != cases[i].valid)
			fail_msg("zone_valid('%s') should be %d", cases[i].zone, cases[i].valid);
	}
	assert_int_equal(zone_valid(NULL), 0);
}

static void assert_canonical(const char *zone, const char *canonical)
{
	char *got = zone_canonical(zone);

	if (canonical)
		assert_string_equal(got, canonical);
	else
		assert_null(got);
	free(got);
}

static void test_timeutil__zone_canonical_fixes_case_only(void **state)
{
	(void)state;
	assert_canonical("america/los_angeles", "America/Los_Angeles");
	assert_canonical("ASIA/TOKYO", "Asia/Tokyo");
	assert_canonical("Europe/Berlin", "Europe/Berlin");
	assert_canonical("utc", "UTC");
	assert_canonical("America/Springfield", NULL);
	assert_canonical("america", NULL);          /* a directory */
	assert_canonical("", NULL);
}

/* $TZDIR is where zones are looked up, and a file there must really be a tzfile. */
static void test_timeutil__zone_valid_uses_tzdir(void **state)
{
	char dir[] = "/tmp/test_timeutil_XXXXXX";
	char *region, *good, *text;
	FILE *f;
	(void)state;

	assert_non_null(mkdtemp(dir));
	region = xasprintf("%s/Mars", dir);
	good = xasprintf("%s/Mars/Base", dir);
	text = xasprintf("%s/Mars/Notes", dir);
	assert_int_equal(mkdir(region, 0700), 0);
	assert_non_null(f = fopen(good, "w"));
	fputs("TZif2 and the rest", f);
	fclose(f);
	assert_non_null(f = fopen(text, "w"));
	fputs("not a zone file", f);
	fclose(f);

	setenv("TZDIR", dir, 1);
	assert_int_equal(zone_valid("Mars/Base"), 1);
	assert_int_equal(zone_valid("Mars/Notes"), 0);
	assert_int_equal(zone_valid("America/New_York"), 0);
	assert_canonical("mars/base", "Mars/Base");
	assert_canonical("MARS/BASE", "Mars/Base");
	assert_canonical("mars/notes", NULL);      /* there, but not a zone */
	assert_canonical("mars/../mars/base", NULL);
	unsetenv("TZDIR");
	assert_int_equal(zone_valid("Mars/Base"), 0);

	unlink(good);
	unlink(text);
	rmdir(region);
	rmdir(dir);
	free(region);
	free(good);
	free(text);
}

static void test_timeutil__zone_to_local(void **state)
{
	struct tm tm;
	(void)state;

	assert_int_equal(zone_to_local(TOKYO, at("2026-03-05T00:00:00Z"), &tm), 0);
	assert_int_equal(tm.tm_hour, 9);
	assert_int_equal(tm.tm_mday, 5);
	assert_int_equal(tm.tm_gmtoff, 9 * 3600);

	assert_int_equal(zone_to_local(NY, at("2026-03-05T00:00:00Z"), &tm), 0);
	assert_int_equal(tm.tm_hour, 19);
	assert_int_equal(tm.tm_mday, 4);
	assert_int_equal(tm.tm_wday, 3);

	assert_int_equal(zone_to_local("Mars/Base", 0, &tm), TIME_EZONE);
}

static void test_timeutil__zone_from_local(void **state)
{
	static const struct {
		const char *zone;
		int year, month, day, hour, minute;
		const char *expect;
	} cases[] = {
		{ NY, 2026, 3, 5, 9, 0, "2026-03-05T14:00:00Z" },
		{ TOKYO, 2026, 3, 5, 9, 0, "2026-03-05T00:00:00Z" },
		{ "UTC", 2026, 3, 5, 9, 0, "2026-03-05T09:00:00Z" },
		/* spring-forward gap: 02:30 does not exist, the first valid instant is 03:00 */
		{ NY, 2026, 3, 8, 2, 30, "2026-03-08T07:00:00Z" },
		{ BERLIN, 2026, 3, 29, 2, 30, "2026-03-29T01:00:00Z" },
		/* fall-back overlap: the earlier of the two 01:30s (still daylight time) */
		{ NY, 2026, 11, 1, 1, 30, "2026-11-01T05:30:00Z" },
		{ BERLIN, 2026, 10, 25, 2, 30, "2026-10-25T00:30:00Z" },
		/* out-of-range fields normalise: February 30th is March 2nd */
		{ NY, 2026, 2, 30, 0, 0, "2026-03-02T05:00:00Z" },
		{ NY, 2026, 12, 32, 9, 0, "2027-01-01T14:00:00Z" },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tm tm = { 0 };
		time_t t = 0;

		tm.tm_year = cases[i].year - 1900;
		tm.tm_mon = cases[i].month - 1;
		tm.tm_mday = cases[i].day;
		tm.tm_hour = cases[i].hour;
		tm.tm_min = cases[i].minute;
		tm.tm_isdst = 1;        /* ignored */
		assert_int_equal(zone_from_local(cases[i].zone, &tm, &t), 0);
		if (t != at(cases[i].expect))
			fail_msg("case %zu (%s): got %s, want %s", i, cases[i].zone, iso(t),
				 cases[i].expect);
	}
}

/* NULL means the process's own TZ, which is put back after other zones were used. */
static void test_timeutil__local_zone_is_restored(void **state)
{
	struct tm tm;
	(void)state;

	zone_restore_local();
	setenv("TZ", TOKYO, 1);
	assert_int_equal(zone_to_local(NY, at("2026-03-05T00:00:00Z"), &tm), 0);
	assert_int_equal(tm.tm_hour, 19);
	assert_int_equal(zone_to_local(NULL, at("2026-03-05T00:00:00Z"), &tm), 0);
	assert_int_equal(tm.tm_hour, 9);
	assert_string_equal(getenv("TZ"), TOKYO);
	assert_int_equal(zone_to_local("", at("2026-03-05T00:00:00Z"), &tm), 0);
	assert_int_equal(tm.tm_hour, 9);

	/* a caller without TZ gets no TZ back */
	unsetenv("TZ");
	assert_int_equal(zone_to_local(BERLIN, at("2026-03-05T00:00:00Z"), &tm), 0);
	assert_string_equal(getenv("TZ"), BERLIN);
	zone_restore_local();
	assert_null(getenv("TZ"));
	setenv("TZ", "UTC", 1);
	zone_restore_local();
}

/* --- time_parse ------------------------------------------------------------------- */

/* Thursday 2026-03-05 09:30 in New York; the US changes clocks on Sunday 03-08. */
#define NOW_ISO "2026-03-05T14:30:00Z"

static void test_timeutil__time_parse_forms(void **state)
{
	static const struct {
		const char *text;
		const char *expect;
	} cases[] = {
		{ "2026-03-05T09:00:00Z", "2026-03-05T09:00:00Z" },
		{ "2026-03-05T09:00:00z", "2026-03-05T09:00:00Z" },
		{ "2026-03-05T09:00:00+01:00", "2026-03-05T08:00:00Z" },
		{ "2026-03-05T09:00:00+0100", "2026-03-05T08:00:00Z" },
		{ "2026-03-05T09:00:00+01", "2026-03-05T08:00:00Z" },
		{ "2026-03-05T09:00:00-05:00", "2026-03-05T14:00:00Z" },
		{ "2026-03-05T09:00:00.250Z", "2026-03-05T09:00:00Z" },
		{ "2026-03-05T09:00:00.999999+05:30", "2026-03-05T03:30:00Z" },
		{ "2026-03-05T09:00Z", "2026-03-05T09:00:00Z" },
		/* wall clock in the zone (EST, UTC-5) */
		{ "2026-03-05 09:00", "2026-03-05T14:00:00Z" },
		{ "2026-03-05 09:00:30", "2026-03-05T14:00:30Z" },
		{ "2026-03-05T09:00", "2026-03-05T14:00:00Z" },
		{ "2026-03-12 09:00", "2026-03-12T13:00:00Z" },         /* EDT, UTC-4 */
		{ "2026-03-05", "2026-03-05T05:00:00Z" },
		{ "  2026-03-05 \n", "2026-03-05T05:00:00Z" },
		{ "2028-02-29", "2028-02-29T05:00:00Z" },
		{ "@1700000000", "2023-11-14T22:13:20Z" },
		{ "@0", "1970-01-01T00:00:00Z" },
		/* relative: d and w keep 09:30 local across the DST change, h and m elapse */
		{ "+7d", "2026-03-12T13:30:00Z" },
		{ "+2w", "2026-03-19T13:30:00Z" },
		{ "+0d", NOW_ISO },
		{ "+36h", "2026-03-07T02:30:00Z" },
		{ "+90m", "2026-03-05T16:00:00Z" },
		{ "+168h", "2026-03-12T14:30:00Z" },
		{ "-1d", "2026-03-04T14:30:00Z" },
		{ "now", NOW_ISO },
		{ "today", "2026-03-05T05:00:00Z" },
		{ "tomorrow", "2026-03-06T05:00:00Z" },
		{ "yesterday", "2026-03-04T05:00:00Z" },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		time_t t = 0;
		int ret = time_parse(cases[i].text, NY, at(NOW_ISO), &t);

		if (ret != 0)
			fail_msg("time_parse('%s') failed with %d", cases[i].text, ret);
		if (t != at(cases[i].expect))
			fail_msg("time_parse('%s'): got %s, want %s", cases[i].text, iso(t),
				 cases[i].expect);
	}
}

/* An --until bound: a day alone runs to its last second (here across the DST change, a
 * 23-hour day); a time, a relative time or "now" is read as time_parse reads it. */
static void test_timeutil__time_parse_until_takes_whole_days(void **state)
{
	static const struct {
		const char *text;
		const char *expect;
	} cases[] = {
		{ "2026-03-05", "2026-03-06T04:59:59Z" },
		{ "2026-03-08", "2026-03-09T03:59:59Z" },       /* EST to EDT that day */
		{ "today", "2026-03-06T04:59:59Z" },
		{ "tomorrow", "2026-03-07T04:59:59Z" },
		{ "2026-03-05 09:00", "2026-03-05T14:00:00Z" },
		{ "2026-03-05T09:00:00Z", "2026-03-05T09:00:00Z" },
		{ "+7d", "2026-03-12T13:30:00Z" },
		{ "now", NOW_ISO },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		time_t t = 0;

		if (time_parse_until(cases[i].text, NY, at(NOW_ISO), &t) != 0)
			fail_msg("time_parse_until('%s') failed", cases[i].text);
		if (t != at(cases[i].expect))
			fail_msg("time_parse_until('%s'): got %s, want %s", cases[i].text, iso(t),
				 cases[i].expect);
	}
}

static void test_timeutil__time_parse_garbage(void **state)
{
	static const char *const cases[] = {
		"2026-13-01", "2026-02-30", "2026-02-29", "2026-00-10", "2026-03-00",
		"tomorrowish", "Today!", "", "   ", "2026-03-05T25:00", "2026-03-05 24:00",
		"2026-03-05 09:60", "2026-03-05 09:00:61", "2026-03-05T09:00:00+25:00",
		"2026-03-05T09:00:00+01:7", "03/05/2026", "05.03.2026", "2026/03/05",
		"2026-03-05 09:00 junk", "2026-03-05T", "2026-03-05T09", "2026-03",
		"26-03-05", "@", "@12x", "@-", "+3", "+3x", "+", "+-3d", "+3 days", "-d",
		"2026-03-05 9:00 PM", "1700000000", "0999-01-01",
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		time_t t = 42;

		if (time_parse(cases[i], NY, at(NOW_ISO), &t) != TIME_EINVAL)
			fail_msg("time_parse('%s') should fail, got %s", cases[i], iso(t));
	}
	assert_int_equal(time_parse(NULL, NY, 0, &(time_t){ 0 }), TIME_EINVAL);
}

static void test_timeutil__time_parse_zones(void **state)
{
	time_t t;
	(void)state;

	assert_int_equal(time_parse("2026-03-05 09:00", TOKYO, 0, &t), 0);
	assert_string_equal(iso(t), "2026-03-05T00:00:00Z");
	assert_int_equal(time_parse("2026-03-05 09:00", "UTC", 0, &t), 0);
	assert_string_equal(iso(t), "2026-03-05T09:00:00Z");
	/* a written offset wins over the zone */
	assert_int_equal(time_parse("2026-03-05T09:00:00Z", TOKYO, 0, &t), 0);
	assert_string_equal(iso(t), "2026-03-05T09:00:00Z");
	assert_int_equal(time_parse("tomorrow", TOKYO, at(NOW_ISO), &t), 0);
	assert_string_equal(iso(t), "2026-03-05T15:00:00Z");
	assert_int_equal(time_parse("2026-03-05 09:00", "Mars/Base", 0, &t), TIME_EZONE);
	assert_int_equal(time_parse("today", "../etc/passwd", 0, &t), TIME_EZONE);
}

/* --- scanned_at ------------------------------------------------------------------- */

static void test_timeutil__scanned_at_forms(void **state)
{
	static const struct {
		const char *text;
		enum date_order order;
		const char *expect;
	} cases[] = {
		/* the vendor samples in tests/data, all 14:15 on 4 March 2025 (EST) */
		{ "2025-03-04 14:15:09", DATE_ORDER_AUTO, "2025-03-04T19:15:09Z" },
		{ "3/4/2025 14:15", DATE_ORDER_AUTO, "2025-03-04T19:15:00Z" },
		{ "03/04/2025 2:15 PM", DATE_ORDER_AUTO, "2025-03-04T19:15:00Z" },
		{ "04.03.2025 14:15", DATE_ORDER_AUTO, "2025-03-04T19:15:00Z" },
		{ "3/5/2025 9:02", DATE_ORDER_AUTO, "2025-03-05T14:02:00Z" },
		/* the order settles slashes, never dots or year-first dates */
		{ "04/03/2025 14:15", DATE_ORDER_DMY, "2025-03-04T19:15:00Z" },
		{ "03/04/2025 14:15", DATE_ORDER_MDY, "2025-03-04T19:15:00Z" },
		{ "04.03.2025 14:15", DATE_ORDER_MDY, "2025-03-04T19:15:00Z" },
		{ "2025/03/04 14:15", DATE_ORDER_DMY, "2025-03-04T19:15:00Z" },
		{ "2025/03/04 14:15", DATE_ORDER_YMD, "2025-03-04T19:15:00Z" },
		{ "2025.03.04", DATE_ORDER_AUTO, "2025-03-04T05:00:00Z" },
		{ "31/12/2025 23:59", DATE_ORDER_DMY, "2026-01-01T04:59:00Z" },
		{ "12-31-2025 08:00", DATE_ORDER_AUTO, "2025-12-31T13:00:00Z" },
		{ "31-12-2025 08:00", DATE_ORDER_DMY, "2025-12-31T13:00:00Z" },
		/* ISO 8601, with and without zone or T */
		{ "2025-03-04T14:15:09Z", DATE_ORDER_AUTO, "2025-03-04T14:15:09Z" },
		{ "2025-03-04T14:15:09.123+01:00", DATE_ORDER_AUTO, "2025-03-04T13:15:09Z" },
		{ "2025-03-04 14:15:09 +0100", DATE_ORDER_AUTO, "2025-03-04T13:15:09Z" },
		{ "2025-03-04 14:15 UTC", DATE_ORDER_AUTO, "2025-03-04T14:15:00Z" },
		{ "2025-03-04T14:15", DATE_ORDER_AUTO, "2025-03-04T19:15:00Z" },
		{ "2025-03-04", DATE_ORDER_AUTO, "2025-03-04T05:00:00Z" },
		/* ISO 8601's basic format */
		{ "20250304T141509Z", DATE_ORDER_AUTO, "2025-03-04T14:15:09Z" },
		{ "20250304T1415+0100", DATE_ORDER_AUTO, "2025-03-04T13:15:00Z" },
		{ "20250304T1415", DATE_ORDER_AUTO, "2025-03-04T19:15:00Z" },
		{ "20250304", DATE_ORDER_AUTO, "2025-03-04T05:00:00Z" },
		{ "3/4/2025", DATE_ORDER_AUTO, "2025-03-04T05:00:00Z" },
		{ " 3/4/2025 14:15 ", DATE_ORDER_AUTO, "2025-03-04T19:15:00Z" },
		/* 12 AM is midnight, 12 PM is noon */
		{ "12/25/2025 12:00 AM", DATE_ORDER_AUTO, "2025-12-25T05:00:00Z" },
		{ "12/25/2025 12:30 am", DATE_ORDER_AUTO, "2025-12-25T05:30:00Z" },
		{ "12/25/2025 12:00 PM", DATE_ORDER_AUTO, "2025-12-25T17:00:00Z" },
		{ "12/25/2025 1:05PM", DATE_ORDER_AUTO, "2025-12-25T18:05:00Z" },
		{ "12/25/2025 11:59:59 PM", DATE_ORDER_AUTO, "2025-12-26T04:59:59Z" },
		{ "12/25/2025 11:00 AM", DATE_ORDER_AUTO, "2025-12-25T16:00:00Z" },
		{ "3/4/2025, 2:15 PM", DATE_ORDER_AUTO, "2025-03-04T19:15:00Z" },
		/* Excel's short date: a two-digit year is of this century */
		{ "3/5/25 2:15 PM", DATE_ORDER_AUTO, "2025-03-05T19:15:00Z" },
		{ "05.03.25 14:15", DATE_ORDER_AUTO, "2025-03-05T19:15:00Z" },
		/* epoch seconds, with a fraction, and milliseconds */
		{ "1741097709", DATE_ORDER_AUTO, "2025-03-04T14:15:09Z" },
		{ "1741097709.75", DATE_ORDER_AUTO, "2025-03-04T14:15:09Z" },
		{ "1741097709123", DATE_ORDER_AUTO, "2025-03-04T14:15:09Z" },
		{ "999999999", DATE_ORDER_DMY, "2001-09-09T01:46:39Z" },
		/* Excel serial dates, in the event's zone: days since 1899-12-30 */
		{ "45720.5", DATE_ORDER_AUTO, "2025-03-04T17:00:00Z" },
		{ "45720", DATE_ORDER_AUTO, "2025-03-04T05:00:00Z" },
		{ "45720 14:15", DATE_ORDER_AUTO, "2025-03-04T19:15:00Z" },  /* + a time column */
		{ "45720 2:15 PM", DATE_ORDER_AUTO, "2025-03-04T19:15:00Z" },
		{ "46086.59375", DATE_ORDER_AUTO, "2026-03-05T19:15:00Z" },
		{ "46086.593750000001", DATE_ORDER_AUTO, "2026-03-05T19:15:00Z" },
		{ "45720.99999999", DATE_ORDER_AUTO, "2025-03-05T05:00:00Z" },  /* rounds up */
		{ "30000", DATE_ORDER_AUTO, "1982-02-18T05:00:00Z" },
		{ "80000", DATE_ORDER_AUTO, "2119-01-11T05:00:00Z" },
		/* English month names */
		{ "March 5, 2026 2:15 PM", DATE_ORDER_AUTO, "2026-03-05T19:15:00Z" },
		{ "Mar 5 2026 14:15", DATE_ORDER_AUTO, "2026-03-05T19:15:00Z" },
		{ "05-Mar-2026 14:15", DATE_ORDER_AUTO, "2026-03-05T19:15:00Z" },
		{ "5 March 2026 14:15", DATE_ORDER_AUTO, "2026-03-05T19:15:00Z" },
		{ "5 march 2026", DATE_ORDER_DMY, "2026-03-05T05:00:00Z" },
		{ "Mar. 5, 2026, 2:15 p.m.", DATE_ORDER_AUTO, "2026-03-05T19:15:00Z" },
		{ "Sept 30 2025 9:00", DATE_ORDER_AUTO, "2025-09-30T13:00:00Z" },
		{ "Thursday, March 5, 2026 2:15 PM", DATE_ORDER_AUTO, "2026-03-05T19:15:00Z" },
		{ "Thu 5 Mar 2026 14:15:09 +0100", DATE_ORDER_AUTO, "2026-03-05T13:15:09Z" },
		{ "05-Mar-26 14:15", DATE_ORDER_AUTO, "2026-03-05T19:15:00Z" },
		{ "DECEMBER 31, 2025 11:59 PM", DATE_ORDER_YMD, "2026-01-01T04:59:00Z" },
		/* a.m./p.m., and an hour alone with AM/PM */
		{ "3/5/2026 2:15 p.m.", DATE_ORDER_AUTO, "2026-03-05T19:15:00Z" },
		{ "3/5/2026 2:15 a.m.", DATE_ORDER_AUTO, "2026-03-05T07:15:00Z" },
		{ "3/5/2026 2:15 P.M.", DATE_ORDER_AUTO, "2026-03-05T19:15:00Z" },
		{ "3/5/2026 2PM", DATE_ORDER_AUTO, "2026-03-05T19:00:00Z" },
		{ "3/5/2026 12 am", DATE_ORDER_AUTO, "2026-03-05T05:00:00Z" },
		{ "2026-03-05 2 p.m. UTC", DATE_ORDER_AUTO, "2026-03-05T14:00:00Z" },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		time_t t = 0;
		int ret = scanned_at_parse(cases[i].text, cases[i].order, NY, &t);

		if (ret != 0)
			fail_msg("scanned_at_parse('%s', %d) failed with %d", cases[i].text,
				 cases[i].order, ret);
		if (t != at(cases[i].expect))
			fail_msg("scanned_at_parse('%s', %d): got %s, want %s", cases[i].text,
				 cases[i].order, iso(t), cases[i].expect);
	}
}

static void test_timeutil__scanned_at_garbage(void **state)
{
	static const struct {
		const char *text;
		enum date_order order;
	} cases[] = {
		{ "13/04/2025 14:15", DATE_ORDER_MDY },          /* month 13 */
		{ "31/12/2025", DATE_ORDER_AUTO },
		{ "3/4/2025 14:15", DATE_ORDER_YMD },            /* not year first */
		{ "31.02.2025 10:00", DATE_ORDER_AUTO },
		{ "2025-02-29", DATE_ORDER_AUTO },
		{ "2025-03-04 13:00 PM", DATE_ORDER_AUTO },
		{ "3/5/125 2:15 PM", DATE_ORDER_AUTO },         /* a three-digit year */
		{ "2025-03-04 0:30 AM", DATE_ORDER_AUTO },
		{ "04.03.2025 25:00", DATE_ORDER_AUTO },
		{ "2025-03-04 14:15 junk", DATE_ORDER_AUTO },
		{ "2025-03-04 14:15 AMX", DATE_ORDER_AUTO },
		{ "3/4-2025", DATE_ORDER_AUTO },
		{ "20250230", DATE_ORDER_AUTO },                 /* basic format, no such day */
		{ "20250304T14", DATE_ORDER_AUTO },
		{ "20250304T14151", DATE_ORDER_AUTO },
		{ "20250304X1415", DATE_ORDER_AUTO },
		{ "45720.5 14:15", DATE_ORDER_AUTO },            /* a time twice */
		{ "45720 junk", DATE_ORDER_AUTO },
		{ "12345", DATE_ORDER_AUTO },                    /* epoch of no known length */
		{ "174109770912", DATE_ORDER_AUTO },
		{ "12345678901234", DATE_ORDER_AUTO },
		{ "1741097709.", DATE_ORDER_AUTO },
		{ "", DATE_ORDER_AUTO },
		{ "hello", DATE_ORDER_AUTO },
		{ "n/a", DATE_ORDER_AUTO },
		{ "14:15", DATE_ORDER_AUTO },
		/* Excel serials: only 30000 to 80000, digits and one fraction */
		{ "29999.5", DATE_ORDER_AUTO },
		{ "80000.5", DATE_ORDER_AUTO },
		{ "80001", DATE_ORDER_AUTO },
		{ "45720.", DATE_ORDER_AUTO },
		{ "45720.5.5", DATE_ORDER_AUTO },
		{ "45720,5", DATE_ORDER_AUTO },
		{ "045720", DATE_ORDER_AUTO },
		/* month names: English, a real day, a four-digit year (two only in 05-Mar-26) */
		{ "Marzo 5, 2026", DATE_ORDER_AUTO },
		{ "Ma 5 2026", DATE_ORDER_AUTO },
		{ "February 30, 2026", DATE_ORDER_AUTO },
		{ "March 5", DATE_ORDER_AUTO },
		{ "March 5, 26", DATE_ORDER_AUTO },
		{ "5 March 26", DATE_ORDER_AUTO },
		{ "05-Mar 2026", DATE_ORDER_AUTO },
		{ "05-Mar-202", DATE_ORDER_AUTO },
		{ "March 32, 2026", DATE_ORDER_AUTO },
		{ "March 5,2026", DATE_ORDER_AUTO },
		{ "March 5, 2026 junk", DATE_ORDER_AUTO },
		{ "Thursday", DATE_ORDER_AUTO },
		{ "Mar5 2026", DATE_ORDER_AUTO },
		/* an hour alone only with AM/PM, and of 1 to 12 */
		{ "3/5/2026 14", DATE_ORDER_AUTO },
		{ "3/5/2026 13PM", DATE_ORDER_AUTO },
		{ "3/5/2026 0 AM", DATE_ORDER_AUTO },
		{ "3/5/2026 2 p.x.", DATE_ORDER_AUTO },
		{ "3/5/2026 2 PMS", DATE_ORDER_AUTO },
		{ "2PM", DATE_ORDER_AUTO },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		time_t t = 42;

		if (scanned_at_parse(cases[i].text, cases[i].order, NY, &t) != TIME_EINVAL)
			fail_msg("scanned_at_parse('%s', %d) should fail, got %s", cases[i].text,
				 cases[i].order, iso(t));
	}
	assert_int_equal(scanned_at_parse(NULL, DATE_ORDER_AUTO, NY, &(time_t){ 0 }),
			 TIME_EINVAL);
}

/* A time with no zone is read in the event's zone; one with a zone is not. */
static void test_timeutil__scanned_at_zones(void **state)
{
	static const struct {
		const char *text, *zone, *expect;
	} cases[] = {
		{ "2025-03-04 14:15", TOKYO, "2025-03-04T05:15:00Z" },
		{ "2025-03-04 14:15", NY, "2025-03-04T19:15:00Z" },
		{ "2025-03-04 14:15", BERLIN, "2025-03-04T13:15:00Z" },
		{ "2025-03-04 14:15", "UTC", "2025-03-04T14:15:00Z" },
		{ "2025-03-04 14:15Z", TOKYO, "2025-03-04T14:15:00Z" },
		{ "1741097709", TOKYO, "2025-03-04T14:15:09Z" },
		{ "2025-07-04 14:15", NY, "2025-07-04T18:15:00Z" },      /* EDT */
	};
	time_t t;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(scanned_at_parse(cases[i].text, DATE_ORDER_AUTO, cases[i].zone,
						  &t), 0);
		if (t != at(cases[i].expect))
			fail_msg("'%s' in %s: got %s, want %s", cases[i].text, cases[i].zone,
				 iso(t), cases[i].expect);
	}
	assert_int_equal(scanned_at_parse("2025-03-04 14:15", DATE_ORDER_AUTO, "Mars/Base", &t),
			 TIME_EZONE);
}

static void test_timeutil__date_first_field_over_12(void **state)
{
	static const struct {
		const char *text;
		int over;
	} cases[] = {
		{ "13/04/2025", 1 }, { "31.12.2025 10:00", 1 }, { "13-04-2025 9:00", 1 },
		{ " 25/12/2025", 1 }, { "12/31/2025", 0 }, { "3/4/2025 14:15", 0 },
		{ "2025/13/01", 0 }, { "2025-03-04", 0 }, { "13/04/25", 1 }, { "13/04/125", 0 }, { "", 0 },
		{ "abc", 0 }, { "1741097709", 0 },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (date_first_field_over_12(cases[i].text) != cases[i].over)
			fail_msg("date_first_field_over_12('%s') should be %d", cases[i].text,
				 cases[i].over);
	assert_int_equal(date_first_field_over_12(NULL), 0);
}

static void test_timeutil__date_order_parse(void **state)
{
	enum date_order order = DATE_ORDER_AUTO;
	(void)state;

	assert_int_equal(date_order_parse("mdy", &order), 0);
	assert_int_equal(order, DATE_ORDER_MDY);
	assert_int_equal(date_order_parse("dmy", &order), 0);
	assert_int_equal(order, DATE_ORDER_DMY);
	assert_int_equal(date_order_parse("YMD", &order), 0);
	assert_int_equal(order, DATE_ORDER_YMD);
	assert_int_equal(date_order_parse("ydm", &order), TIME_EINVAL);
	assert_int_equal(date_order_parse("", &order), TIME_EINVAL);
	assert_int_equal(date_order_parse(NULL, &order), TIME_EINVAL);
	assert_int_equal(order, DATE_ORDER_YMD);
}

/* --- durations -------------------------------------------------------------------- */

static void test_timeutil__duration_parse(void **state)
{
	static const struct {
		const char *text;
		long amount;
		char unit;
		long seconds;
	} good[] = {
		{ "24h", 24, 'h', 86400 }, { "3d", 3, 'd', 259200 }, { "2w", 2, 'w', 1209600 },
		{ "90m", 90, 'm', 5400 }, { "0d", 0, 'd', 0 }, { "007d", 7, 'd', 604800 },
		{ "1000000d", 1000000, 'd', 86400000000L },
	};
	static const char *const bad[] = {
		"-3d", "+3d", "3 days", "3", "3x", "", "d", " 3d", "3d ", "3D", "3dd", "1.5d",
		"99999999999999999999d", "1000001d", "142858w", "9223372036854775807m",
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct duration d = { -1, '?' };
		char buf[DURATION_FORMAT_SIZE];

		if (duration_parse(good[i].text, &d) != 0)
			fail_msg("duration_parse('%s') failed", good[i].text);
		assert_int_equal(d.amount, good[i].amount);
		assert_int_equal(d.unit, good[i].unit);
		assert_int_equal(duration_seconds(d), good[i].seconds);
		duration_format(d, buf);
		if (good[i].text[0] != '0' || good[i].amount == 0)
			assert_string_equal(buf, good[i].text);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct duration d = { 5, 'd' };

		if (duration_parse(bad[i], &d) != TIME_EINVAL)
			fail_msg("duration_parse('%s') should fail", bad[i]);
		assert_int_equal(d.amount, 5);
	}
	assert_int_equal(duration_parse(NULL, &(struct duration){ 0, 0 }), TIME_EINVAL);
}

static void test_timeutil__duration_compare(void **state)
{
	static const struct {
		struct duration a, b;
		int sign;
	} cases[] = {
		{ { 1, 'd' }, { 24, 'h' }, 0 },
		{ { 3, 'd' }, { 1, 'w' }, -1 },
		{ { 1, 'w' }, { 6, 'd' }, 1 },
		{ { 90, 'm' }, { 1, 'h' }, 1 },
		{ { 2, 'w' }, { 14, 'd' }, 0 },
		{ { 0, 'd' }, { 1, 'm' }, -1 },
		{ { 14, 'd' }, { 7, 'd' }, 1 },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int got = duration_compare(cases[i].a, cases[i].b);
		int sign = (got > 0) - (got < 0);

		if (sign != cases[i].sign)
			fail_msg("case %zu: compare gave %d, want sign %d", i, got, cases[i].sign);
	}
}

/* --- windows ---------------------------------------------------------------------- */

static void test_timeutil__window_parse(void **state)
{
	static const struct {
		const char *text;
		int start, end;
		const char *formatted;
	} good[] = {
		{ "09:00-17:00", 540, 1020, "09:00-17:00" },
		{ "9:00-17:30", 540, 1050, "09:00-17:30" },
		{ "00:00-24:00", 0, 1440, "00:00-24:00" },
		{ "08:30 - 12:00", 510, 720, "08:30-12:00" },
		{ "23:00-24:00", 1380, 1440, "23:00-24:00" },
		{ "00:00-00:01", 0, 1, "00:00-00:01" },
	};
	static const char *const bad[] = {
		"25:00-26:00", "9-5", "17:00-09:00", "09:00-09:00", "24:00-24:00",
		"24:00-23:00", "09:00-24:01", "09:00-25:00", "09:60-10:00", "09:00",
		"", "09:00-17:00x", "9:0-17:00", "09:00--17:00", "-09:00-17:00",
		"09:00 to 17:00", "009:00-17:00",
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct window w = { -1, -1 };
		char buf[WINDOW_FORMAT_SIZE];

		if (window_parse(good[i].text, &w) != 0)
			fail_msg("window_parse('%s') failed", good[i].text);
		assert_int_equal(w.start_min, good[i].start);
		assert_int_equal(w.end_min, good[i].end);
		window_format(&w, buf);
		assert_string_equal(buf, good[i].formatted);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct window w = { 1, 2 };

		if (window_parse(bad[i], &w) != TIME_EINVAL)
			fail_msg("window_parse('%s') should fail", bad[i]);
		assert_int_equal(w.start_min, 1);
	}
	assert_int_equal(window_parse(NULL, &(struct window){ 0, 0 }), TIME_EINVAL);

	{
		struct window any = WINDOW_ANY_INIT, office = { 540, 1020 };
		assert_true(window_is_any(&any));
		assert_false(window_is_any(&office));
	}
}

/* --- cadence_offset --------------------------------------------------------------- */

static void test_timeutil__cadence_offset(void **state)
{
	static const struct {
		const char *anchor;
		struct duration after;
		int business_days;
		const char *zone, *expect;
	} cases[] = {
		/* January 2026 in New York (EST): Wed 7, Thu 8, Fri 9, Sat 10, Sun 11, Mon 12 */
		{ "2026-01-09T15:00:00Z", { 1, 'd' }, 1, NY, "2026-01-12T15:00:00Z" },  /* Fri+1d=Mon */
		{ "2026-01-10T15:00:00Z", { 1, 'd' }, 1, NY, "2026-01-12T15:00:00Z" },  /* Sat+1d=Mon */
		{ "2026-01-11T15:00:00Z", { 1, 'd' }, 1, NY, "2026-01-12T15:00:00Z" },  /* Sun+1d=Mon */
		{ "2026-01-07T15:00:00Z", { 3, 'd' }, 1, NY, "2026-01-12T15:00:00Z" },  /* Wed+3d=Mon */
		{ "2026-01-08T15:00:00Z", { 2, 'd' }, 1, NY, "2026-01-12T15:00:00Z" },  /* Thu+2d=Mon */
		{ "2026-01-09T15:00:00Z", { 1, 'w' }, 1, NY, "2026-01-16T15:00:00Z" },  /* Fri+1w=Fri */
		{ "2026-01-10T15:00:00Z", { 1, 'w' }, 1, NY, "2026-01-16T15:00:00Z" },  /* Sat+1w=Fri */
		{ "2026-01-11T15:00:00Z", { 5, 'd' }, 1, NY, "2026-01-16T15:00:00Z" },  /* Sun+5d=Fri */
		{ "2026-01-05T15:00:00Z", { 10, 'd' }, 1, NY, "2026-01-19T15:00:00Z" }, /* Mon+10d */
		{ "2026-01-07T15:00:00Z", { 7, 'd' }, 1, NY, "2026-01-16T15:00:00Z" },  /* Wed+7d=Fri */
		{ "2026-01-09T15:00:00Z", { 0, 'd' }, 1, NY, "2026-01-09T15:00:00Z" },
		/* without business days: calendar days */
		{ "2026-01-09T15:00:00Z", { 1, 'd' }, 0, NY, "2026-01-10T15:00:00Z" },
		{ "2026-01-09T15:00:00Z", { 3, 'd' }, 0, NY, "2026-01-12T15:00:00Z" },
		{ "2026-01-09T15:00:00Z", { 1, 'w' }, 0, NY, "2026-01-16T15:00:00Z" },
		{ "2026-01-07T15:00:00Z", { 7, 'd' }, 0, NY, "2026-01-14T15:00:00Z" },
		/* h and m are elapsed time, business days or not */
		{ "2026-01-09T15:00:00Z", { 24, 'h' }, 1, NY, "2026-01-10T15:00:00Z" },
		{ "2026-01-09T15:00:00Z", { 90, 'm' }, 1, NY, "2026-01-09T16:30:00Z" },
		/* US spring forward (Sun 2026-03-08): 09:00 EST stays 09:00, now EDT */
		{ "2026-03-07T14:00:00Z", { 1, 'd' }, 0, NY, "2026-03-08T13:00:00Z" },
		{ "2026-03-07T14:00:00Z", { 1, 'w' }, 0, NY, "2026-03-14T13:00:00Z" },
		{ "2026-03-06T14:00:00Z", { 1, 'd' }, 1, NY, "2026-03-09T13:00:00Z" },
		{ "2026-03-07T14:00:00Z", { 24, 'h' }, 0, NY, "2026-03-08T14:00:00Z" },
		/* Berlin falls back on Sun 2026-10-25: 09:00 CEST -> 09:00 CET */
		{ "2026-10-24T07:00:00Z", { 1, 'd' }, 0, BERLIN, "2026-10-25T08:00:00Z" },
		{ "2026-10-24T07:00:00Z", { 24, 'h' }, 0, BERLIN, "2026-10-25T07:00:00Z" },
		{ "2026-10-23T07:00:00Z", { 1, 'd' }, 1, BERLIN, "2026-10-26T08:00:00Z" },
		/* the weekday is the lead's: Fri 09:00 in Tokyo is Thu 19:00 in New York */
		{ "2026-01-09T00:00:00Z", { 1, 'd' }, 1, TOKYO, "2026-01-12T00:00:00Z" },
		{ "2026-01-09T00:00:00Z", { 1, 'd' }, 1, NY, "2026-01-10T00:00:00Z" },
		/* an unknown zone is read as UTC */
		{ "2026-01-09T15:00:00Z", { 1, 'd' }, 1, "Mars/Base", "2026-01-12T15:00:00Z" },
		{ "2026-01-09T15:00:00Z", { 1, 'd' }, 1, "UTC", "2026-01-12T15:00:00Z" },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		time_t t = cadence_offset(at(cases[i].anchor), cases[i].after,
					  cases[i].business_days, cases[i].zone);

		if (t != at(cases[i].expect))
			fail_msg("case %zu: %s + %ld%c%s in %s: got %s, want %s", i,
				 cases[i].anchor, cases[i].after.amount, cases[i].after.unit,
				 cases[i].business_days ? " (business)" : "", cases[i].zone,
				 iso(t), cases[i].expect);
	}
}

/* --- cadence_place ---------------------------------------------------------------- */

static void test_timeutil__cadence_place(void **state)
{
	static const struct window office = { 9 * 60, 17 * 60 };
	static const struct window early = { 2 * 60 + 30, 17 * 60 };
	static const struct window late_start = { 60 + 45, 17 * 60 };
	static const struct {
		const char *t;
		const struct window *w;
		int business_days;
		const char *zone, *expect;
	} cases[] = {
		/* Friday 18:00 EST -> Monday 09:00 with business days, Saturday without */
		{ "2026-01-09T23:00:00Z", &office, 1, NY, "2026-01-12T14:00:00Z" },
		{ "2026-01-09T23:00:00Z", &office, 0, NY, "2026-01-10T14:00:00Z" },
		/* inside (start included) stays; before the start -> that day's start */
		{ "2026-01-07T15:30:00Z", &office, 1, NY, "2026-01-07T15:30:00Z" },
		{ "2026-01-07T14:00:00Z", &office, 1, NY, "2026-01-07T14:00:00Z" },
		{ "2026-01-07T21:59:59Z", &office, 1, NY, "2026-01-07T21:59:59Z" },
		{ "2026-01-07T12:15:00Z", &office, 1, NY, "2026-01-07T14:00:00Z" },
		{ "2026-01-07T05:00:00Z", &office, 1, NY, "2026-01-07T14:00:00Z" },
		/* the end is excluded -> next day's start */
		{ "2026-01-07T22:00:00Z", &office, 1, NY, "2026-01-08T14:00:00Z" },
		/* Saturday: off with business days (-> Monday), allowed without */
		{ "2026-01-10T16:00:00Z", &office, 1, NY, "2026-01-12T14:00:00Z" },
		{ "2026-01-10T16:00:00Z", &office, 0, NY, "2026-01-10T16:00:00Z" },
		{ "2026-01-10T12:00:00Z", &office, 0, NY, "2026-01-10T14:00:00Z" },
		{ "2026-01-11T13:00:00Z", &office, 1, NY, "2026-01-12T14:00:00Z" },
		{ "2026-01-12T01:00:00Z", &office, 0, NY, "2026-01-12T14:00:00Z" },
		/* no window: any time, but still off weekends with business days */
		{ "2026-01-10T16:00:00Z", NULL, 0, NY, "2026-01-10T16:00:00Z" },
		{ "2026-01-10T16:00:00Z", NULL, 1, NY, "2026-01-12T05:00:00Z" },
		{ "2026-01-07T03:00:00Z", NULL, 1, NY, "2026-01-07T03:00:00Z" },
		/* a Tokyo lead's window is Tokyo time: 10:30 in New York is 00:30 in Tokyo */
		{ "2026-01-07T15:30:00Z", &office, 1, TOKYO, "2026-01-08T00:00:00Z" },
		{ "2026-01-08T03:00:00Z", &office, 1, TOKYO, "2026-01-08T03:00:00Z" },
		/* Friday 18:00 JST with business days -> Monday 09:00 JST */
		{ "2026-01-09T09:00:00Z", &office, 1, TOKYO, "2026-01-12T00:00:00Z" },
		/* the window is wall clock: 09:00 EST before the change, 09:00 EDT after */
		{ "2026-03-07T23:00:00Z", &office, 0, NY, "2026-03-08T13:00:00Z" },
		{ "2026-03-07T23:00:00Z", &office, 1, NY, "2026-03-09T13:00:00Z" },
		{ "2026-10-24T16:00:00Z", &office, 0, BERLIN, "2026-10-25T08:00:00Z" },
		/* a start in the spring-forward gap opens at the first valid instant (03:00) */
		{ "2026-03-08T06:00:00Z", &early, 0, NY, "2026-03-08T07:00:00Z" },
		/* fall back: 01:30 EST comes after 01:45 EDT; the window opens at 01:45 EST */
		{ "2026-11-01T06:30:00Z", &late_start, 0, NY, "2026-11-01T06:45:00Z" },
		{ "2026-11-01T05:30:00Z", &late_start, 0, NY, "2026-11-01T05:45:00Z" },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		time_t t = cadence_place(at(cases[i].t), cases[i].w, cases[i].business_days,
					 cases[i].zone);

		if (t != at(cases[i].expect))
			fail_msg("case %zu: %s in %s: got %s, want %s", i, cases[i].t,
				 cases[i].zone, iso(t), cases[i].expect);
	}
}

/* The three steps of SPEC section 7 together, as plan would run them. */
static void test_timeutil__cadence_offset_then_place(void **state)
{
	struct window office;
	struct duration after;
	time_t base;
	(void)state;

	assert_int_equal(window_parse("09:00-17:00", &office), 0);
	/* contacted Thursday 16:40 at the booth; the 24h recap would land Friday 16:40 */
	assert_int_equal(duration_parse("24h", &after), 0);
	base = cadence_offset(at("2026-01-08T21:40:00Z"), after, 1, NY);
	assert_string_equal(iso(cadence_place(base, &office, 1, NY)), "2026-01-09T21:40:00Z");
	/* day 3 in business days: Tuesday at 16:40 */
	assert_int_equal(duration_parse("3d", &after), 0);
	base = cadence_offset(at("2026-01-08T21:40:00Z"), after, 1, NY);
	assert_string_equal(iso(cadence_place(base, &office, 1, NY)), "2026-01-13T21:40:00Z");
	/* contacted Thursday 18:30: the recap waits for Monday's window */
	assert_int_equal(duration_parse("24h", &after), 0);
	base = cadence_offset(at("2026-01-08T23:30:00Z"), after, 1, NY);
	assert_string_equal(iso(cadence_place(base, &office, 1, NY)), "2026-01-12T14:00:00Z");
}

/* --- formatting ------------------------------------------------------------------- */

static void test_timeutil__format(void **state)
{
	char utc[TIME_UTC_SIZE], buf[32];
	(void)state;

	time_format_utc(1700000000, utc);
	assert_string_equal(utc, "2023-11-14T22:13:20Z");
	time_format_utc(at("2026-03-05T09:00:00Z"), utc);
	assert_string_equal(utc, "2026-03-05T09:00:00Z");
	time_format_utc(0, utc);
	assert_string_equal(utc, "1970-01-01T00:00:00Z");
	time_format_utc(253402300799, utc);
	assert_string_equal(utc, "9999-12-31T23:59:59Z");
	time_format_utc(253402300800, utc);     /* year 10000 does not fit */
	assert_string_equal(utc, "");

	time_format_local(at("2026-03-05T14:00:00Z"), NY, buf, sizeof(buf));
	assert_string_equal(buf, "2026-03-05 09:00");
	time_format_local(at("2026-03-05T14:00:00Z"), TOKYO, buf, sizeof(buf));
	assert_string_equal(buf, "2026-03-05 23:00");
	time_format_local(at("2026-03-05T14:00:00Z"), "Mars/Base", buf, sizeof(buf));
	assert_string_equal(buf, "2026-03-05 14:00");
	time_format_local(at("2026-03-05T14:00:00Z"), NY, buf, 5);
	assert_string_equal(buf, "2026");

	time_format_day(at("2026-03-05T14:00:00Z"), NY, buf, sizeof(buf));
	assert_string_equal(buf, "Thu 2026-03-05");
	time_format_day(at("2026-03-05T20:00:00Z"), TOKYO, buf, sizeof(buf));
	assert_string_equal(buf, "Fri 2026-03-06");
	time_format_day(at("2026-03-08T04:00:00Z"), NY, buf, sizeof(buf));
	assert_string_equal(buf, "Sat 2026-03-07");
}

static void test_timeutil__local_midnight(void **state)
{
	static const struct {
		const char *t, *zone, *expect;
	} cases[] = {
		{ "2026-03-05T14:00:00Z", NY, "2026-03-05T05:00:00Z" },
		{ "2026-03-05T04:59:59Z", NY, "2026-03-04T05:00:00Z" },
		{ "2026-03-05T14:00:00Z", TOKYO, "2026-03-04T15:00:00Z" },
		{ "2026-03-05T14:00:00Z", "UTC", "2026-03-05T00:00:00Z" },
		/* the day the clocks change starts at midnight EST */
		{ "2026-03-08T15:00:00Z", NY, "2026-03-08T05:00:00Z" },
		{ "2026-03-09T15:00:00Z", NY, "2026-03-09T04:00:00Z" },
		/* Chile springs forward at midnight: that day starts at 01:00 */
		{ "2026-09-06T12:00:00Z", "America/Santiago", "2026-09-06T04:00:00Z" },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		time_t t = local_midnight(at(cases[i].t), cases[i].zone);

		if (t != at(cases[i].expect))
			fail_msg("local_midnight(%s, %s): got %s, want %s", cases[i].t,
				 cases[i].zone, iso(t), cases[i].expect);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeutil__zone_valid),
		cmocka_unit_test(test_timeutil__zone_canonical_fixes_case_only),
		cmocka_unit_test(test_timeutil__zone_valid_uses_tzdir),
		cmocka_unit_test(test_timeutil__zone_to_local),
		cmocka_unit_test(test_timeutil__zone_from_local),
		cmocka_unit_test(test_timeutil__local_zone_is_restored),
		cmocka_unit_test(test_timeutil__time_parse_forms),
		cmocka_unit_test(test_timeutil__time_parse_until_takes_whole_days),
		cmocka_unit_test(test_timeutil__time_parse_garbage),
		cmocka_unit_test(test_timeutil__time_parse_zones),
		cmocka_unit_test(test_timeutil__scanned_at_forms),
		cmocka_unit_test(test_timeutil__scanned_at_garbage),
		cmocka_unit_test(test_timeutil__scanned_at_zones),
		cmocka_unit_test(test_timeutil__date_first_field_over_12),
		cmocka_unit_test(test_timeutil__date_order_parse),
		cmocka_unit_test(test_timeutil__duration_parse),
		cmocka_unit_test(test_timeutil__duration_compare),
		cmocka_unit_test(test_timeutil__window_parse),
		cmocka_unit_test(test_timeutil__cadence_offset),
		cmocka_unit_test(test_timeutil__cadence_place),
		cmocka_unit_test(test_timeutil__cadence_offset_then_place),
		cmocka_unit_test(test_timeutil__format),
		cmocka_unit_test(test_timeutil__local_midnight),
	};

	/* the "local" zone of this process is fixed so that results do not depend on
	 * the machine running the tests */
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
