/* timeutil.c - see timeutil.h. */
#include "followup/timeutil.h"
#include "followup/util.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECONDS_PER_DAY 86400L
/* Longest accepted duration: a million days (about 2,700 years). Keeps every day count
 * well inside an int when it is added to struct tm's tm_mday. */
#define DURATION_MAX_SECONDS (1000000L * SECONDS_PER_DAY)
/* No time this module reads is longer; a longer value is refused without parsing. */
#define TIME_TEXT_MAX 64

/* ================================================================================
 * Zones: which zone TZ holds right now
 * ================================================================================ */

/* The zone timeutil put in TZ, or NULL while TZ is still the caller's own. */
static char *applied_zone;
/* The caller's TZ from before the first switch: its value, or unset. */
static char *caller_tz;
static int caller_tz_was_set;

static int zone_name_well_formed(const char *zone)
{
	const char *component = zone;
	size_t len = strlen(zone);

	if (len == 0 || len > 255 || zone[0] == '/')
		return 0;
	for (const char *p = zone; ; p++) {
		if (*p == '/' || *p == '\0') {
			size_t clen = (size_t)(p - component);
			/* "a//b" and "a/" name no zone; "." and ".." fail the
			 * character test below, so no name climbs out of the directory */
			if (clen == 0)
				return 0;
			if (*p == '\0')
				return 1;
			component = p + 1;
			continue;
		}
		if (!isalnum((unsigned char)*p) && !strchr("_+-", *p))
			return 0;
	}
}

/* 1 when path is a regular file that starts with the tzfile magic "TZif". */
static int is_tzfile(const char *path)
{
	char magic[4];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ok = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
	    !memcmp(magic, "TZif", sizeof(magic)))
		ok = 1;
	close(fd);
	return ok;
}

static const char *zone_directory(void)
{
	const char *dir = getenv("TZDIR");
	return str_empty(dir) ? "/usr/share/zoneinfo" : dir;
}

/* Whether the zone files have zone, spelt so: the file system's answer, uncached. */
static int zone_file_exists(const char *zone)
{
	char *path;
	int ok;

	if (str_empty(zone) || !zone_name_well_formed(zone))
		return 0;
	/* the C library knows UTC even where tzdata is not installed */
	if (!strcmp(zone, "UTC"))
		return 1;
	path = xasprintf("%s/%s", zone_directory(), zone);
	ok = is_tzfile(path);
	free(path);
	return ok;
}

/* Appends to path the entry of its directory that is `name` but for case, if one is. */
static int add_entry_named(struct strbuf *path, const char *name, size_t len)
{
	DIR *dir = opendir(path->buf);
	struct dirent *entry;
	int found = 0;

	if (!dir)
		return 0;
	while (!found && (entry = readdir(dir)))
		if (strlen(entry->d_name) == len && !strncasecmp(entry->d_name, name, len)) {
			strbuf_addf(path, "/%s", entry->d_name);
			found = 1;
		}
	closedir(dir);
	return found;
}

static char *zone_canonical_uncached(const char *zone)
{
	struct strbuf path = STRBUF_INIT;
	size_t dir_len;

	if (zone_file_exists(zone))
		return xstrdup(zone);
	if (str_empty(zone) || !zone_name_well_formed(zone))
		return NULL;
	if (!strcasecmp(zone, "UTC"))
		return xstrdup("UTC");
	strbuf_addstr(&path, zone_directory());
	dir_len = path.len;
	for (const char *p = zone; *p; ) {
		size_t len = strcspn(p, "/");
		if (!add_entry_named(&path, p, len)) {
			strbuf_release(&path);
			return NULL;
		}
		p += len + (p[len] == '/');
	}
	if (!is_tzfile(path.buf)) {
		strbuf_release(&path);
		return NULL;
	}
	char *name = xstrdup(path.buf + dir_len + 1);
	strbuf_release(&path);
	return name;
}

/*
 * What the zone files said of the last few names asked about, for the directory they
 * were asked of: a lead list names a few zones over and over, and every answer costs a
 * file open (a directory walk for a misspelt name), which per row would make an import
 * or a listing several times slower.
 */
struct zone_answer {
	char *asked;
	char *canonical;        /* NULL: no such zone */
};

static struct {
	char *directory;
	struct zone_answer answers[8];
	size_t next;
} zone_cache;

static void zone_cache_flush(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(zone_cache.answers); i++) {
		free(zone_cache.answers[i].asked);
		free(zone_cache.answers[i].canonical);
		zone_cache.answers[i] = (struct zone_answer){ NULL, NULL };
	}
	free(zone_cache.directory);
	zone_cache.directory = xstrdup(zone_directory());
}

