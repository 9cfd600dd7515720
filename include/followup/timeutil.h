/*
 * timeutil.h - reading and writing times, time zones, durations, daily windows and the
 * clock of the cadence (SPEC sections 3, 5, 6 and 7).
 *
 * Every instant is a time_t in UTC seconds. A zone is an IANA name ("America/New_York",
 * "Asia/Tokyo", "UTC"); NULL or "" means the process's local zone (the TZ environment
 * variable as it was when timeutil first switched away from it, else /etc/localtime).
 *
 * Zones are applied through the C library: timeutil sets TZ and calls tzset(), and leaves
 * the last zone in place so that a run of calls in one zone costs nothing extra. Code
 * outside this module that calls localtime_r() itself should first call
 * zone_restore_local(). Not thread-safe (neither is TZ).
 *
 * Local times that do not exist or exist twice are settled one way everywhere: a wall
 * clock time in a spring-forward gap moves forward to the first valid instant (the moment
 * of the change); an ambiguous fall-back time is the first (earlier) of the two.
 *
 * Errors: functions that can fail return 0 on success or a negative enum time_error code.
 * They print nothing; the caller words the message ("invalid time 'X'").
 */
#ifndef FOLLOWUP_TIMEUTIL_H
#define FOLLOWUP_TIMEUTIL_H

#include <stddef.h>
#include <time.h>

enum time_error {
	TIME_OK = 0,
	TIME_EINVAL = -1,      /* the text is not a valid time, date, duration or window */
	TIME_EZONE = -2,       /* the zone is not a known IANA zone */
};

/* --- zones ------------------------------------------------------------------- */

/*
 * Returns 1 when zone names a time zone file under $TZDIR (else /usr/share/zoneinfo)
 * and 0 otherwise. "UTC" is always valid. NULL, "", absolute paths, names with "." or
 * ".." components or characters outside [A-Za-z0-9/_+-] are rejected without touching
 * the file system.
 */
int zone_valid(const char *zone);

/* The zone's name as the zone files spell it, for a name that differs only in case
 * ("america/los_angeles" -> "America/Los_Angeles", "utc" -> "UTC"); a copy of zone when
 * it is valid already; NULL when no zone has that name. Caller frees. */
char *zone_canonical(const char *zone);

/* "unknown time zone 'X'", with "(did you mean 'Y'?)" when only the case is off. Caller
 * frees. */
char *zone_unknown_message(const char *zone);

/*
 * Breaks the instant t into local wall clock fields in zone (NULL/"": local), like
 * localtime_r(); out->tm_gmtoff is the UTC offset in effect.
 * Returns 0, or TIME_EZONE for an unknown zone.
 */
int zone_to_local(const char *zone, time_t t, struct tm *out);

/*
 * The instant at which the wall clock in zone (NULL/"": local) shows local's
 * year/month/day/hour/minute/second. The fields may be out of range (tm_mday = 32 is
 * the 1st of the next month), which is how callers add days; tm_isdst, tm_wday and
 * tm_yday are ignored. Gap times move forward and ambiguous times take the earlier
 * instant (see above). Returns 0, or TIME_EZONE for an unknown zone.
 */
int zone_from_local(const char *zone, const struct tm *local, time_t *out);

/* Puts the process's original TZ back (and calls tzset) if timeutil changed it. */
void zone_restore_local(void);

/* --- parsing ------------------------------------------------------------------ */

/*
 * Parses a TIME of SPEC section 3 (--now, --from, --until) into *out:
 *   2026-03-05T09:00:00Z, 2026-03-05T09:00:00+01:00 (also +0100 and +01; fractional
 *     seconds are ignored): an absolute instant;
 *   2026-03-05 09:00[:SS], 2026-03-05T09:00[:SS]: wall clock time in zone;
 *   2026-03-05: local midnight in zone;
 *   @1700000000: epoch seconds;
 *   +7d, +36h, +90m, +2w (and -7d ...): relative to now; d and w are calendar days at
 *     the same local clock time in zone, h and m are elapsed time;
 *   now, today, tomorrow, yesterday: now, or local midnight of that day in zone.
 * Leading and trailing blanks are ignored. zone NULL/"" means local.
 * Returns 0, TIME_EINVAL (caller prints "invalid time 'X'") or TIME_EZONE.
 */
int time_parse(const char *s, const char *zone, time_t now, time_t *out);
/* The same for a bound that includes its day: a day without a time of day (2026-03-05,
 * today, tomorrow) means the last second of that day in zone, not its midnight. */
int time_parse_until(const char *s, const char *zone, time_t now, time_t *out);

/* How a badge-scan date with the year last is read: 3/4/2025 is March 4 (MDY) or
 * 3 April (DMY). AUTO reads slashes as MDY (the US default). Dotted dates are always
 * D.M.Y and year-first dates always Y-M-D, whatever the order. */
enum date_order { DATE_ORDER_AUTO, DATE_ORDER_MDY, DATE_ORDER_DMY, DATE_ORDER_YMD };

/* Reads "mdy", "dmy" or "ymd" (--date-format) into *out. Returns 0 or TIME_EINVAL. */
int date_order_parse(const char *s, enum date_order *out);

