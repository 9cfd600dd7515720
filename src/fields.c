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
	[FIELD_CONSENT] = "consent", [FIELD_STATUS] = "status", [FIELD_EXTRA] = "extra",
	[FIELD_IGNORE] = "ignore",
};

/*
 * Header spellings seen in real exports (SPEC section 5 and tests/data/header_aliases.tsv),
 * normalised. Left out on purpose, so that they stay extra: "Device Name", "Device" and
 * "User" name a scanner, not a rep; "Buyer ..." columns are the purchaser, not the person
 * scanned; Tags, Qualifiers, Exhibitor and Booth describe the booth or the lead's answers.
 * Also the CRMs' and event platforms' own: Salesforce's "Company / Account" and HubSpot's
 * "Contact owner", Cvent's "Attendee ..." columns, Hubilo's "Email ID" and "Mobile
 * Number", a lead form's "Submitted At" (the moment the person reached out: the contact
 * time, as "Created" is). Not "Account Owner" (the account's rep, not the lead's), "Job
 * Function" (a department, not a title), "Created Date" (a CRM record's birth, perhaps
 * years before this event: only hinted at, see header_map_scan_time_hint).
 */
static const struct alias {
	enum lead_field field;
	const char *const *spellings;   /* NULL-terminated */
} aliases[] = {
	{ FIELD_EMAIL, (const char *const[]){ "email", "emailaddress", "workemail",
		"businessemail", "attendeeemail", "contactemail", "emailadresse", "courriel",
		"mail", "emailid", "attendeeemailaddress", NULL } },
	{ FIELD_FIRST_NAME, (const char *const[]){ "firstname", "fname", "givenname", "forename",
		"attendeefirstname", "vorname", "prénom", "prenom", "nombre", NULL } },
	{ FIELD_LAST_NAME, (const char *const[]){ "lastname", "lname", "surname", "familyname",
		"attendeelastname", "attendeesurname", "nachname", "nom", "apellidos", NULL } },
	{ FIELD_NAME, (const char *const[]){ "fullname", "name", "attendeename", "contactname",
		"customername", NULL } },
	{ FIELD_COMPANY, (const char *const[]){ "company", "companyname", "organization",
		"organisation", "account", "accountname", "employer", "employeecompany",
		"badgeorganization", "firma", "unternehmen", "société", "societe",
		"companyaccount", "organizationname", "organisationname", "attendeecompany",
		"attendeeorganization", "attendeeorganisation", NULL } },
	{ FIELD_TITLE, (const char *const[]){ "jobtitle", "title", "position", "designation",
		"role", "jobtitel", "funktion", "poste", "attendeetitle", "attendeejobtitle",
		NULL } },
	{ FIELD_PHONE, (const char *const[]){ "phone", "phonenumber", "workphone",
		"businessphone", "mobile", "mobilephone", "cellphone", "telephone", "tel",
		"telefon", "number", "mobilenumber", "mobilephonenumber", "mobileno", "phoneno",
		"contactnumber", "attendeephone", NULL } },
	{ FIELD_COUNTRY, (const char *const[]){ "country", "countryregion", "workcountry",
		"homecountry", "land", "pays", "attendeecountry", NULL } },
	{ FIELD_TIMEZONE, (const char *const[]){ "timezone", "tz", NULL } },
	{ FIELD_SCANNED_AT, (const char *const[]){ "scannedat", "scantime", "scandate",
		"scanneddate", "datescanned", "datecaptured", "capturedate", "capturedat",
		"leaddate", "created", "createdat", "createdtime", "timestamp", "firstupload",
		"datetime", "capturetime", "capturedtime", "timecaptured", "timescanned",
		"scannedtime", "leadtime", "scannedon", "capturedon", "leadcaptureddate",
		"leadcapturedate", "leadcapturedat", "submittedat", "submittedon",
		"datesubmitted", "submissiondate", NULL } },
	{ FIELD_NOTES, (const char *const[]){ "notes", "note", "comments", "comment",
		"leadnotes", "scannotes", "remarks", "description", "notizen", "bemerkung", NULL } },
	{ FIELD_RATING, (const char *const[]){ "rating", "leadrating", "leadscore", "score",
		"stars", "temperature", "qualification", "priority", NULL } },
	{ FIELD_OWNER, (const char *const[]){ "scannedby", "capturedby", "boothstaff", "staff",
		"rep", "salesrep", "salesperson", "leadowner", "owner", "recordowner",
		"contactowner", "leadscannedby", NULL } },
	{ FIELD_EVENT, (const char *const[]){ "event", "eventname", "show", "leadsource",
		"source", NULL } },
	{ FIELD_BADGE_ID, (const char *const[]){ "badgeid", "badgenumber", "barcode",
		"barcodenumber", "registrationid", "registrationnumber", "regid", "attendeeid",
		"attendeenumber", "referenceid", "leadcode", "pseudonymizationid",
		"confirmationnumber", "qrcode", NULL } },
	/* Salesforce's HasOptedOutOfEmail and HubSpot's "Unsubscribed from all email" say
	 * true when the person must not be emailed, as Pardot's "Opted Out", Dynamics' "Do
	 * not allow Emails", Marketo's "Unsubscribed" and "Marketing Opt Out" do. */
	{ FIELD_OPT_OUT, (const char *const[]){ "emailoptout", "optout", "unsubscribed",
		"donotemail", "hasoptedoutofemail", "unsubscribedfromallemail", "optedout",
		"emailoptedout", "optedoutofemail", "optedoutofemails", "donotcontact",
		"donotallowemails", "donotallowemail", "donotsendemail", "donotmail",
		"globalunsubscribe", "globaloptout", "unsubscribe", "emailunsubscribe",
		"emailunsubscribed", "unsubscribedfromemail", "unsubscribedfromemails",
		"marketingoptout", "emailmarketingoptout", "optoutofemail", "optoutofemails",
		"abgemeldet", "désabonné", "desabonne", NULL } },
	/* German, French, Spanish and Dutch consent columns: a "Nein" there must stop the
	 * follow-up as a "No" does. */
	{ FIELD_CONSENT, (const char *const[]){ "optin", "consent", "marketingconsent",
		"gdprconsent", "emailoptin", "contactoptin", "subscribedyesno", "emailconsent",
		"emailmarketingconsent", "marketingoptin", "marketingemailoptin", "gdproptin",
		"consenttocontact", "consenttoemail", "contactconsent", "optinstatus",
		"emailoptinstatus", "consentstatus", "einwilligung",
		"einverständnis", "einverstandnis", "newslettereinwilligung",
		"einwilligungemail", "emaileinwilligung", "datenschutzeinwilligung",
		"consentement", "consentementemail", "consentementmarketing", "consentimiento",
		"consentimientoemail", "consentimientomarketing", "toestemming",
		"emailtoestemming", "marketingtoestemming", NULL } },
	/* `followup export`'s own columns, only in a file that has its "Next Due" (see
	 * export_columns_as_extra): the status is read back, the rest is derived. */
	{ FIELD_STATUS, (const char *const[]){ "status", NULL } },
	{ FIELD_IGNORE, (const char *const[]){ "sequence", "step", "lasttouch", "nextdue", NULL } },
};

