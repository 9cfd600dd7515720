/*
 * fields.c - see fields.h.
 */
#include "followup/fields.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const field_names[] = {
	[FIELD_EMAIL] = "email", [FIELD_FIRST_NAME] = "first_name",
	[FIELD_LAST_NAME] = "last_name", [FIELD_NAME] = "name", [FIELD_COMPANY] = "company",
	[FIELD_TITLE] = "title", [FIELD_PHONE] = "phone", [FIELD_COUNTRY] = "country",
	[FIELD_TIMEZONE] = "timezone", [FIELD_SCANNED_AT] = "scanned_at",
	[FIELD_NOTES] = "notes", [FIELD_RATING] = "rating", [FIELD_OWNER] = "owner",
	[FIELD_EVENT] = "event", [FIELD_BADGE_ID] = "badge_id", [FIELD_OPT_OUT] = "opt_out",
	[FIELD_CONSENT] = "consent", [FIELD_EXTRA] = "extra", [FIELD_IGNORE] = "ignore",
};

/* Header spellings seen in real exports, normalised (see normalise_header). "Buyer ..."
 * columns are the purchaser, device names are scanners, not reps: both stay extra. */
static const struct alias { const char *header; enum lead_field field; } aliases[] = {
	{ "email", FIELD_EMAIL }, { "emailaddress", FIELD_EMAIL }, { "workemail", FIELD_EMAIL },
	{ "businessemail", FIELD_EMAIL }, { "attendeeemail", FIELD_EMAIL },
	{ "contactemail", FIELD_EMAIL }, { "emailadresse", FIELD_EMAIL },
	{ "courriel", FIELD_EMAIL }, { "mail", FIELD_EMAIL },
	{ "firstname", FIELD_FIRST_NAME }, { "fname", FIELD_FIRST_NAME },
	{ "givenname", FIELD_FIRST_NAME }, { "forename", FIELD_FIRST_NAME },
	{ "attendeefirstname", FIELD_FIRST_NAME }, { "vorname", FIELD_FIRST_NAME },
	{ "prénom", FIELD_FIRST_NAME }, { "prenom", FIELD_FIRST_NAME }, { "nombre", FIELD_FIRST_NAME },
	{ "lastname", FIELD_LAST_NAME }, { "lname", FIELD_LAST_NAME }, { "surname", FIELD_LAST_NAME },
	{ "familyname", FIELD_LAST_NAME }, { "attendeelastname", FIELD_LAST_NAME },
	{ "attendeesurname", FIELD_LAST_NAME }, { "nachname", FIELD_LAST_NAME },
	{ "nom", FIELD_LAST_NAME }, { "apellidos", FIELD_LAST_NAME },
	{ "fullname", FIELD_NAME }, { "name", FIELD_NAME }, { "attendeename", FIELD_NAME },
	{ "contactname", FIELD_NAME }, { "customername", FIELD_NAME },
	{ "company", FIELD_COMPANY }, { "companyname", FIELD_COMPANY },
	{ "organization", FIELD_COMPANY }, { "organisation", FIELD_COMPANY },
	{ "account", FIELD_COMPANY }, { "accountname", FIELD_COMPANY },
	{ "employer", FIELD_COMPANY }, { "employeecompany", FIELD_COMPANY },
	{ "badgeorganization", FIELD_COMPANY }, { "firma", FIELD_COMPANY },
	{ "unternehmen", FIELD_COMPANY }, { "société", FIELD_COMPANY }, { "societe", FIELD_COMPANY },
	{ "jobtitle", FIELD_TITLE }, { "title", FIELD_TITLE }, { "position", FIELD_TITLE },
	{ "designation", FIELD_TITLE }, { "role", FIELD_TITLE }, { "jobtitel", FIELD_TITLE },
	{ "funktion", FIELD_TITLE }, { "poste", FIELD_TITLE },
	{ "phone", FIELD_PHONE }, { "phonenumber", FIELD_PHONE }, { "workphone", FIELD_PHONE },
	{ "businessphone", FIELD_PHONE }, { "mobile", FIELD_PHONE }, { "mobilephone", FIELD_PHONE },
	{ "cellphone", FIELD_PHONE }, { "telephone", FIELD_PHONE }, { "tel", FIELD_PHONE },
	{ "telefon", FIELD_PHONE },
	{ "country", FIELD_COUNTRY }, { "countryregion", FIELD_COUNTRY },
	{ "workcountry", FIELD_COUNTRY }, { "homecountry", FIELD_COUNTRY }, { "land", FIELD_COUNTRY },
	{ "pays", FIELD_COUNTRY },
	{ "timezone", FIELD_TIMEZONE }, { "tz", FIELD_TIMEZONE },
	{ "scannedat", FIELD_SCANNED_AT }, { "scantime", FIELD_SCANNED_AT },
	{ "scandate", FIELD_SCANNED_AT }, { "scanneddate", FIELD_SCANNED_AT },
	{ "datescanned", FIELD_SCANNED_AT }, { "datecaptured", FIELD_SCANNED_AT },
	{ "capturedate", FIELD_SCANNED_AT }, { "capturedat", FIELD_SCANNED_AT },
	{ "leaddate", FIELD_SCANNED_AT }, { "created", FIELD_SCANNED_AT },
	{ "createdat", FIELD_SCANNED_AT }, { "createdtime", FIELD_SCANNED_AT },
	{ "timestamp", FIELD_SCANNED_AT }, { "datetime", FIELD_SCANNED_AT },
	{ "firstupload", FIELD_SCANNED_AT },
	{ "notes", FIELD_NOTES }, { "note", FIELD_NOTES }, { "comments", FIELD_NOTES },
	{ "comment", FIELD_NOTES }, { "leadnotes", FIELD_NOTES }, { "scannotes", FIELD_NOTES },
	{ "remarks", FIELD_NOTES }, { "notizen", FIELD_NOTES }, { "bemerkung", FIELD_NOTES },
	{ "rating", FIELD_RATING }, { "leadrating", FIELD_RATING }, { "leadscore", FIELD_RATING },
	{ "temperature", FIELD_RATING }, { "qualification", FIELD_RATING },
	{ "stars", FIELD_RATING }, { "priority", FIELD_RATING },
	{ "scannedby", FIELD_OWNER }, { "capturedby", FIELD_OWNER }, { "owner", FIELD_OWNER },
	{ "rep", FIELD_OWNER }, { "boothstaff", FIELD_OWNER }, { "staff", FIELD_OWNER },
	{ "salesrep", FIELD_OWNER }, { "salesperson", FIELD_OWNER }, { "leadowner", FIELD_OWNER },
	{ "recordowner", FIELD_OWNER },
	{ "event", FIELD_EVENT }, { "eventname", FIELD_EVENT }, { "show", FIELD_EVENT },
	{ "badgeid", FIELD_BADGE_ID }, { "badgenumber", FIELD_BADGE_ID },
	{ "barcode", FIELD_BADGE_ID }, { "barcodenumber", FIELD_BADGE_ID },
	{ "registrationid", FIELD_BADGE_ID }, { "registrationnumber", FIELD_BADGE_ID },
	{ "regid", FIELD_BADGE_ID }, { "attendeeid", FIELD_BADGE_ID },
	{ "attendeenumber", FIELD_BADGE_ID }, { "leadcode", FIELD_BADGE_ID },
	{ "referenceid", FIELD_BADGE_ID }, { "confirmationnumber", FIELD_BADGE_ID },
	{ "qrcode", FIELD_BADGE_ID },
	{ "emailoptout", FIELD_OPT_OUT }, { "optout", FIELD_OPT_OUT },
	{ "unsubscribed", FIELD_OPT_OUT }, { "donotemail", FIELD_OPT_OUT },
	{ "optin", FIELD_CONSENT }, { "consent", FIELD_CONSENT },
	{ "marketingconsent", FIELD_CONSENT }, { "gdprconsent", FIELD_CONSENT },
	{ "emailoptin", FIELD_CONSENT }, { "contactoptin", FIELD_CONSENT },
};