static const struct zone_answer *zone_answer_of(const char *zone)
{
	struct zone_answer *a;

	if (!zone_cache.directory || strcmp(zone_cache.directory, zone_directory()))
		zone_cache_flush();
	for (size_t i = 0; i < ARRAY_SIZE(zone_cache.answers); i++)
		if (zone_cache.answers[i].asked && !strcmp(zone_cache.answers[i].asked, zone))
			return &zone_cache.answers[i];
	a = &zone_cache.answers[zone_cache.next];
	zone_cache.next = (zone_cache.next + 1) % ARRAY_SIZE(zone_cache.answers);
	free(a->asked);
	free(a->canonical);
	a->asked = xstrdup(zone);
	a->canonical = zone_canonical_uncached(zone);
	return a;
}

int zone_valid(const char *zone)
{
	const struct zone_answer *a;

	if (str_empty(zone))
		return 0;
	a = zone_answer_of(zone);
	return a->canonical && !strcmp(a->canonical, zone);
}

char *zone_canonical(const char *zone)
{
	const struct zone_answer *a;

	if (!zone)
		return NULL;
	a = zone_answer_of(zone);
	return a->canonical ? xstrdup(a->canonical) : NULL;
}

char *zone_unknown_message(const char *zone)
{
	char *known = zone_canonical(zone);
	char *message = known ? xasprintf("unknown time zone '%s' (did you mean '%s'?)", zone, known)
			      : xasprintf("unknown time zone '%s'", zone);
	free(known);
	return message;
}

void zone_restore_local(void)
{
	if (!applied_zone) {
		/* cheap when TZ did not change: glibc compares it with the last value */
		tzset();
		return;
	}
	if (caller_tz_was_set)
		setenv("TZ", caller_tz, 1);
	else
		unsetenv("TZ");
	tzset();
	free(applied_zone);
	applied_zone = NULL;
	free(caller_tz);
	caller_tz = NULL;
}

/* Makes zone the one localtime_r() uses. Staying in the same zone is free; switching
 * costs a tzset(), which rereads the zone file. */
static int use_zone(const char *zone)
{
	if (str_empty(zone)) {
		zone_restore_local();
		return TIME_OK;
	}
	if (applied_zone && !strcmp(applied_zone, zone))
		return TIME_OK;
	if (!zone_valid(zone))
		return TIME_EZONE;
	if (!applied_zone) {
		const char *tz = getenv("TZ");
		caller_tz_was_set = tz != NULL;
		caller_tz = tz ? xstrdup(tz) : NULL;
	}
	setenv("TZ", zone, 1);
	tzset();
	free(applied_zone);
	applied_zone = xstrdup(zone);
	return TIME_OK;
}

/* For the functions that cannot fail: an unknown zone is read as UTC. */
static void use_zone_or_utc(const char *zone)
{
	if (use_zone(zone) < 0)
		use_zone("UTC");
}

/* ================================================================================
 * Wall clock <-> instant, in the zone use_zone() applied
 * ================================================================================ */

static long utc_offset_at(time_t t)
{
	struct tm tm;

	if (!localtime_r(&t, &tm))
		return 0;
	return tm.tm_gmtoff;
}

/* The first instant in (before, after] whose UTC offset differs from before's: the
 * moment of a clock change known to lie in that interval. */
static time_t moment_of_change(time_t before, time_t after)
{
	long old_offset = utc_offset_at(before);

	while (after - before > 1) {
		time_t middle = before + (after - before) / 2;
		if (utc_offset_at(middle) == old_offset)
			before = middle;
		else
			after = middle;
	}
	return after;
}

/*
 * The instant the wall clock shows *local. The offsets in effect a day either side are
 * the only candidates (zones do not change twice in two days): each gives an instant,
 * which is right when that offset is in effect there. Two right answers are a fall-back
 * overlap (take the earlier); none is a spring-forward gap (take the change itself).
 */
static time_t instant_of_wall_clock(const struct tm *local)
{
	struct tm wall = *local;
	time_t as_if_utc, by_offset_before, by_offset_after;
	long offset_before, offset_after;
	int before_fits, after_fits;

	wall.tm_isdst = 0;
	as_if_utc = timegm(&wall);
	offset_before = utc_offset_at(as_if_utc - SECONDS_PER_DAY);
	offset_after = utc_offset_at(as_if_utc + SECONDS_PER_DAY);
	by_offset_before = as_if_utc - offset_before;
	by_offset_after = as_if_utc - offset_after;
	before_fits = utc_offset_at(by_offset_before) == offset_before;
	after_fits = utc_offset_at(by_offset_after) == offset_after;

	if (before_fits && after_fits)
		return by_offset_before < by_offset_after ? by_offset_before : by_offset_after;
	if (before_fits)
		return by_offset_before;
	if (after_fits)
		return by_offset_after;
	if (by_offset_after < by_offset_before)
		return moment_of_change(by_offset_after, by_offset_before);
	return moment_of_change(by_offset_before, by_offset_after);
}

int zone_to_local(const char *zone, time_t t, struct tm *out)
{
	int ret = use_zone(zone);

	if (ret < 0)
		return ret;
	return localtime_r(&t, out) ? TIME_OK : TIME_EINVAL;
}