/* The columns that mean something only in a file `followup export` wrote. */
static const char *const export_columns[] = { "status", "sequence", "step", "lasttouch",
	"nextdue" };

struct column {
	char *header;           /* as in the file, trimmed */
	char *key;              /* an extra column's key in the lead's JSON: distinct */
	char *normalised;
	enum lead_field field;
	enum lead_field second_of;      /* a later column of that field, kept as extra;
					 * FIELD_COUNT for none */
	int overridden;         /* named by --map */
};

struct header_map {
	struct column *columns;
	size_t ncolumns;
	int index[FIELD_COUNT]; /* the column of each field, -1 when absent */
	size_t nsecond[FIELD_COUNT];    /* its later columns, kept as extra */
	int time_column;        /* a time-of-day column joined to the scan date; -1 none */
	int buyer[FIELD_LAST_NAME + 1]; /* the purchaser's email and names (extra); -1 none */
};

/* Eventbrite's purchaser columns, by the field they stand in for. */
static const char *const buyer_headers[FIELD_LAST_NAME + 1] = {
	[FIELD_EMAIL] = "buyeremail", [FIELD_FIRST_NAME] = "buyerfirstname",
	[FIELD_LAST_NAME] = "buyerlastname",
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

/* --- headers --------------------------------------------------------------------------- */

static int is_dropped_in_header(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '_' || c == '-' || c == '.' || c == '/' ||
	       c == '*' || c == '?' || c == ':' || c == '\r' || c == '\n';
}

static size_t invisible_space(const char *s);

/* The header as aliases are written (see fields.h). Caller frees. */
static char *normalise_header(const char *h)
{
	struct strbuf sb = STRBUF_INIT;
	const unsigned char *p = (const unsigned char *)h;

	while (*p) {
		if (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {         /* U+FEFF */
			p += 3;
		} else if (p[0] == 0xC2 && p[1] == 0xA0) {                  /* no-break space */
			p += 2;
		} else if (invisible_space((const char *)p)) {              /* zero-width... */
			p += invisible_space((const char *)p);
		} else if (p[0] == 0xC3 && p[1] >= 0x80 && p[1] <= 0x9E && p[1] != 0x97) {
			/* Latin-1 capitals À..Þ (not ×) are 0x20 below their small letters. */
			strbuf_addch(&sb, 0xC3);
			strbuf_addch(&sb, p[1] + 0x20);
			p += 2;
		} else if (*p == '#') {
			strbuf_addstr(&sb, "number");
			p++;
		} else if (is_dropped_in_header(*p)) {
			p++;
		} else {
			strbuf_addch(&sb, tolower(*p));
			p++;
		}
	}
	return strbuf_detach(&sb);
}

/* The bytes of a control character at v that a cell loses: all but tab and line break. */
static size_t dropped_control_bytes(const char *v)
{
	return *v == '\t' || *v == '\n' ? 0 : control_char_bytes(v);
}

/* Drops control characters (C0, DEL, C1) but tab and line break, in place: an escape
 * sequence in a name would otherwise reach the rep's terminal through `leads` and `show`. */
static void drop_control_chars(char *v)
{
	char *out;

	/* Nearly every cell: no copying, and no call per byte (0xc2 may start a C1). */
	while ((unsigned char)*v >= 0x20 && *v != 0x7f && (unsigned char)*v != 0xc2)
		v++;
	while (*v && !dropped_control_bytes(v))
		v++;
	for (out = v; *v;) {
		size_t n = dropped_control_bytes(v);

		if (n)
			v += n;
		else
			*out++ = *v++;
	}
	*out = '\0';
}

/* The header as written, for messages and extra keys: trimmed, without U+FEFF, and
 * without the ' that `followup export` puts before a header starting with = + - @ (as
 * values lose theirs), so that "'=cmd" is read back as "=cmd". */
static char *clean_header(const char *h)
{
	char *header;

	if (starts_with(h, "\xEF\xBB\xBF"))
		h += 3;
	header = xstrdup(h);
	for (char *p = header; *p; p++)      /* an extra key is shown as a field name */
		if (*p == '\t' || *p == '\n' || *p == '\r')
			*p = ' ';
	drop_control_chars(header);
	str_trim(header);
	if (*header == '\'') {
		field_unneutralise(header);
		str_trim(header);
	}
	return header;
}

static enum lead_field alias_of(const char *normalised, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
		for (const char *const *s = aliases[i].spellings; *s; s++)
			if (strlen(*s) == len && !strncmp(*s, normalised, len))
				return aliases[i].field;
	return FIELD_EXTRA;
}

/* The length of the normalised header without a trailing hint in brackets that has a
 * letter in it ("emailoptout(yn)", "optin(gdpr)", "scantime(utc)"); its whole length
 * when there is none. A bracketed number is export's "Tag (2)" and stays. */
static size_t without_bracket_hint(const char *normalised)
{
	size_t len = strlen(normalised);
	const char *open = strrchr(normalised, '(');
	int letter = 0;

	if (!open || open == normalised || len < 2 || normalised[len - 1] != ')')
		return len;
	for (const char *p = open + 1; p < normalised + len - 1; p++) {
		if (*p == '(' || *p == ')')
			return len;
		letter |= isalpha((unsigned char)*p) || (unsigned char)*p >= 0x80;
	}
	return letter ? (size_t)(open - normalised) : len;
}

static enum lead_field alias_field(const char *header, const char *normalised)
{
	enum lead_field f;

	/* No name to go by ("", "-"): still extra, so that a value under it is kept. */
	if (!*normalised)
		return FIELD_EXTRA;
	/* A bare "#" column counts rows; it is not the "Number" that means a phone. */
	if (!strcmp(header, "#"))
		return FIELD_EXTRA;
	f = alias_of(normalised, strlen(normalised));
	if (f != FIELD_EXTRA)
		return f;
	/* "Email Opt-Out (Y/N)", "Opt-in (GDPR)", "Scan Time (UTC)": the hint says how the
	 * column is written, not what it is. Only for these fields: "Email (Buyer)" or
	 * "Name (Company)" is somebody else's, and must not stand in for the lead's own. */
	f = alias_of(normalised, without_bracket_hint(normalised));
	return f == FIELD_OPT_OUT || f == FIELD_CONSENT || f == FIELD_SCANNED_AT ? f : FIELD_EXTRA;
}

static int has_column(const struct header_map *map, const char *normalised)
{
	for (size_t i = 0; i < map->ncolumns; i++)
		if (!strcmp(map->columns[i].normalised, normalised))
			return 1;
	return 0;
}

static int is_export_column(const char *normalised)
{
	for (size_t k = 0; k < ARRAY_SIZE(export_columns); k++)
		if (!strcmp(normalised, export_columns[k]))
			return 1;
	return 0;
}

/* A badge file's own "Status" (Attended, Hot, Cold...) or "Step" is not followup's:
 * outside an export, those columns are plain extra columns. In an export, only the
 * first of each is: a later "Status" is an extra column of that name, exported. */
static void export_columns_as_extra(struct header_map *map)
{
	int in_export = has_column(map, "nextdue") && has_column(map, "lasttouch");

	for (size_t i = 0; i < map->ncolumns; i++) {
		int first = 1;

		if (!is_export_column(map->columns[i].normalised))
			continue;
		for (size_t j = 0; j < i; j++)
			first &= strcmp(map->columns[j].normalised, map->columns[i].normalised) != 0;
		if (!in_export || !first)
			map->columns[i].field = FIELD_EXTRA;
	}
}

static int apply_override(struct header_map *map, const char *spec, char **errmsg)
{
	const char *eq = strrchr(spec, '=');
	char *header = NULL, *wanted = NULL, *name = NULL;
	int field, found = 0, ret = -1;

	if (!eq || eq == spec || !eq[1]) {
		*errmsg = xasprintf("--map '%s': expected 'Header=field'", spec);
		goto out;
	}
	name = str_trim(xstrdup(eq + 1));
	field = field_from_name(name);
	if (field < 0) {
		*errmsg = xasprintf("--map '%s': unknown field '%s' (fields: email first_name"
				    " last_name name company title phone country timezone scanned_at"
				    " notes rating owner event badge_id opt_out consent extra ignore)",
				    spec, name);
		goto out;
	}
	header = str_trim(xstrndup(spec, (size_t)(eq - spec)));
	wanted = normalise_header(header);
	for (size_t i = 0; i < map->ncolumns; i++) {
		if (strcmp(map->columns[i].normalised, wanted))
			continue;
		map->columns[i].field = (enum lead_field)field;
		map->columns[i].overridden = 1;
		found = 1;
	}
	if (!found) {
		*errmsg = xasprintf("--map '%s': no column '%s' in the file", spec, header);
		goto out;
	}
	ret = 0;
out:
	free(name);
	free(header);
	free(wanted);
	return ret;
}

/* Scan date and scan time in two columns: "Scan Time" holds a time of day only. */
static int is_time_only(const char *normalised)
{
	return strstr(normalised, "time") && !strstr(normalised, "date") &&
	       !strstr(normalised, "stamp");
}

static int is_date_only(const char *normalised)
{
	return strstr(normalised, "date") && !strstr(normalised, "time");
}

/* Column i maps to scanned_at, which another column already has: joins them when one
 * holds the date and the other the time, judging by their names, or when --map named both
 * (the first is then the date). */
static int join_date_and_time(struct header_map *map, int i)
{
	int first = map->index[FIELD_SCANNED_AT];
	const char *held = map->columns[first].normalised, *this = map->columns[i].normalised;

	if (map->time_column >= 0)
		return 0;
	/* --map 'Fecha=scanned_at' --map 'Hora=scanned_at': the user says they join. */
	if ((is_date_only(held) && is_time_only(this)) ||
	    (map->columns[first].overridden && map->columns[i].overridden)) {
		map->time_column = i;
		return 1;
	}
	if (is_time_only(held) && is_date_only(this)) {
		map->time_column = first;
		map->index[FIELD_SCANNED_AT] = i;
		return 1;
	}
	return 0;
}

/* Gives column i its field, unless a column already has it: then it becomes extra. */
static void claim_field(struct header_map *map, int i)
{
	enum lead_field f = map->columns[i].field;

	if (f >= FIELD_COUNT)
		return;
	if (map->index[f] < 0) {
		map->index[f] = i;
	} else if (!(f == FIELD_SCANNED_AT && join_date_and_time(map, i))) {
		map->columns[i].field = FIELD_EXTRA;
		map->columns[i].second_of = f;
		map->nsecond[f]++;
	}
}

/* The first later column of field f (kept as extra while another held f) takes it. */
static void promote_second(struct header_map *map, enum lead_field f)
{
	for (size_t i = 0; i < map->ncolumns; i++)
		if (map->columns[i].second_of == f) {
			map->columns[i].field = f;
			map->columns[i].second_of = FIELD_COUNT;
			map->index[f] = (int)i;
			map->nsecond[f]--;
			return;
		}
}

/* The first column of each field wins; the columns named by --map claim theirs first. */
static void index_fields(struct header_map *map)
{
	int at;

	for (int f = 0; f < FIELD_COUNT; f++) {
		map->index[f] = -1;
		map->nsecond[f] = 0;
	}
	map->time_column = -1;
	for (int overridden = 1; overridden >= 0; overridden--)
		for (size_t i = 0; i < map->ncolumns; i++)
			if (map->columns[i].overridden == overridden)
				claim_field(map, (int)i);
	/* "Lead Time" is a scan's time of day beside a "Lead Date"; alone, it is as likely
	 * a sales cycle's length ("14 days"). */
	at = map->index[FIELD_SCANNED_AT];
	if (at >= 0 && map->time_column < 0 && !map->columns[at].overridden &&
	    !strcmp(map->columns[at].normalised, "leadtime")) {
		map->columns[at].field = FIELD_EXTRA;
		map->index[FIELD_SCANNED_AT] = -1;
		promote_second(map, FIELD_SCANNED_AT);   /* a "Created At" after it */
	}
}

/* The first extra column whose normalised header is name, or -1. */
static int buyer_column(const struct header_map *map, const char *name)
{
	for (size_t i = 0; i < map->ncolumns; i++)
		if (map->columns[i].field == FIELD_EXTRA && !strcmp(map->columns[i].normalised, name))
			return (int)i;
	return -1;
}

static int key_taken(const struct header_map *map, size_t before, const char *key)
{
	for (size_t j = 0; j < before; j++)
		if (map->columns[j].key && !strcmp(map->columns[j].key, key))
			return 1;
	return 0;
}

/*
 * Gives each extra column its key: its header, or "Column N" (1-based) when it has none;
 * when an earlier extra column has that key already, "Tag (2)", "Tag (3)"... So no value
 * is lost to a name, and `followup export` writes the keys as headers that import back
 * to the same keys. Only extra columns count: a second "Notes" is extra "Notes" beside
 * the notes field, as export writes it.
 */
static void name_extra_keys(struct header_map *map)
{
	for (size_t i = 0; i < map->ncolumns; i++) {
		struct column *col = &map->columns[i];
		char *base;

		if (col->field != FIELD_EXTRA)
			continue;
		base = *col->header ? xstrdup(col->header) : xasprintf("Column %zu", i + 1);
		col->key = xstrdup(base);
		for (int n = 2; key_taken(map, i, col->key); n++) {
			free(col->key);
			col->key = xasprintf("%s (%d)", base, n);
		}
		free(base);
	}
}

static char *no_email_message(const struct header_map *map)
{
	struct strbuf seen = STRBUF_INIT;
	char *msg;

	for (size_t i = 0; i < map->ncolumns; i++)
		if (*map->columns[i].header)
			strbuf_addf(&seen, "%s'%s'", seen.len ? ", " : "", map->columns[i].header);
	msg = xasprintf("no email column (headers: %s); name one with --map 'Header=email'",
			seen.len ? seen.buf : "none");
	strbuf_release(&seen);
	return msg;
}

int header_map_build(struct header_map **out, const struct csv_record *header,
		     const char *const *overrides, size_t noverrides, char **errmsg)
{
	struct header_map *map = xcalloc(1, sizeof(*map));
	int has_job_title;

	*out = NULL;
	map->columns = xcalloc(header->count ? header->count : 1, sizeof(*map->columns));
	map->ncolumns = header->count;
	for (size_t i = 0; i < header->count; i++) {
		struct column *col = &map->columns[i];
		col->header = clean_header(header->fields[i]);
		col->normalised = normalise_header(col->header);
		col->field = alias_field(col->header, col->normalised);
		col->second_of = FIELD_COUNT;
	}
	export_columns_as_extra(map);
	/* Beside a "Job Title", "Title" is a salutation (Dr, Ms): keep it as extra. */
	has_job_title = has_column(map, "jobtitle");
	for (size_t i = 0; i < map->ncolumns; i++)
		if (has_job_title && !strcmp(map->columns[i].normalised, "title"))
			map->columns[i].field = FIELD_EXTRA;
	for (size_t i = 0; i < noverrides; i++)
		if (apply_override(map, overrides[i], errmsg))
			goto fail;
	index_fields(map);
	name_extra_keys(map);
	for (int f = 0; f <= FIELD_LAST_NAME; f++)
		map->buyer[f] = buyer_column(map, buyer_headers[f]);
	if (map->index[FIELD_EMAIL] < 0) {
		*errmsg = no_email_message(map);
		goto fail;
	}
	*out = map;
	return 0;
fail:
	header_map_free(map);
	return -1;
}

void header_map_free(struct header_map *map)
{
	if (!map)
		return;
	for (size_t i = 0; i < map->ncolumns; i++) {
		free(map->columns[i].header);
		free(map->columns[i].key);
		free(map->columns[i].normalised);
	}
	free(map->columns);
	free(map);
}

int header_map_column(const struct header_map *map, enum lead_field f)
{
	return (size_t)f < FIELD_COUNT ? map->index[f] : -1;
}

const char *header_map_header(const struct header_map *map, enum lead_field f)
{
	int column = header_map_column(map, f);
	return column < 0 ? NULL : map->columns[column].header;
}

int header_map_time_column(const struct header_map *map)
{
	return map->time_column;
}

static int in_list(const char *word, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(word, *list))
			return 1;
	return 0;
}

/* Whether a header no alias claims reads like a scan time ("Created Date", "Scanned",
 * Salesforce's "CreatedDate"), and not like another date of the person or the record.
 * Whole words only: "Candidate" and "Scanner" are no times. */
static int looks_like_scan_time(const char *header)
{
	static const char *const times[] = { "date", "time", "timestamp", "datetime", "scan",
		"scanned", "captured", "created", "when", NULL };
	static const char *const others[] = { "birth", "dob", "modified", "updated", "due",
		"touch", "count", "number", "id", "by", "consent", "unsubscribed", NULL };
	char word[32];
	size_t len = 0;
	int found = 0;

	for (const char *p = header; ; p++) {
		int alnum = isalnum((unsigned char)*p);
		/* a word ends at a non-letter and where camel case starts one: "CreatedDate" */
		if (len && (!alnum || (isupper((unsigned char)*p) && islower((unsigned char)p[-1])))) {
			word[len] = '\0';
			if (in_list(word, others))
				return 0;
			found |= in_list(word, times);
			len = 0;
		}
		if (!*p)
			return found;
		if (alnum && len < sizeof(word) - 1)
			word[len++] = (char)tolower((unsigned char)*p);
	}
}

/* Whether a header no alias claims reads like an opt-out or a consent column. */
static int looks_like_permission(const char *normalised)
{
	static const char *const parts[] = { "unsubscrib", "optout", "optedout", "optin",
		"optedin", "donotcontact", "donotemail", "donotmail", "consent", NULL };

	for (const char *const *p = parts; *p; p++)
		if (strstr(normalised, *p))
			return 1;
	return 0;
}

const char *header_map_permission_hint(const struct header_map *map, size_t n)
{
	for (size_t i = 0; i < map->ncolumns; i++) {
		const struct column *col = &map->columns[i];
		if (col->field == FIELD_EXTRA && col->second_of == FIELD_COUNT &&
		    !col->overridden && looks_like_permission(col->normalised) && n-- == 0)
			return col->header;
	}
	return NULL;
}

const char *header_map_scan_time_hint(const struct header_map *map)
{
	if (map->index[FIELD_SCANNED_AT] >= 0)
		return NULL;
	for (size_t i = 0; i < map->ncolumns; i++) {
		const struct column *col = &map->columns[i];
		if (col->field == FIELD_EXTRA && !col->overridden && *col->header &&
		    looks_like_scan_time(col->header))
			return col->header;
	}
	return NULL;
}

/* Whether a header ends with a hint that its times are UTC: "Scan Time (UTC)". */
static int says_utc(const struct header_map *map, int column)
{
	static const char *const hints[] = { "(utc)", "(gmt)", "(z)" };
	const char *h;
	size_t len;

	if (column < 0)
		return 0;
	h = map->columns[column].normalised;
	len = strlen(h);
	for (size_t k = 0; k < ARRAY_SIZE(hints); k++)
		if (len > strlen(hints[k]) && !strcmp(h + len - strlen(hints[k]), hints[k]))
			return 1;
	return 0;
}

const char *header_map_scan_zone(const struct header_map *map)
{
	return says_utc(map, map->index[FIELD_SCANNED_AT]) || says_utc(map, map->time_column)
		? "UTC" : NULL;
}

/* --- values ---------------------------------------------------------------------------- */

void field_unneutralise(char *value)
{
	size_t quotes = strspn(value, "'");

	if (quotes && value[quotes] && strchr(CSV_FORMULA_CHARS, value[quotes]))
		memmove(value, value + 1, strlen(value));
}

/* The length of the invisible space (no-break, zero-width, word joiner, BOM) that s
 * starts with, pasted in from web pages and spreadsheets; 0 if none. */
static size_t invisible_space(const char *s)
{
	static const char *const spaces[] = {
		"\xc2\xa0", "\xe2\x80\x8b", "\xe2\x80\x8c", "\xe2\x80\x8d", "\xe2\x80\xaf",
		"\xe2\x81\xa0", "\xef\xbb\xbf",
	};

	if ((unsigned char)*s < 0xc2)   /* ASCII, nearly every cell: none of these */
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(spaces); i++)
		if (starts_with(s, spaces[i]))
			return strlen(spaces[i]);
	return 0;
}