struct column {
	char *header;           /* as in the file, trimmed */
	enum lead_field field;
};

struct header_map {
	struct column *columns;
	size_t ncolumns;
	int index[FIELD_COUNT]; /* the column of each field, -1 when absent */
	int time_column;        /* a separate scan time column, joined to the date; -1 none */
};

const char *field_name(enum lead_field f)
{
	return (size_t)f < ARRAY_SIZE(field_names) ? field_names[f] : "?";
}

int field_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(field_names); i++)
		if (!strcasecmp(field_names[i], name))
			return (int)i;
	if (!strcasecmp(name, "full_name"))
		return FIELD_NAME;
	return -1;
}

/* Lowercase, without BOM, spaces, _ - . / and with # as "number": "E-mail Address " and
 * "email_address" meet as "emailaddress". */
static char *normalise_header(const char *h)
{
	struct strbuf sb = STRBUF_INIT;

	if (!strncmp(h, "\xEF\xBB\xBF", 3))
		h += 3;
	for (; *h; h++) {
		unsigned char c = (unsigned char)*h;
		if (c == ' ' || c == '_' || c == '-' || c == '.' || c == '/' || c == '\t' ||
		    c == '*' || c == '?' || c == ':')
			continue;
		if (c == '#')
			strbuf_addstr(&sb, "number");
		else
			strbuf_addch(&sb, tolower(c));
	}
	return strbuf_detach(&sb);
}