/*
 * Parses a badge-scan date of SPEC section 5 into *out:
 *   ISO 8601 with or without a zone or 'T' (2025-03-04T14:15:09.5Z,
 *     2025-03-04 14:15:09 +01:00, 2025-03-04 14:15, 2025-03-04);
 *   year first with slashes or dots (2025/03/04 14:15);
 *   year last with slashes or dashes read by order (03/04/2025 2:15 PM, 3/4/2025 14:15;
 *     under DATE_ORDER_YMD such a date is refused), with dots always D.M.Y
 *     (04.03.2025 14:15); two-digit years are refused;
 *   the month's English name, whole or of three letters, after an optional weekday
 *     (March 5, 2026 2:15 PM; Mar 5 2026 14:15; 5 March 2026; 05-Mar-2026, or 05-Mar-26);
 *   a time is H:MM or H:MM:SS, optionally with AM/PM or a.m./p.m. (hour 1-12; then the
 *     hour may stand alone: 2PM) and a zone (Z, UTC, GMT, +01:00, +0100);
 *   epoch seconds (9 to 11 digits, optionally with a fraction) or milliseconds (13 digits);
 *   an Excel serial date, 30000 to 80000 days since 1899-12-30 with the time of day as
 *     a fraction (45720.5 is noon on 4 March 2025), wall clock time like the rest.
 * A value without a zone is wall clock time in zone (NULL/"": local); a date alone is
 * local midnight. Leading and trailing blanks are ignored.
 * Returns 0, TIME_EINVAL or TIME_EZONE.
 */
int scanned_at_parse(const char *s, enum date_order order, const char *zone, time_t *out);

/*
 * Returns 1 when s starts with a date whose year is last (slashes, dashes or dots) and
 * whose first number is greater than 12, so it can only be D/M/Y; 0 otherwise. Import
 * reads a whole file as DMY when some row says 1 (SPEC section 5).
 */
int date_first_field_over_12(const char *s);

/* --- durations ---------------------------------------------------------------- */

/* An offset of a sequence step: amount >= 0 of unit 'm', 'h', 'd' or 'w'. */
struct duration {
	long amount;
	char unit;
};

/* Enough for any duration_format() result, NUL included. */
#define DURATION_FORMAT_SIZE 24

/*
 * Parses "90m", "24h", "3d", "2w", "0d" into *out: decimal digits then one unit letter,
 * nothing else. Refuses signs, blanks, missing or unknown units ("3", "3x", "3 days"),
 * "" and amounts whose length in seconds would not fit a long.
 * Returns 0 or TIME_EINVAL.
 */
int duration_parse(const char *s, struct duration *out);

/* The nominal length in seconds: m = 60, h = 3600, d = 86400, w = 7 days. */
long duration_seconds(struct duration d);

/* Compares by calendar length (1d == 24h, 1w == 7d): <0, 0 or >0 like strcmp. */
int duration_compare(struct duration a, struct duration b);

/* Writes d back in its own unit ("3d") into buf. */
void duration_format(struct duration d, char buf[static DURATION_FORMAT_SIZE]);

/* --- daily windows ------------------------------------------------------------ */

/* A daily window of local wall clock time, [start_min, end_min) in minutes after
 * midnight, 0 <= start_min < end_min <= 1440. WINDOW_ANY (00:00-24:00) is any time. */
struct window {
	int start_min, end_min;
};

#define WINDOW_ANY_INIT { 0, 24 * 60 }
#define WINDOW_FORMAT_SIZE 12

/*
 * Parses "09:00-17:00" (hours may have one digit, minutes two; blanks around '-' are
 * allowed) into *out. Refuses "9-5", hours past 24, minutes past 59, 24:00 as a start,
 * anything past 24:00 as an end and start >= end (no overnight windows).
 * Returns 0 or TIME_EINVAL.
 */
int window_parse(const char *s, struct window *out);

/* Writes w as "09:00-17:00" into buf. */
void window_format(const struct window *w, char buf[static WINDOW_FORMAT_SIZE]);

/* 1 when w is the whole day (00:00-24:00). */
int window_is_any(const struct window *w);

/* --- the cadence clock (SPEC section 7) ---------------------------------------- */

/*
 * The base time of a step: anchor + after.
 *  - m and h are elapsed time, whatever the zone;
 *  - d and w without business_days are calendar days (w = 7) at the same wall clock
 *    time in zone, so 09:00 stays 09:00 across a DST change;
 *  - with business_days, d counts Monday-Friday days and w is 5 of them, again at the
 *    same wall clock time: Fri + 1d = Mon, Sat + 1d = Mon, Wed + 3d = Mon,
 *    Fri + 1w = next Fri. Zero days leave the anchor where it is.
 * zone must have passed zone_valid(); an unknown zone is read as UTC.
 */
time_t cadence_offset(time_t anchor, struct duration after, int business_days,
		      const char *zone);

/*
 * Moves t forward to the next instant inside the daily window w, read on the wall
 * clock of zone: t itself when inside; before the start, that day's start; at or after
 * the end, the next day's start. With business_days, Saturdays and Sundays are never
 * inside (Saturday -> Monday's start). A NULL w is WINDOW_ANY. The result is >= t.
 * zone must have passed zone_valid(); an unknown zone is read as UTC.
 */
time_t cadence_place(time_t t, const struct window *w, int business_days, const char *zone);

/* --- formatting --------------------------------------------------------------- */

/* Enough for time_format_utc() output ("2026-03-05T09:00:00Z"), NUL included. */
#define TIME_UTC_SIZE 21

/* Writes t as ISO 8601 UTC with a Z: "2026-03-05T09:00:00Z" (as in JSON output). */
void time_format_utc(time_t t, char buf[static TIME_UTC_SIZE]);

/* Writes t as wall clock time in zone: "2026-03-05 09:00". Truncates to size; an
 * unknown zone is read as UTC. */
void time_format_local(time_t t, const char *zone, char *buf, size_t size);

/* Writes the local day of t in zone: "Thu 2026-03-05" (English day names, whatever the
 * locale). Truncates to size; an unknown zone is read as UTC. */
void time_format_day(time_t t, const char *zone, char *buf, size_t size);

/* The start of t's local day in zone (used for "overdue = due before today"). An
 * unknown zone is read as UTC. */
time_t local_midnight(time_t t, const char *zone);

#endif
