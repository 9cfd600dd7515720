/*
 * fields.h - from a badge file's columns to a lead's fields (SPEC section 5): header
 * aliases, --map overrides, extra columns as JSON, and the per-field rules (email
 * plausibility, name splitting, yes/no flags).
 *
 * Headers are compared normalised: BOM and U+FEFF stripped, trimmed, lowercased (ASCII
 * and Latin-1 letters), without spaces _ - . / * ? : and with "#" read as "number", so
 * "E-mail Address", "email_address" and "EmailAddress" meet as "emailaddress". An
 * opt-out, consent or scan time header may end in a bracketed hint, which is then not
 * compared: "Email Opt-Out (Y/N)", "Opt-in (GDPR)", "Scan Time (UTC)".
 */
#ifndef FOLLOWUP_FIELDS_H
#define FOLLOWUP_FIELDS_H

#include <stddef.h>

#include "followup/csv.h"

enum lead_field {
	FIELD_EMAIL, FIELD_FIRST_NAME, FIELD_LAST_NAME, FIELD_NAME, FIELD_COMPANY, FIELD_TITLE,
	FIELD_PHONE, FIELD_COUNTRY, FIELD_TIMEZONE, FIELD_SCANNED_AT, FIELD_NOTES, FIELD_RATING,
	FIELD_OWNER, FIELD_EVENT, FIELD_BADGE_ID,
	FIELD_OPT_OUT,          /* the person opted out: yes/1/true means do not email */
	FIELD_CONSENT,          /* the person consented: no/0/false means not */
	FIELD_STATUS,           /* a lead status, as `followup export` writes it */
	FIELD_COUNT,
	FIELD_EXTRA = FIELD_COUNT,  /* an unmapped column, kept per lead as JSON */
	FIELD_IGNORE,           /* a column dropped (--map 'Header=ignore', export's derived) */
};

/* The field's name as --map and templates spell it ("email", "first_name", ...). */
const char *field_name(enum lead_field f);
/* The field named (email first_name ... badge_id opt_out consent status extra ignore, any case;
 * "full_name" is name), or -1. */
int field_from_name(const char *name);

struct header_map;

/*
 * Maps the header record's columns to fields, then applies overrides[0..noverrides),
 * each "Header=field" (the header compared normalised). Rules: the aliases (see
 * fields.c); "Title" is the job title only when there is no "Job Title" column (else it
 * is a salutation, kept as extra); Status, Sequence, Step, Last Touch and Next Due are
followup export's columns only in a file that has both Last Touch and Next Due (else
extra); when two columns map to one field the first wins and
 * the later become extra, except a date column and a time-of-day column for scanned_at
 * ("Scanned Date" + "Scan Time"), which join (header_map_scanned_at). A column named by
 * an override wins over columns that only an alias mapped to the same field.
 * Returns 0 with *out set (free with header_map_free), or -1 with *errmsg allocated:
 * no email column (the message lists the headers seen), an override without '=', naming
 * an unknown field or a header not in the file.
 */
int header_map_build(struct header_map **out, const struct csv_record *header,
		     const char *const *overrides, size_t noverrides, char **errmsg);
/* NULL is a no-op. */
void header_map_free(struct header_map *map);

/* The column (0-based) that holds field f, or -1. */
int header_map_column(const struct header_map *map, enum lead_field f);
/* The header (as written, trimmed) of the column that holds field f, or NULL. */
const char *header_map_header(const struct header_map *map, enum lead_field f);
/* The time-of-day column joined to the scanned_at date column, or -1. */
int header_map_time_column(const struct header_map *map);
/* When no column is scanned_at: the header (as written) of the first extra column that
 * reads like a scan time ("Created Date", "Date", "Scanned", "Scan Timestamp",
 * "Captured"), for a hint that --map can name it; else NULL. Points into map. */
const char *header_map_scan_time_hint(const struct header_map *map);
/* "UTC" when the scan time's header says its times are ("Scan Time (UTC)"), else NULL:
 * a time there without a zone is UTC, not the event's clock. */
const char *header_map_scan_zone(const struct header_map *map);
/* The header (as written) of the n-th (0-based) extra column that reads like an opt-out
 * or a consent ("Unsubscribe Reason", "Consent Date", "SMS Opt-Out"): no alias claims it,
 * so it is not read, and the import says so. NULL past the last. Points into map. */
const char *header_map_permission_hint(const struct header_map *map, size_t n);

/*
 * The value of field f in rec: trimmed, with a spreadsheet's ' guard removed
 * (field_unneutralise) and Excel's ="..." unwrapped; "" when the column is absent or
 * empty or holds Eventbrite's "Info Requested" placeholder, never NULL. Edits rec's
 * field in place and points into it (valid until the next csv_read into rec).
 */