int zone_from_local(const char *zone, const struct tm *local, time_t *out)
{
	int ret = use_zone(zone);

	if (ret < 0)
		return ret;
	*out = instant_of_wall_clock(local);
	return TIME_OK;
}

/* t moved by days calendar days (may be negative) at the same wall clock time. */
static int add_calendar_days(time_t t, long days, const char *zone, time_t *out)
{
	struct tm local;
	int ret = zone_to_local(zone, t, &local);

	if (ret < 0)
		return ret;
	local.tm_mday += (int)days;
	return zone_from_local(zone, &local, out);
}

/* The start of the local day of t, moved by days (0 = that day). */
static int day_start(time_t t, long days, const char *zone, time_t *out)
{
	struct tm local;
	int ret = zone_to_local(zone, t, &local);

	if (ret < 0)
		return ret;
	local.tm_mday += (int)days;
	local.tm_hour = local.tm_min = local.tm_sec = 0;
	return zone_from_local(zone, &local, out);
}

time_t local_midnight(time_t t, const char *zone)
{
	time_t midnight = t;

	use_zone_or_utc(zone);
	day_start(t, 0, applied_zone, &midnight);
	return midnight;
}

/* ================================================================================
 * Reading times
 * ================================================================================ */

/* A time as written: a calendar date, a wall clock time and maybe a UTC offset. */
struct written_time {
	int year, month, day;
	int hour, minute, second;
	int has_offset;
	long offset;            /* seconds east of UTC */
};

/* Copies s without its leading and trailing blanks; refuses NULL, "" and long text. */
static int copy_trimmed(const char *s, char buf[static TIME_TEXT_MAX])
{
	size_t len;

	if (!s)
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0 || len >= TIME_TEXT_MAX)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

static void skip_blanks(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

/* Reads min_digits to max_digits decimal digits; a further digit is an error. */
static int read_number(const char **p, int min_digits, int max_digits, int *value)
{
	int digits = 0, v = 0;

	while (isdigit((unsigned char)**p) && digits < max_digits) {
		v = v * 10 + (**p - '0');
		(*p)++;
		digits++;
	}
	if (digits < min_digits || isdigit((unsigned char)**p))
		return -1;
	*value = v;
	return digits;
}

/* Reads exactly n digits, whatever follows (the "0100" of "+0100"). */
static int read_fixed_digits(const char **p, int n, int *value)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*value = v;
	return 0;
}