/* The length of the invisible space that the len bytes of v end with; 0 if none. */
static size_t invisible_space_at_end(const char *v, size_t len)
{
	for (size_t n = 2; n <= 3 && n <= len; n++)
		if (invisible_space(v + len - n) == n)
			return n;
	return 0;
}

/* Trims ASCII and invisible spaces from both ends, in place. */
static char *trim_cell(char *v)
{
	char *p = v;
	size_t len, n;

	for (;;) {
		if (isspace((unsigned char)*p))
			p++;
		else if ((n = invisible_space(p)))
			p += n;
		else
			break;
	}
	len = strlen(p);
	for (;;) {
		if (len && isspace((unsigned char)p[len - 1]))
			len--;
		else if ((n = invisible_space_at_end(p, len)))
			len -= n;
		else
			break;
	}
	memmove(v, p, len);
	v[len] = '\0';
	return v;
}

/* Column's value, trimmed and unneutralised in place; "" past the end of a short row. */
static const char *column_value(struct csv_record *rec, int column)
{
	char *v;
	size_t len;

	if (column < 0 || (size_t)column >= rec->count)
		return "";
	drop_control_chars(rec->fields[column]);
	v = trim_cell(rec->fields[column]);
	if (*v == '\'') {
		field_unneutralise(v);
		trim_cell(v);                   /* "'\tx" leaves a tab in front */
	}
	/* Excel's way to keep "00123" text in a CSV: ="00123". */
	len = strlen(v);
	if (len >= 3 && v[0] == '=' && v[1] == '"' && v[len - 1] == '"') {
		memmove(v, v + 2, len - 3);
		v[len - 3] = '\0';
		trim_cell(v);
	}
	/* Eventbrite's placeholder where an order asked only the buyer for details. */
	if ((*v == 'I' || *v == 'i') && !strcasecmp(v, "Info Requested"))
		*v = '\0';
	return v;
}