const char *header_map_value(const struct header_map *map, struct csv_record *rec,
			     enum lead_field f);
/* The value of the n-th column of field f (0: the one that holds it, then the later ones
 * kept as extra), NULL past the last. Opt-out and consent are read from all of them:
 * any one saying no counts. */
const char *header_map_nth_value(const struct header_map *map, struct csv_record *rec,
				 enum lead_field f, size_t n);
/* The first non-empty value of the email columns after the one that holds FIELD_EMAIL
 * ("Work Email" then "Email": the second is extra, and stands in when the first is
 * empty); "" when none has one. */
const char *header_map_other_email(const struct header_map *map, struct csv_record *rec);
/* The purchaser's value of f (email, first_name or last_name) from Eventbrite's "Buyer
 * Email", "Buyer First Name" and "Buyer Last Name" columns, read like header_map_value;
 * "" when there is none. Those columns stay extra: they stand in for the person's own
 * only in a row that has no email of its own (see cmd_import.c). */
const char *header_map_buyer_value(const struct header_map *map, struct csv_record *rec,
				   enum lead_field f);
/* The scan time, "DATE TIME" when it comes from a date and a time column; NULL when
 * empty. Caller frees. */
char *header_map_scanned_at(const struct header_map *map, struct csv_record *rec);
/* The extra columns' non-empty values (trimmed) as a JSON object; NULL when there is
 * none. Caller frees. Each extra column has its own key, so that no value is lost: its
 * header as written (trimmed, without export's ' guard), "Column N" (N its 1-based
 * position) when it has none, and "Header (2)", "Header (3)"... for a header an earlier
 * extra column has. A second column of a field (a second "Notes", a second "Email") is
 * extra, under its header. */
char *header_map_extra_json(const struct header_map *map, struct csv_record *rec);

/*
 * Undoes csv_write_field()'s formula guard, in place: a value that starts with ' followed
 * (after any further ') by = + - @ tab or CR loses its first '. "'=SUM(A1)" becomes
 * "=SUM(A1)", "''=x" becomes "'=x", "'Brien" is left alone. Excel users type the same '
 * to keep "+46 ..." as text, and it goes the same way.
 */
void field_unneutralise(char *value);

/*
 * Reduces, in place, what spreadsheets and mail clients make of an address cell (a
 * trimmed value) to the address, and returns cell: a pasted "mailto:" link, "Jane Doe
 * <jane@x.example>" copied from a mail client, and the separator or full stop after an
 * address copied from a list or a sentence ("jane@x.example;", "jane@x.example."). A
 * cell of two addresses is left whole, for email_plausible to refuse, rather than one
 * of them guessed.
 */
char *email_from_cell(char *cell);

/*
 * 1 when email (surrounding spaces ignored) looks deliverable: local@domain.tld with
 * exactly one @, a non-empty local part, no spaces, commas or control characters, a
 * domain with a dot, no empty label and a top-level domain of at least two letters.
 * Else 0 with *reason a static phrase ("missing @", "no dot in the domain",
 * "contains a space", ...). Placeholders such as "Info Requested" fail these rules. A
 * cell of several addresses ("a@x.example; b@y.example") is said to be one.
 */
int email_plausible(const char *email, const char **reason);

/*
 * Splits a full name into *first and *last (allocated, caller frees; either may be NULL
 * when there is nothing for it). The rule, simple on purpose: "Last, First" when there is
 * a comma (unless what follows is a suffix such as Jr or PhD, which stays with the last
 * name); a leading title (Mr, Ms, Dr, Prof...) is dropped when two words follow it; then
 * the first word is the first name and the rest the last name:
 * "Dana Whitfield" -> Dana / Whitfield; "Whitfield, Dana" -> Dana / Whitfield;
 * "Mary Ann van der Berg" -> Mary / Ann van der Berg; "Cher" -> Cher / NULL.
 */
void name_split(const char *full, char **first, char **last);

/* Trimmed, any (ASCII) case: yes y 1 true t x on checked ✓ ✔ ja oui si sí / no n 0 false
 * f off unchecked none n/a nein non nee nej. Empty, NULL or anything else is neither. */
int flag_yes(const char *value);
int flag_no(const char *value);

/* What an opt-out cell (Email Opt Out, Do Not Email) says: 1 opted out (yes, "Opted
 * Out", "Unsubscribed"...), 0 not (no, "Opted In", empty), -1 unclear. */
int opt_out_value(const char *value);
/* What a consent cell (Opt-in, Consent) says: 1 given (yes, "Granted", empty: no
 * answer is not a refusal), 0 refused (no, "Declined", "Opted Out"...), -1 unclear. */
int consent_value(const char *value);

#endif