static int is_leap_year(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int date_exists(int year, int month, int day)
{
	static const int days_in_month[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int last;

	if (year < 1900 || month < 1 || month > 12 || day < 1)
		return 0;
	last = days_in_month[month - 1] + (month == 2 && is_leap_year(year));
	return day <= last;
}

enum date_syntax {
	DATE_ISO_ONLY,          /* YYYY-MM-DD, as TIME on the command line */
	DATE_ANY_ORDER,         /* also year first with / or ., and year last (badge scans) */
};

/* Reads a date: YYYY-MM-DD, and with DATE_ANY_ORDER also YYYY/MM/DD, YYYY.MM.DD and
 * year-last dates, the year of four digits or two (D.M.Y for dots, else as order says). */
static int read_date(const char **p, enum date_syntax syntax, enum date_order order,
		     struct written_time *wt)
{
	int first, second, third, first_digits, year_digits;
	char separator;

	first_digits = read_number(p, 1, 4, &first);
	if (first_digits < 0 || first_digits == 3)
		return -1;
	separator = **p;
	if (!separator || !strchr(syntax == DATE_ISO_ONLY ? "-" : "-/.", separator))
		return -1;
	(*p)++;
	if (read_number(p, 1, 2, &second) < 0 || **p != separator)
		return -1;
	(*p)++;

	if (first_digits == 4) {
		if (read_number(p, 1, 2, &third) < 0)
			return -1;
		wt->year = first, wt->month = second, wt->day = third;
	} else {
		year_digits = syntax == DATE_ISO_ONLY ? -1 : read_number(p, 2, 4, &third);
		if (year_digits != 2 && year_digits != 4)
			return -1;
		/* Excel's short date, 3/5/25: a badge scan is of this century. */
		wt->year = year_digits == 2 ? 2000 + third : third;
		if (separator == '.' || order == DATE_ORDER_DMY)
			wt->day = first, wt->month = second;
		else if (order == DATE_ORDER_YMD)
			return -1;
		else
			wt->month = first, wt->day = second;
	}
	return date_exists(wt->year, wt->month, wt->day) ? 0 : -1;
}

/* Reads " AM" / "pm" (the blank is optional) and turns a 1-12 hour into 0-23. With no
 * marker, leaves *p and the hour alone. */
static int read_meridiem(const char **p, int *hour)
{
	const char *q = *p;
	int pm;

	skip_blanks(&q);
	if (toupper((unsigned char)q[0]) == 'A')
		pm = 0;
	else if (toupper((unsigned char)q[0]) == 'P')
		pm = 1;
	else
		return 0;
	q++;
	q += *q == '.';                 /* "p.m.", as style guides write it */
	if (toupper((unsigned char)*q) != 'M')
		return 0;
	q++;
	q += *q == '.' && q[-2] == '.';
	if (isalpha((unsigned char)*q))
		return 0;
	if (*hour < 1 || *hour > 12)
		return -1;
	*hour = *hour % 12 + (pm ? 12 : 0);
	*p = q;
	return 0;
}

/* Reads H:MM[:SS[.fraction]] (the fraction is dropped) and, if allowed, AM/PM; with
 * AM/PM the hour may stand alone ("2PM", "2 p.m."). */
static int read_clock(const char **p, int allow_meridiem, struct written_time *wt)
{
	const char *hour_end;

	wt->second = 0;
	if (read_number(p, 1, 2, &wt->hour) < 0)
		return -1;
	if (**p != ':') {
		hour_end = *p;
		wt->minute = 0;
		if (!allow_meridiem || read_meridiem(p, &wt->hour) < 0 || *p == hour_end)
			return -1;
		return 0;
	}
	(*p)++;
	if (read_number(p, 2, 2, &wt->minute) < 0)
		return -1;
	if (**p == ':') {
		(*p)++;
		if (read_number(p, 2, 2, &wt->second) < 0)
			return -1;
		if ((**p == '.' || **p == ',') && isdigit((unsigned char)(*p)[1])) {
			(*p)++;
			while (isdigit((unsigned char)**p))
				(*p)++;
		}
	}
	if (allow_meridiem && read_meridiem(p, &wt->hour) < 0)
		return -1;
	if (wt->hour > 23 || wt->minute > 59 || wt->second > 59)
		return -1;
	return 0;
}

/* Reads an optional zone after the clock: Z, UTC, GMT, +01:00, +0100 or +01. */
static int read_offset(const char **p, struct written_time *wt)
{
	int hours, minutes = 0, sign;

	wt->has_offset = 0;
	skip_blanks(p);
	if (**p == '\0')
		return 0;
	wt->offset = 0;
	if (**p == 'Z' || **p == 'z') {
		(*p)++;
	} else if (!strncasecmp(*p, "UTC", 3) || !strncasecmp(*p, "GMT", 3)) {
		*p += 3;
	} else if (**p == '+' || **p == '-') {
		sign = **p == '-' ? -1 : 1;
		(*p)++;
		if (read_fixed_digits(p, 2, &hours) < 0)
			return -1;
		if (**p == ':')
			(*p)++;
		if (isdigit((unsigned char)**p) && read_number(p, 2, 2, &minutes) < 0)
			return -1;
		if (hours > 18 || minutes > 59)
			return -1;
		wt->offset = sign * (hours * 3600L + minutes * 60L);
	} else {
		return -1;
	}
	wt->has_offset = 1;
	return 0;
}

/* Reads an English month's name, whole or cut to three letters ("Sept" too), with an
 * optional dot ("Mar."); sets *month 1-12. */
static int read_month_name(const char **p, int *month)
{
	static const char *const names[] = { "january", "february", "march", "april", "may",
		"june", "july", "august", "september", "october", "november", "december" };
	size_t len = 0;

	while (isalpha((unsigned char)(*p)[len]))
		len++;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if ((len == 3 || len == strlen(names[i]) || (i == 8 && len == 4)) &&
		    !strncasecmp(*p, names[i], len)) {
			*p += len;
			*p += **p == '.';
			*month = (int)i + 1;
			return 0;
		}
	}
	return -1;
}

/* Skips an English weekday's name, whole or of three letters, and a comma after it. */
static void skip_weekday(const char **p)
{
	static const char *const names[] = { "monday", "tuesday", "wednesday", "thursday",
		"friday", "saturday", "sunday" };
	size_t len = 0;

	while (isalpha((unsigned char)(*p)[len]))
		len++;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if ((len == 3 || len == strlen(names[i])) && !strncasecmp(*p, names[i], len)) {
			*p += len;
			*p += **p == ',';
			skip_blanks(p);
			return;
		}
	}
}

/* Reads a date with the month's name: "March 5, 2026", "Mar 5 2026", "5 March 2026",
 * "05-Mar-2026", "Thursday, March 5, 2026"; the year of four digits, or two in Excel's
 * "05-Mar-26". */
static int read_named_date(const char **p, struct written_time *wt)
{
	int year_digits;

	skip_weekday(p);
	if (isalpha((unsigned char)**p)) {             /* March 5, 2026 */
		if (read_month_name(p, &wt->month) < 0 || (**p != ' ' && **p != '\t'))
			return -1;
		skip_blanks(p);
		if (read_number(p, 1, 2, &wt->day) < 0)
			return -1;
		*p += **p == ',';
		if (**p != ' ' && **p != '\t')
			return -1;
		skip_blanks(p);
		year_digits = read_number(p, 4, 4, &wt->year);
	} else {                                        /* 5 March 2026, 05-Mar-2026 */
		char separator;

		if (read_number(p, 1, 2, &wt->day) < 0)
			return -1;
		separator = **p;
		if (separator != ' ' && separator != '-')
			return -1;
		(*p)++;
		if (read_month_name(p, &wt->month) < 0 || **p != separator)
			return -1;
		(*p)++;
		year_digits = read_number(p, separator == '-' ? 2 : 4, 4, &wt->year);
		if (year_digits == 2)
			wt->year += 2000;
		else if (year_digits == 3)
			return -1;
	}
	if (year_digits < 0)
		return -1;
	return date_exists(wt->year, wt->month, wt->day) ? 0 : -1;
}