const char *header_map_value(const struct header_map *map, struct csv_record *rec,
			     enum lead_field f)
{
	return column_value(rec, header_map_column(map, f));
}

const char *header_map_nth_value(const struct header_map *map, struct csv_record *rec,
				 enum lead_field f, size_t n)
{
	if (header_map_column(map, f) < 0 || n > map->nsecond[f])
		return NULL;    /* nearly always for n = 1: a field has one column */
	if (n == 0)
		return header_map_value(map, rec, f);
	for (size_t i = 0; i < map->ncolumns; i++)
		if (map->columns[i].second_of == f && --n == 0)
			return column_value(rec, (int)i);
	return NULL;
}

const char *header_map_other_email(const struct header_map *map, struct csv_record *rec)
{
	const char *v;

	for (size_t n = 1; (v = header_map_nth_value(map, rec, FIELD_EMAIL, n)); n++)
		if (*v)
			return v;
	return "";
}

const char *header_map_buyer_value(const struct header_map *map, struct csv_record *rec,
				   enum lead_field f)
{
	return f <= FIELD_LAST_NAME ? column_value(rec, map->buyer[f]) : "";
}

/* Whether s starts with a date: 2025-03-04, 04.03.2025, 3/4/25. */
static int starts_with_date(const char *s)
{
	int a, b, c, n = 0;

	if (!isdigit((unsigned char)*s))       /* a time of day, or nothing: the usual case */
		return 0;
	return (sscanf(s, "%4d-%2d-%2d%n", &a, &b, &c, &n) == 3 && n >= 8) ||
	       (sscanf(s, "%2d%*1[./]%2d%*1[./]%4d%n", &a, &b, &c, &n) == 3 && n >= 6);
}