static enum lead_field alias_field(const char *normalised)
{
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
		if (!strcmp(aliases[i].header, normalised))
			return aliases[i].field;
	return FIELD_EXTRA;
}

static int header_has(const struct csv_record *header, const char *normalised)
{
	int found = 0;

	for (size_t i = 0; i < header->count && !found; i++) {
		char *n = normalise_header(header->fields[i]);
		found = !strcmp(n, normalised);
		free(n);
	}
	return found;
}

/* A scan-time column that holds only the time of day ("Scan Time" beside "Scanned Date"). */
static int is_time_only(const char *normalised)
{
	return strstr(normalised, "time") && !strstr(normalised, "date");
}

static int apply_override(struct header_map *map, const char *spec, char **errmsg)
{
	const char *eq = strrchr(spec, '=');
	char *header, *wanted, *name;
	int field, found = 0;

	if (!eq || eq == spec || !eq[1]) {
		*errmsg = xasprintf("--map '%s': expected 'Header=field'", spec);
		return -1;
	}
	name = str_trim(xstrdup(eq + 1));
	field = field_from_name(name);
	free(name);
	if (field < 0) {
		*errmsg = xasprintf("--map '%s': unknown field '%s' (fields: email first_name"
				    " last_name name company title phone country timezone scanned_at"
				    " notes rating owner event badge_id opt_out consent extra ignore)",
				    spec, eq + 1);
		return -1;
	}
	header = str_trim(xstrndup(spec, (size_t)(eq - spec)));
	wanted = normalise_header(header);
	for (size_t i = 0; i < map->ncolumns; i++) {
		char *n = normalise_header(map->columns[i].header);
		if (!strcmp(n, wanted)) {
			map->columns[i].field = (enum lead_field)field;
			found = 1;
		}
		free(n);
	}
	if (!found)
		*errmsg = xasprintf("--map '%s': no column '%s' in the file", spec, header);
	free(header);
	free(wanted);
	return found ? 0 : -1;
}

/* The first column of each field wins; later ones stay as extra, except a scan date
 * and a separate scan time, which join. */
static void index_fields(struct header_map *map)
{
	for (int f = 0; f < FIELD_COUNT; f++)
		map->index[f] = -1;
	map->time_column = -1;
	for (size_t i = 0; i < map->ncolumns; i++) {
		enum lead_field f = map->columns[i].field;
		if (f >= FIELD_COUNT)
			continue;
		if (map->index[f] < 0) {
			map->index[f] = (int)i;
			continue;
		}
		if (f == FIELD_SCANNED_AT && map->time_column < 0) {
			char *first = normalise_header(map->columns[map->index[f]].header);
			char *this = normalise_header(map->columns[i].header);
			if (is_time_only(this) && !is_time_only(first)) {
				map->time_column = (int)i;
			} else if (is_time_only(first) && !is_time_only(this)) {
				map->time_column = map->index[f];
				map->index[f] = (int)i;
			}
			free(first);
			free(this);
			if (map->time_column >= 0)
				continue;
		}
		map->columns[i].field = FIELD_EXTRA;
	}
}

int header_map_build(struct header_map **out, const struct csv_record *header,
		     const char *const *overrides, size_t noverrides, char **errmsg)
{
	struct header_map *map = xcalloc(1, sizeof(*map));
	int has_job_title = header_has(header, "jobtitle");

	map->columns = xcalloc(header->count ? header->count : 1, sizeof(*map->columns));
	map->ncolumns = header->count;
	for (size_t i = 0; i < header->count; i++) {
		char *trimmed = str_trim(xstrdup(header->fields[i]));
		char *n = normalise_header(trimmed);
		map->columns[i].header = trimmed;
		map->columns[i].field = !*n ? FIELD_IGNORE : alias_field(n);
		if (has_job_title && !strcmp(n, "title"))
			map->columns[i].field = FIELD_EXTRA;   /* "Title" is then Dr/Mr */
		free(n);
	}
	for (size_t i = 0; i < noverrides; i++) {
		if (apply_override(map, overrides[i], errmsg)) {
			header_map_free(map);
			return -1;
		}
	}
	index_fields(map);
	if (map->index[FIELD_EMAIL] < 0) {
		struct strbuf seen = STRBUF_INIT;
		for (size_t i = 0; i < map->ncolumns; i++)
			if (*map->columns[i].header)
				strbuf_addf(&seen, "%s'%s'", seen.len ? ", " : "", map->columns[i].header);
		*errmsg = xasprintf("no email column (headers: %s); name one with --map"
				    " 'Header=email'", seen.len ? seen.buf : "none");
		strbuf_release(&seen);
		header_map_free(map);
		return -1;
	}
	*out = map;
	return 0;
}