/* Reads what may follow a date: nothing, or a separator, a clock and an optional zone. */
static int read_time_of_day(const char **p, int allow_meridiem, struct written_time *wt)
{
	wt->hour = wt->minute = wt->second = 0;
	wt->has_offset = 0;
	wt->offset = 0;
	if (**p == '\0')
		return 0;
	if (**p == 'T' || **p == 't') {
		(*p)++;
	} else if (**p == ' ' || (allow_meridiem && **p == ',')) {
		if (**p == ',')
			(*p)++;
		skip_blanks(p);
	} else {
		return -1;
	}
	if (read_clock(p, allow_meridiem, wt) < 0 || read_offset(p, wt) < 0)
		return -1;
	return **p == '\0' ? 0 : -1;
}

static int instant_of_written(const struct written_time *wt, const char *zone, time_t *out)
{
	struct tm tm = { 0 };

	tm.tm_year = wt->year - 1900;
	tm.tm_mon = wt->month - 1;
	tm.tm_mday = wt->day;
	tm.tm_hour = wt->hour;
	tm.tm_min = wt->minute;
	tm.tm_sec = wt->second;
	if (wt->has_offset) {
		*out = timegm(&tm) - wt->offset;
		return TIME_OK;
	}
	return zone_from_local(zone, &tm, out);
}

/* "@1700000000" (or "@-86400"): epoch seconds. */
static int read_epoch_tagged(const char *s, time_t *out)
{
	const char *p = s + 1;
	int negative = *p == '-';
	long long seconds = 0;
	int digits = 0;

	if (negative)
		p++;
	for (; isdigit((unsigned char)*p) && digits < 12; p++, digits++)
		seconds = seconds * 10 + (*p - '0');
	if (digits == 0 || *p != '\0')
		return TIME_EINVAL;
	*out = (time_t)(negative ? -seconds : seconds);
	return TIME_OK;
}

/* "+7d", "-36h": relative to now; d and w keep the wall clock time in zone. */
static int read_relative(const char *s, const char *zone, time_t now, time_t *out)
{
	struct duration d;
	int sign = s[0] == '-' ? -1 : 1;

	if (duration_parse(s + 1, &d) < 0)
		return TIME_EINVAL;
	if (d.unit == 'm' || d.unit == 'h') {
		*out = now + sign * duration_seconds(d);
		return TIME_OK;
	}
	return add_calendar_days(now, sign * d.amount * (d.unit == 'w' ? 7 : 1), zone, out);
}

static int read_day_word(const char *s, const char *zone, time_t now, time_t *out)
{
	static const struct {
		const char *word;
		int days_from_today;
	} days[] = { { "yesterday", -1 }, { "today", 0 }, { "tomorrow", 1 } };

	if (!strcasecmp(s, "now")) {
		*out = now;
		return TIME_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(days); i++)
		if (!strcasecmp(s, days[i].word))
			return day_start(now, days[i].days_from_today, zone, out);
	return TIME_EINVAL;
}

/* *whole_day is set when s names a day and no time of day (2026-03-05, tomorrow). */
static int parse_time(const char *s, const char *zone, time_t now, time_t *out,
		      int *whole_day)
{
	char text[TIME_TEXT_MAX];
	struct written_time wt;
	const char *p = text;

	*whole_day = 0;
	if (copy_trimmed(s, text) < 0)
		return TIME_EINVAL;
	if (text[0] == '@')
		return read_epoch_tagged(text, out);
	if (text[0] == '+' || text[0] == '-')
		return read_relative(text, zone, now, out);
	if (isalpha((unsigned char)text[0])) {
		*whole_day = strcasecmp(text, "now") != 0;
		return read_day_word(text, zone, now, out);
	}
	if (read_date(&p, DATE_ISO_ONLY, DATE_ORDER_YMD, &wt) < 0)
		return TIME_EINVAL;
	*whole_day = *p == '\0';
	if (read_time_of_day(&p, 0, &wt) < 0)
		return TIME_EINVAL;
	return instant_of_written(&wt, zone, out);
}

int time_parse(const char *s, const char *zone, time_t now, time_t *out)
{
	int whole_day;

	return parse_time(s, zone, now, out, &whole_day);
}