/* Whether s is a midnight clock and nothing else: 0:00, 00:00:00.000, 12:00 AM. */
static int is_midnight(const char *s)
{
	size_t zeros = strspn(s, "0");
	int twelve = !zeros && starts_with(s, "12");

	if (twelve)
		s += 2;
	else if (zeros == 1 || zeros == 2)
		s += zeros;
	else
		return 0;
	if (!starts_with(s, ":00"))
		return 0;
	s += 3;
	if (starts_with(s, ":00"))
		s += 3;
	if (*s == '.')
		s += 1 + strspn(s + 1, "0");
	s += strspn(s, " ");
	if (!*s)
		return !twelve;
	if (*s != 'A' && *s != 'a')
		return 0;
	s++;
	s += *s == '.';
	if (*s != 'M' && *s != 'm')
		return 0;
	s++;
	s += *s == '.';
	return !*s;
}

/* The length of the date without a clock at midnight, which is what a spreadsheet writes
 * for a date-only cell ("3/5/2026 0:00", "2026-03-05T00:00:00"): the time column says
 * the time. The whole length when the date has no such clock. */
static size_t date_without_midnight(const char *date)
{
	for (const char *p = date; *p; p++)
		if ((*p == ' ' || *p == 'T') && p > date && isdigit((unsigned char)p[-1]) &&
		    is_midnight(p + 1))
			return (size_t)(p - date);
	return strlen(date);
}

