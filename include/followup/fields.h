/*
 * fields.h - from a badge file's columns to a lead's fields (SPEC section 5): header
 * aliases, --map overrides, extra columns as JSON, and the per-field rules (email
 * plausibility, name splitting, yes/no flags).
 */
#ifndef FOLLOWUP_FIELDS_H
#define FOLLOWUP_FIELDS_H

#include <stddef.h>

#include "followup/csv.h"

enum lead_field {
	FIELD_EMAIL, FIELD_FIRST_NAME, FIELD_LAST_NAME, FIELD_NAME, FIELD_COMPANY, FIELD_TITLE,
	FIELD_PHONE, FIELD_COUNTRY, FIELD_TIMEZONE, FIELD_SCANNED_AT, FIELD_NOTES, FIELD_RATING,
	FIELD_OWNER, FIELD_EVENT, FIELD_BADGE_ID,
	FIELD_OPT_OUT,          /* the person opted out: yes/1/true */
	FIELD_CONSENT,          /* the person consented: no/0/false means not */
	FIELD_COUNT,
	FIELD_EXTRA = FIELD_COUNT,  /* kept per lead as JSON */
	FIELD_IGNORE,
};

/* The field's name as --map and templates spell it. */
const char *field_name(enum lead_field f);
/* The field named (email, first_name, ..., extra, ignore), or -1. */
int field_from_name(const char *name);

struct header_map;

/* Maps the header record's columns to fields, with overrides "Header=field". Returns 0, or
 * -1 with *errmsg allocated: no email column (listing the headers seen), or a bad --map. */
int header_map_build(struct header_map **out, const struct csv_record *header,
		     const char *const *overrides, size_t noverrides, char **errmsg);
void header_map_free(struct header_map *map);

/* The trimmed value of a field in rec ("" when the column is absent or empty). Trims
 * rec's field in place. */
const char *header_map_value(const struct header_map *map, struct csv_record *rec,
			     enum lead_field f);
/* The scan time, joining a separate date and time column; NULL when empty. Caller frees. */
char *header_map_scanned_at(const struct header_map *map, struct csv_record *rec);
/* The unmapped columns' non-empty values as a JSON object, keyed by header; NULL when
 * none. Caller frees. */
char *header_map_extra_json(const struct header_map *map, struct csv_record *rec);

/* 1 when email looks deliverable (local@domain.tld, one @, no spaces); else 0 with
 * *reason set to a static explanation. */
int email_plausible(const char *email, const char **reason);
/* Splits a full name into first and last (allocated; either may be NULL):
 * "Dana Whitfield" -> Dana / Whitfield; "Whitfield, Dana" -> Dana / Whitfield;
 * "Mary Ann van der Berg" -> Mary / Ann van der Berg (first word, then the rest). */
void name_split(const char *full, char **first, char **last);
/* yes/y/1/true/x/ja/oui/si, and no/n/0/false/nein/non; empty or other is neither. */
int flag_yes(const char *value);
int flag_no(const char *value);

#endif