int time_parse_until(const char *s, const char *zone, time_t now, time_t *out)
{
	int whole_day, ret = parse_time(s, zone, now, out, &whole_day);

	if (ret < 0 || !whole_day)
		return ret;
	ret = day_start(*out, 1, zone, out);
	*out -= 1;
	return ret;
}

int date_order_parse(const char *s, enum date_order *out)
{
	static const struct {
		const char *name;
		enum date_order order;
	} orders[] = {
		{ "mdy", DATE_ORDER_MDY }, { "dmy", DATE_ORDER_DMY }, { "ymd", DATE_ORDER_YMD },
	};

	for (size_t i = 0; s && i < ARRAY_SIZE(orders); i++) {
		if (!strcasecmp(s, orders[i].name)) {
			*out = orders[i].order;
			return TIME_OK;
		}
	}
	return TIME_EINVAL;
}

/*
 * Epoch values in badge exports: seconds (9-11 digits, 1973 to 5138), optionally with a
 * fraction, or milliseconds (13 digits). Returns 1 when s is one (and sets *out), 0 when
 * s is not all digits, -1 when it is digits of no accepted length.
 */
static int read_epoch_plain(const char *s, time_t *out)
{
	long long whole = 0;
	int digits = 0;
	const char *p = s;

	for (; isdigit((unsigned char)*p); p++, digits++)
		if (digits < 18)
			whole = whole * 10 + (*p - '0');
	if (*p == '.' && digits > 0 && isdigit((unsigned char)p[1])) {
		for (p++; isdigit((unsigned char)*p); p++)
			;
		if (*p != '\0')
			return 0;
		if (digits < 9 || digits > 11)
			return -1;
		*out = (time_t)whole;
		return 1;
	}
	if (*p != '\0' || digits == 0)
		return 0;
	if (digits >= 9 && digits <= 11)
		*out = (time_t)whole;
	else if (digits == 13)
		*out = (time_t)(whole / 1000);
	else
		return -1;
	return 1;
}

static int digits_at(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* ISO 8601's basic format, 20260305T0900Z or 20260305T090000+0100 or 20260305, spelt
 * out in the extended one (2026-03-05T09:00Z) in place, for read_date and
 * read_time_of_day; anything else is left as it is. (Eight digits are no epoch time a
 * badge was scanned at: that would be 1970.) */
static void expand_basic_iso(char text[static TIME_TEXT_MAX])
{
	char out[TIME_TEXT_MAX];
	const char *t = text + 8;
	size_t clock = 0;

	if (!digits_at(text, 8) || (*t && *t != 'T'))
		return;
	if (*t == 'T') {
		clock = digits_at(t + 1, 6) ? 6 : digits_at(t + 1, 4) ? 4 : 0;
		if (!clock || isdigit((unsigned char)t[1 + clock]))
			return;
	}
	snprintf(out, sizeof(out), "%.4s-%.2s-%.2s", text, text + 4, text + 6);
	if (clock)
		snprintf(out + 10, sizeof(out) - 10, "T%.2s:%.2s%s%.2s%s", t + 1, t + 3,
			 clock == 6 ? ":" : "", clock == 6 ? t + 5 : "", t + 1 + clock);
	memcpy(text, out, strlen(out) + 1);
}

/* Excel's first day of its serial dates (for dates after February 1900, where its
 * phantom 29 February no longer counts), in days from 1970-01-01. */
#define EXCEL_DAY_ZERO (-25569L)

/*
 * An Excel serial date, a cell formatted as a number: days since 1899-12-30 with the
 * time of day as a fraction (45720.5 is noon on 4 March 2025), 30000 to 80000 (1982 to
 * 2119), so never an epoch time (9 digits or more). Returns 1 when s is one (and sets
 * *wt to its wall clock time, to the nearest second), else 0.
 */
static int read_excel_serial(const char **pp, struct written_time *wt)
{
	long days = 0, scale = 1, fraction = 0, seconds;
	const char *s = *pp, *p = s;
	time_t t;
	struct tm tm;

	for (; isdigit((unsigned char)*p) && p - s < 6; p++)
		days = days * 10 + (*p - '0');
	if (p - s != 5 || days < 30000 || days > 80000)
		return 0;
	if (*p == '.' && isdigit((unsigned char)p[1]))
		for (p++; isdigit((unsigned char)*p); p++)
			if (scale < 1000000000L) {
				fraction = fraction * 10 + (*p - '0');
				scale *= 10;
			}
	/* A whole day may be followed by a time of day: a date column joined to a time one. */
	if ((*p != '\0' && (fraction || *p != ' ')) || (days == 80000 && fraction))
		return 0;
	seconds = (long)(((long long)fraction * 86400 + scale / 2) / scale);
	t = (time_t)(days + EXCEL_DAY_ZERO) * 86400 + seconds;
	if (!gmtime_r(&t, &tm))
		return 0;
	wt->year = tm.tm_year + 1900, wt->month = tm.tm_mon + 1, wt->day = tm.tm_mday;
	wt->hour = tm.tm_hour, wt->minute = tm.tm_min, wt->second = tm.tm_sec;
	wt->has_offset = 0;
	wt->offset = 0;
	*pp = p;
	return 1;
}

int scanned_at_parse(const char *s, enum date_order order, const char *zone, time_t *out)
{
	char text[TIME_TEXT_MAX];
	struct written_time wt;
	const char *p = text;
	int epoch;

	if (copy_trimmed(s, text) < 0)
		return TIME_EINVAL;
	if (read_excel_serial(&p, &wt)) {
		if (*p && read_time_of_day(&p, 1, &wt) < 0)
			return TIME_EINVAL;
		return instant_of_written(&wt, zone, out);
	}
	expand_basic_iso(text);
	epoch = read_epoch_plain(text, out);
	if (epoch != 0)
		return epoch > 0 ? TIME_OK : TIME_EINVAL;
	if (read_date(&p, DATE_ANY_ORDER, order, &wt) < 0) {
		p = text;
		if (read_named_date(&p, &wt) < 0)
			return TIME_EINVAL;
	}
	if (read_time_of_day(&p, 1, &wt) < 0)
		return TIME_EINVAL;
	return instant_of_written(&wt, zone, out);
}

int date_first_field_over_12(const char *s)
{
	const char *p = s;
	int first, second, year, digits;
	char separator;

	if (!s)
		return 0;
	skip_blanks(&p);
	if (read_number(&p, 1, 2, &first) < 0)
		return 0;
	separator = *p;
	if (!separator || !strchr("/-.", separator))
		return 0;
	p++;
	if (read_number(&p, 1, 2, &second) < 0 || *p != separator)
		return 0;
	p++;
	digits = read_number(&p, 2, 4, &year);
	if (digits != 2 && digits != 4)
		return 0;
	return first > 12;
}

/* ================================================================================
 * Durations
 * ================================================================================ */

static long unit_seconds(char unit)
{
	switch (unit) {
	case 'm': return 60;
	case 'h': return 3600;
	case 'd': return SECONDS_PER_DAY;
	case 'w': return 7 * SECONDS_PER_DAY;
	default: return 0;
	}
}

int duration_parse(const char *s, struct duration *out)
{
	long amount = 0, unit;
	const char *p = s;

	if (!s || !isdigit((unsigned char)*p))
		return TIME_EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (amount > DURATION_MAX_SECONDS)
			return TIME_EINVAL;
		amount = amount * 10 + (*p - '0');
	}
	unit = unit_seconds(*p);
	if (!unit || p[1] != '\0' || amount > DURATION_MAX_SECONDS / unit)
		return TIME_EINVAL;
	out->amount = amount;
	out->unit = *p;
	return TIME_OK;
}