char *header_map_scanned_at(const struct header_map *map, struct csv_record *rec)
{
	const char *date = header_map_value(map, rec, FIELD_SCANNED_AT);
	const char *time = column_value(rec, map->time_column);

	/* Some apps write the whole stamp into the time column too. */
	if (map->time_column >= 0 && starts_with_date(time))
		return xstrdup(time);
	if (!*date)
		return NULL;
	return *time ? xasprintf("%.*s %s", (int)date_without_midnight(date), date, time)
		     : xstrdup(date);
}

char *header_map_extra_json(const struct header_map *map, struct csv_record *rec)
{
	cJSON *extra = NULL;
	char *text;

	for (size_t i = 0; i < map->ncolumns && i < rec->count; i++) {
		const struct column *col = &map->columns[i];
		const char *v;

		if (col->field != FIELD_EXTRA)
			continue;
		v = column_value(rec, (int)i);
		if (!*v)
			continue;
		if (!extra)
			extra = cJSON_CreateObject();
		cJSON_AddStringToObject(extra, col->key, v);      /* keys are distinct */
	}
	if (!extra)
		return NULL;
	text = cJSON_PrintUnformatted(extra);
	cJSON_Delete(extra);
	return text;
}

/* --- emails ---------------------------------------------------------------------------- */