void header_map_free(struct header_map *map)
{
	if (!map)
		return;
	for (size_t i = 0; i < map->ncolumns; i++)
		free(map->columns[i].header);
	free(map->columns);
	free(map);
}

static const char *column_value(struct csv_record *rec, int column)
{
	if (column < 0 || (size_t)column >= rec->count)
		return "";
	return str_trim(rec->fields[column]);
}

const char *header_map_value(const struct header_map *map, struct csv_record *rec,
			     enum lead_field f)
{
	char *v;

	if (f >= FIELD_COUNT)
		return "";
	v = (char *)column_value(rec, map->index[f]);
	csv_unneutralise(v);
	return v;
}

char *header_map_scanned_at(const struct header_map *map, struct csv_record *rec)
{
	const char *date = header_map_value(map, rec, FIELD_SCANNED_AT);
	const char *time = column_value(rec, map->time_column);

	if (!*date)
		return NULL;
	return *time ? xasprintf("%s %s", date, time) : xstrdup(date);
}

char *header_map_extra_json(const struct header_map *map, struct csv_record *rec)
{
	cJSON *extra = NULL;
	char *text;

	for (size_t i = 0; i < map->ncolumns && i < rec->count; i++) {
		const char *v;
		if (map->columns[i].field != FIELD_EXTRA || !*map->columns[i].header)
			continue;
		v = column_value(rec, (int)i);
		if (!*v)
			continue;
		if (!extra)
			extra = cJSON_CreateObject();
		if (!cJSON_GetObjectItemCaseSensitive(extra, map->columns[i].header))
			cJSON_AddStringToObject(extra, map->columns[i].header, v);
	}
	if (!extra)
		return NULL;
	text = cJSON_PrintUnformatted(extra);
	cJSON_Delete(extra);
	return text;
}

/* --- per-field rules ----------------------------------------------------------------------- */

int email_plausible(const char *email, const char **reason)
{
	const char *at = strchr(email, '@'), *dot, *p;

	*reason = NULL;
	for (p = email; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c == 0x7f)
			*reason = "contains a space or control character";
		else if (c == ',' || c == ';' || c == '<' || c == '>' || c == '"' || c == '(' ||
			 c == ')' || c == '[' || c == ']' || c == '\\')
			*reason = "contains a character not allowed in an address";
		if (*reason)
			return 0;
	}
	if (!at)
		*reason = "missing @";
	else if (strchr(at + 1, '@'))
		*reason = "more than one @";
	else if (at == email)
		*reason = "nothing before the @";
	else if (!at[1])
		*reason = "no domain after the @";
	else if (!(dot = strrchr(at + 1, '.')))
		*reason = "the domain has no dot";
	else if (strstr(at + 1, "..") || at[1] == '.' || !dot[1])
		*reason = "the domain has an empty part";
	else if (strlen(dot + 1) < 2)
		*reason = "the top-level domain is too short";
	else
		for (p = dot + 1; *p && !*reason; p++)
			if (!isalpha((unsigned char)*p) && !((unsigned char)*p & 0x80) && *p != '-')
				*reason = "the top-level domain is not a name";
	return *reason == NULL;
}

void name_split(const char *full, char **first, char **last)
{
	char *name = str_trim(xstrdup(full)), *sep;

	*first = *last = NULL;
	if ((sep = strchr(name, ','))) {          /* "Whitfield, Dana" */
		*sep = '\0';
		*last = str_trim(xstrdup(name));
		*first = str_trim(xstrdup(sep + 1));
	} else if ((sep = strchr(name, ' '))) {
		*first = xstrndup(name, (size_t)(sep - name));
		*last = str_trim(xstrdup(sep + 1));
	} else if (*name) {
		*first = xstrdup(name);
	}
	if (*first && !**first) {
		free(*first);
		*first = NULL;
	}
	if (*last && !**last) {
		free(*last);
		*last = NULL;
	}
	free(name);
}

static int flag_in(const char *value, const char *const *words, size_t n)
{
	char buf[16];
	size_t len;

	if (!value)
		return 0;
	while (*value == ' ')
		value++;
	len = strlen(value);
	while (len && value[len - 1] == ' ')
		len--;
	if (!len || len >= sizeof(buf))
		return 0;
	memcpy(buf, value, len);
	buf[len] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(buf, words[i]))
			return 1;
	return 0;
}

int flag_yes(const char *value)
{
	static const char *const yes[] = { "yes", "y", "1", "true", "x", "ja", "oui", "si", "sí" };
	return flag_in(value, yes, ARRAY_SIZE(yes));
}

int flag_no(const char *value)
{
	static const char *const no[] = { "no", "n", "0", "false", "nein", "non" };
	return flag_in(value, no, ARRAY_SIZE(no));
}