long duration_seconds(struct duration d)
{
	return d.amount * unit_seconds(d.unit);
}

int duration_compare(struct duration a, struct duration b)
{
	long sa = duration_seconds(a), sb = duration_seconds(b);

	return (sa > sb) - (sa < sb);
}

void duration_format(struct duration d, char buf[static DURATION_FORMAT_SIZE])
{
	snprintf(buf, DURATION_FORMAT_SIZE, "%ld%c", d.amount, d.unit);
}

/* ================================================================================
 * Daily windows
 * ================================================================================ */

/* Reads H:MM or HH:MM into minutes after midnight; 24:00 is allowed (as an end). */
static int read_clock_minutes(const char **p, int *minutes)
{
	int hour, minute;

	if (read_number(p, 1, 2, &hour) < 0 || **p != ':')
		return -1;
	(*p)++;
	if (read_number(p, 2, 2, &minute) < 0 || minute > 59 || hour > 24 ||
	    (hour == 24 && minute != 0))
		return -1;
	*minutes = hour * 60 + minute;
	return 0;
}

int window_parse(const char *s, struct window *out)
{
	const char *p = s;
	int start, end;

	if (!s)
		return TIME_EINVAL;
	skip_blanks(&p);
	if (read_clock_minutes(&p, &start) < 0)
		return TIME_EINVAL;
	skip_blanks(&p);
	if (*p++ != '-')
		return TIME_EINVAL;
	skip_blanks(&p);
	if (read_clock_minutes(&p, &end) < 0)
		return TIME_EINVAL;
	skip_blanks(&p);
	if (*p != '\0' || start >= end)
		return TIME_EINVAL;
	out->start_min = start;
	out->end_min = end;
	return TIME_OK;
}

/* Minutes after midnight, held to 00:00-24:00 so that each part prints in two digits. */
static unsigned clamp_minutes(int minutes)
{
	return minutes < 0 ? 0 : minutes > 24 * 60 ? 24 * 60 : (unsigned)minutes;
}

void window_format(const struct window *w, char buf[static WINDOW_FORMAT_SIZE])
{
	unsigned start = clamp_minutes(w->start_min), end = clamp_minutes(w->end_min);

	snprintf(buf, WINDOW_FORMAT_SIZE, "%02u:%02u-%02u:%02u", start / 60, start % 60,
		 end / 60, end % 60);
}