/* Drops what follows an address copied from a list or a sentence: the ';' or ',' that
 * Outlook puts after each address, a full stop, and the spaces among them. The last
 * label of a domain is letters or digits, so nothing of the address goes. */
static void drop_trailing_separators(char *email)
{
	size_t len = strlen(email);

	while (len && strchr(";,. \t", email[len - 1]))
		len--;
	email[len] = '\0';
}

/* "Jane Doe <jane@x.example>" (the name quoted or not) is jane@x.example; a name that
 * is itself an address, or spans lines ("a@x <b@y>"), is two addresses: left whole. */
static void address_in_angle_brackets(char *email)
{
	size_t len = strlen(email);
	char *open = strrchr(email, '<');

	if (len > 2 && email[len - 1] == '>' && open &&
	    !memchr(email, '@', (size_t)(open - email)) &&
	    !strpbrk(email, "\r\n") && !memchr(email, '>', (size_t)(open - email))) {
		len = (size_t)(email + len - 1 - open - 1);
		memmove(email, open + 1, len);
		email[len] = '\0';
	}
}

char *email_from_cell(char *cell)
{
	/* Nearly every cell is an address already: it ends with a letter. */
	size_t len = strlen(cell);

	if (len && !isalpha((unsigned char)cell[len - 1]))
		drop_trailing_separators(cell);
	address_in_angle_brackets(cell);
	if (!strncasecmp(cell, "mailto:", 7))
		memmove(cell, cell + 7, strlen(cell + 7) + 1);
	return cell;
}

/* Whether email holds several addresses: an @ after a space, a comma, a semicolon or a
 * line break that follows another @ ("a@x.example; b@y.example"). */
static int several_addresses(const char *email)
{
	const char *at = strchr(email, '@'), *gap;

	if (!at || !strchr(at + 1, '@'))
		return 0;       /* nearly always: one @ */
	gap = strpbrk(at + 1, " \t,;\r\n<");
	return gap && strchr(gap, '@');
}

/* What is wrong with one byte of an address, or NULL. */
static const char *bad_address_byte(unsigned char c)
{
	if (c == ' ' || c == '\t')
		return "contains a space";
	if (c < 0x20 || c == 0x7F)
		return "contains a control character";
	if (c == ',')
		return "contains a comma";
	if (c == ';')
		return "contains a semicolon (two addresses?)";
	if (strchr("<>()[]\\\"", c))
		return "contains a character not allowed in an address";
	return NULL;
}

/* A domain label byte: letter, digit, '-' or part of a non-ASCII (IDN) letter. */
static int domain_byte(unsigned char c)
{
	return isalnum(c) || c == '-' || c >= 0x80;
}

/* The top-level domain: two letters or more (non-ASCII letters count), or punycode. */
static const char *bad_tld(const char *tld, size_t len)
{
	if (len >= 4 && !strncasecmp(tld, "xn--", 4))
		return NULL;
	for (size_t i = 0; i < len; i++)
		if (!isalpha((unsigned char)tld[i]) && !((unsigned char)tld[i] & 0x80))
			return "top-level domain is not letters";
	return len < 2 ? "top-level domain shorter than two letters" : NULL;
}

static const char *bad_domain(const char *domain, size_t len)
{
	const char *last_dot = NULL;

	if (!len)
		return "no domain after the @";
	for (size_t i = 0; i < len; i++) {
		if (domain[i] == '.') {
			if (i == 0 || i + 1 == len || domain[i + 1] == '.')
				return "empty label in the domain";
			last_dot = domain + i;
		} else if (!domain_byte((unsigned char)domain[i])) {
			return "invalid character in the domain";
		} else if (domain[i] == '-' && (i == 0 || domain[i - 1] == '.' ||
						i + 1 == len || domain[i + 1] == '.')) {
			return "a domain label starts or ends with '-'";
		}
	}
	if (!last_dot)
		return "no dot in the domain";
	return bad_tld(last_dot + 1, (size_t)(domain + len - last_dot - 1));
}

/* The part before the @: dots only between characters (RFC 5322 dot-atom), and no
 * colon, which is what a spreadsheet's "mailto:" hyperlink leaves. */
static const char *bad_local_part(const char *local, size_t len)
{
	if (local[0] == '.' || local[len - 1] == '.')
		return "a dot at the start or end of the name before the @";
	for (size_t i = 0; i < len; i++) {
		if (local[i] == '.' && local[i + 1] == '.')
			return "two dots in a row before the @";
		if (local[i] == ':')
			return "contains a colon (a 'mailto:' link?)";
	}
	return NULL;
}