int window_is_any(const struct window *w)
{
	return w->start_min <= 0 && w->end_min >= 24 * 60;
}

/* ================================================================================
 * The cadence clock
 * ================================================================================ */

static int is_weekend(int wday)
{
	return wday == 0 || wday == 6;
}

/* Calendar days from a day of the week to the day business_days working days later. */
static long calendar_days_for_business_days(int wday, long business_days)
{
	long days = 0;

	if (business_days == 0)
		return 0;
	/* from a weekend, counting starts as if from Friday: Sat + 1 = Fri + 1 = Mon */
	if (is_weekend(wday)) {
		days -= wday == 6 ? 1 : 2;
		wday = 5;
	}
	/* from a weekday, every 5 working days are exactly one calendar week */
	days += business_days / 5 * 7;
	for (long left = business_days % 5; left > 0; ) {
		days++;
		wday = (wday + 1) % 7;
		if (!is_weekend(wday))
			left--;
	}
	return days;
}

time_t cadence_offset(time_t anchor, struct duration after, int business_days,
		      const char *zone)
{
	struct tm local;
	time_t base = anchor;
	long days;

	if (after.unit == 'm' || after.unit == 'h')
		return anchor + duration_seconds(after);
	use_zone_or_utc(zone);
	if (zone_to_local(applied_zone, anchor, &local) < 0)
		return anchor;
	days = after.unit == 'w' ? after.amount * (business_days ? 5 : 7) : after.amount;
	if (business_days)
		days = calendar_days_for_business_days(local.tm_wday, days);
	local.tm_mday += (int)days;
	zone_from_local(applied_zone, &local, &base);
	return base;
}

/* Days from a day of the week to the next day a touch may land on (0 = that day). */
static int days_to_open_day(int wday, int from_next_day, int business_days)
{
	int days = from_next_day ? 1 : 0;

	while (business_days && is_weekend((wday + days) % 7))
		days++;
	return days;
}

time_t cadence_place(time_t t, const struct window *w, int business_days, const char *zone)
{
	static const struct window any = WINDOW_ANY_INIT;
	struct tm local;
	time_t placed = t;
	long second_of_day, start, end;
	int days, open_today;

	if (!w)
		w = &any;
	use_zone_or_utc(zone);
	if (zone_to_local(applied_zone, t, &local) < 0)
		return t;
	second_of_day = local.tm_hour * 3600L + local.tm_min * 60L + local.tm_sec;
	start = w->start_min * 60L;
	end = w->end_min * 60L;
	open_today = !(business_days && is_weekend(local.tm_wday));

	if (open_today && second_of_day >= start && second_of_day < end)
		return t;
	days = days_to_open_day(local.tm_wday, !open_today || second_of_day >= end,
				business_days);
	local.tm_mday += days;
	local.tm_hour = w->start_min / 60;
	local.tm_min = w->start_min % 60;
	local.tm_sec = 0;
	zone_from_local(applied_zone, &local, &placed);
	/* a fall-back day can show the start twice; t may already be past the first */
	if (days == 0 && placed < t)
		placed = t + (start - second_of_day);
	return placed;
}

/* ================================================================================
 * Formatting
 * ================================================================================ */

static void put_digits(char *p, int value, int width)
{
	while (width--) {
		p[width] = (char)('0' + value % 10);
		value /= 10;
	}
}

/* By hand rather than strftime: due --json formats one for every touch listed. */
void time_format_utc(time_t t, char buf[static TIME_UTC_SIZE])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) {
		buf[0] = '\0';
		return;
	}
	memcpy(buf, "0000-00-00T00:00:00Z", TIME_UTC_SIZE);
	put_digits(buf, tm.tm_year + 1900, 4);
	put_digits(buf + 5, tm.tm_mon + 1, 2);
	put_digits(buf + 8, tm.tm_mday, 2);
	put_digits(buf + 11, tm.tm_hour, 2);
	put_digits(buf + 14, tm.tm_min, 2);
	put_digits(buf + 17, tm.tm_sec, 2);
}

/* The wall clock of t in zone, or of t in UTC when zone is unknown. */
static void wall_clock_or_utc(time_t t, const char *zone, struct tm *out)
{
	use_zone_or_utc(zone);
	if (zone_to_local(applied_zone, t, out) < 0)
		memset(out, 0, sizeof(*out));
}

void time_format_local(time_t t, const char *zone, char *buf, size_t size)
{
	struct tm tm;

	if (!size)
		return;
	wall_clock_or_utc(t, zone, &tm);
	snprintf(buf, size, "%04d-%02d-%02d %02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min);
}

void time_format_day(time_t t, const char *zone, char *buf, size_t size)
{
	static const char *const day_names[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	struct tm tm;

	if (!size)
		return;
	wall_clock_or_utc(t, zone, &tm);
	snprintf(buf, size, "%s %04d-%02d-%02d", day_names[tm.tm_wday % 7], tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday);
}