int email_plausible(const char *email, const char **reason)
{
	const char *start = email, *end, *at = NULL;

	*reason = NULL;
	while (*start == ' ' || *start == '\t')
		start++;
	end = start + strlen(start);
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (start == end)
		*reason = "empty";
	else if (several_addresses(start))
		*reason = "several addresses in one cell: give each its own row";
	for (const char *p = start; p < end && !*reason; p++) {
		*reason = invisible_space(p) ? "contains an invisible space (pasted from a web page?)"
					     : bad_address_byte((unsigned char)*p);
		if (*p == '@' && at)
			*reason = "more than one @";
		else if (*p == '@')
			at = p;
	}
	if (!*reason && !at)
		*reason = "missing @";
	if (!*reason && at == start)
		*reason = "nothing before the @";
	if (!*reason)
		*reason = bad_local_part(start, (size_t)(at - start));
	if (!*reason)
		*reason = bad_domain(at + 1, (size_t)(end - at - 1));
	return *reason == NULL;
}


/* --- names and flags ------------------------------------------------------------------- */

/* Whether the word (len bytes) is one of words, in any case and without its dots:
 * "Dr." is "dr", "Ph.D." is "phd". */
static int word_in(const char *word, size_t len, const char *const *words)
{
	char bare[16];
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (word[i] != '.') {
			if (n + 1 >= sizeof(bare))
				return 0;
			bare[n++] = word[i];
		}
	bare[n] = '\0';
	for (; *words; words++)
		if (!strcasecmp(bare, *words))
			return 1;
	return 0;
}

static const char *const name_suffixes[] = {
	"jr", "sr", "ii", "iii", "iv", "phd", "md", "mba", "esq", "dds", NULL
};
static const char *const name_titles[] = {
	"mr", "mrs", "ms", "mx", "miss", "dr", "prof", "herr", "frau", "mme", "mlle", NULL
};

static char *dup_or_null(const char *start, size_t len)
{
	char *s = str_trim(xstrndup(start, len));

	if (!*s) {
		free(s);
		return NULL;
	}
	return s;
}

/* "Dana Whitfield, PhD": the comma comes before a suffix, not before a first name. */
static int suffix_follows(const char *comma)
{
	const char *word = comma + 1 + strspn(comma + 1, " \t");

	return word_in(word, strcspn(word, " \t,"), name_suffixes);
}

void name_split(const char *full, char **first, char **last)
{
	char *name = str_trim(xstrdup(full)), *comma = strchr(name, ',');
	const char *p = name;
	size_t word = strcspn(p, " \t");

	*first = *last = NULL;
	if (comma && !suffix_follows(comma)) {                  /* "Whitfield, Dana" */
		*last = dup_or_null(name, (size_t)(comma - name));
		*first = dup_or_null(comma + 1, strlen(comma + 1));
	} else {
		/* "Prof. Dr. Dana Whitfield", but "Dr Who" is somebody's name. */
		const char *rest = p + word + strspn(p + word, " \t");
		while (word_in(p, word, name_titles) && strpbrk(rest, " \t")) {
			p = rest;
			word = strcspn(p, " \t");
			rest = p + word + strspn(p + word, " \t");
		}
		*first = dup_or_null(p, word);
		*last = dup_or_null(p + word, strlen(p + word));
	}
	free(name);
}

static int flag_in(const char *value, const char *const *words)
{
	char buf[16];
	size_t len;

	if (!value)
		return 0;
	while (isspace((unsigned char)*value))
		value++;
	len = strlen(value);
	while (len && isspace((unsigned char)value[len - 1]))
		len--;
	if (!len || len >= sizeof(buf))
		return 0;
	memcpy(buf, value, len);
	buf[len] = '\0';
	for (; *words; words++)
		if (!strcasecmp(buf, *words))
			return 1;
	return 0;
}

int flag_yes(const char *value)
{
	static const char *const yes[] = {
		"yes", "y", "1", "true", "t", "x", "on", "checked", "\u2713", "\u2714", "ja",
		"oui", "si", "s\u00ed", "S\u00cd", NULL
	};
	return flag_in(value, yes);
}

int flag_no(const char *value)
{
	static const char *const no[] = {
		"no", "n", "0", "false", "f", "off", "unchecked", "none", "n/a", "nein", "non",
		"nee", "nej", NULL
	};
	return flag_in(value, no);
}

static int blank(const char *value)
{
	return !value || !value[strspn(value, " \t")];
}

int opt_out_value(const char *value)
{
	/* Dynamics' "Do not allow Emails" says Allow or Do Not Allow. */
	static const char *const out[] = {
		"opted out", "optedout", "opt out", "optout", "opt-out", "unsubscribed",
		"do not email", "do not allow", "do not contact", NULL
	};
	static const char *const in[] = { "opted in", "optedin", "opt-in", "opt in",
		"subscribed", "allow", NULL };

	if (blank(value) || flag_no(value) || flag_in(value, in))
		return 0;
	return flag_yes(value) || flag_in(value, out) ? 1 : -1;
}

int consent_value(const char *value)
{
	static const char *const given[] = {
		"given", "granted", "opted in", "optedin", "opt-in", "opt in", "single opt-in",
		"double opt-in", "subscribed", "agreed",
		"accepted", "erteilt", "zugestimmt", "akzeptiert", "accepté", "acceptée",
		"aceptado", "aceptada", "gegeven", "akkoord", NULL
	};
	static const char *const refused[] = {
		"declined", "refused", "denied", "withdrawn", "not given", "opted out", "optedout",
		"opt-out", "opt out", "not opted in", "unsubscribed", "abgelehnt", "verweigert", "widerrufen", "refusé",
		"refusée", "retiré", "rechazado", "rechazada", "retirado", "geweigerd",
		"ingetrokken", NULL
	};

	if (blank(value) || flag_yes(value) || flag_in(value, given))
		return 1;
	return flag_no(value) || flag_in(value, refused) ? 0 : -1;
}
