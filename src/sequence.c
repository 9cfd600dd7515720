/*
 * sequence.c - see sequence.h. The file is read whole (it is small: over 1 MB is refused),
 * checked for NUL bytes and UTF-8 first (libyaml would give a byte offset, not a line),
 * scanned for anchors and aliases with the event API, then loaded with the document API
 * and walked key by key.
 */
#include "followup/sequence.h"
#include "followup/template.h"
#include "followup/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define MAX_FILE_SIZE (1024 * 1024)

static const char *const channel_names[] = { "email", "call", "linkedin", "task" };
static const char *const outcome_names[] = {
	"replied", "converted", "lost", "unsubscribed", "bounced",
};

const char *channel_name(enum channel c)
{
	return (size_t)c < ARRAY_SIZE(channel_names) ? channel_names[c] : "?";
}

int channel_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(channel_names); i++)
		if (!strcmp(channel_names[i], name))
			return (int)i;
	return -1;
}

/* --- the loader ------------------------------------------------------------------------- */

struct loader {
	const char *file;
	const char *text;       /* the file, NUL-terminated */
	size_t len;
	yaml_document_t *doc;
	struct diag_list *d;
	struct sequence *seq;
	size_t problems;
};

static void problem_at(struct loader *l, int line, int col, const char *fmt, ...)
	FU_PRINTF(4, 5);

static void problem_at(struct loader *l, int line, int col, const char *fmt, ...)
{
	struct strbuf msg = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	diag_add(l->d, l->file, line, col, "%s", msg.buf);
	strbuf_release(&msg);
	l->problems++;
}

#define LINE(n) ((int)(n)->start_mark.line + 1)
#define COL(n) ((int)(n)->start_mark.column + 1)
#define problem(l, n, ...) problem_at((l), LINE(n), COL(n), __VA_ARGS__)

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node(struct loader *l, int id)
{
	return yaml_document_get_node(l->doc, id);
}

/* Levenshtein distance, for "did you mean". */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[32], cur[32];

	if (la >= 31 || lb >= 31)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			cur[j] = del < ins ? (del < sub ? del : sub) : (ins < sub ? ins : sub);
		}
		memcpy(prev, cur, sizeof(prev));
	}
	return prev[lb];
}

static void unknown_key(struct loader *l, const yaml_node_t *k, const char *key,
			const char *const *known, size_t n, const char *where)
{
	const char *best = NULL;
	size_t best_d = 3;

	for (size_t i = 0; i < n; i++) {
		size_t dist = distance(key, known[i]);
		if (dist < best_d) {
			best_d = dist;
			best = known[i];
		}
	}
	if (best)
		problem(l, k, "unknown key '%s' in %s (did you mean '%s'?)", key, where, best);
	else
		problem(l, k, "unknown key '%s' in %s", key, where);
}

/* Checks the mapping's keys: unknown and duplicate ones are reported. Returns the
 * value node of key `want`, or NULL. */
static yaml_node_t *lookup(struct loader *l, const yaml_node_t *map, const char *want)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++)
		if (scalar(node(l, p->key)) && !strcmp(scalar(node(l, p->key)), want))
			return node(l, p->value);
	return NULL;
}

static void check_keys(struct loader *l, const yaml_node_t *map, const char *const *known,
		       size_t n, const char *where)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = node(l, p->key);
		const char *key = scalar(k);
		size_t i;

		if (!key) {
			problem(l, k, "keys in %s must be plain words", where);
			continue;
		}
		for (i = 0; i < n && strcmp(known[i], key); i++)
			;
		if (i == n)
			unknown_key(l, k, key, known, n, where);
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++)
			if (scalar(node(l, q->key)) && !strcmp(scalar(node(l, q->key)), key)) {
				problem(l, k, "duplicate key '%s' in %s", key, where);
				break;
			}
	}
}

static char *get_string(struct loader *l, const yaml_node_t *v, const char *key)
{
	if (!v)
		return NULL;
	if (!scalar(v)) {
		problem(l, v, "'%s' must be text", key);
		return NULL;
	}
	return xstrdup(scalar(v));
}

static int get_bool(struct loader *l, const yaml_node_t *v, const char *key, int dflt)
{
	const char *s = scalar(v);

	if (!v)
		return dflt;
	if (s && (!strcmp(s, "true") || !strcmp(s, "yes")))
		return 1;
	if (s && (!strcmp(s, "false") || !strcmp(s, "no")))
		return 0;
	problem(l, v, "'%s' must be true or false", key);
	return dflt;
}

static int get_duration(struct loader *l, const yaml_node_t *v, const char *key,
			struct duration *out)
{
	const char *s = scalar(v);

	if (s && duration_parse(s, out) == 0)
		return 0;
	if (s && s[0] == '-')
		problem(l, v, "'%s: %s': an offset cannot be negative", key, s);
	else
		problem(l, v, "'%s: %s' is not a duration (a number and m, h, d or w: 30m, 24h, 3d, 2w)",
			key, s ? s : "(not text)");
	return -1;
}

/* --- templates, with their own positions --------------------------------------------------- */

struct template_site {
	struct loader *l;
	const yaml_node_t *n;
	const char *value;
};

/* The byte of the file at a libyaml mark, which counts lines and characters. */
static size_t mark_offset(const struct loader *l, yaml_mark_t mark)
{
	size_t i = 0;

	for (size_t line = 0; line < mark.line && i < l->len; i++)
		if (l->text[i] == '\n')
			line++;
	for (size_t col = 0; i < l->len && l->text[i] != '\n'; i++) {
		if (((unsigned char)l->text[i] & 0xC0) == 0x80)
			continue;       /* a continuation byte is the same character */
		if (col++ == mark.column)
			break;
	}
	return i;
}

/* The k-th "{{" of s (1-based), or NULL; each is counted where it opens, two at a time. */
static const char *nth_open(const char *s, size_t k)
{
	const char *p = s;

	if (!k)
		return NULL;
	while ((p = strstr(p, "{{")) && --k)
		p += 2;
	return k ? NULL : p;
}

/* How many "{{" of s open at or before offset. */
static size_t opens_through(const char *s, size_t offset)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, "{{")) && (size_t)(p - s) <= offset; p += 2)
		n++;
	return n;
}

/* Where a template problem is. Whatever the scalar's style did to the text around it
 * (folded lines, quotes, escapes), each "{{" of the value stands in the file as it is:
 * the problem at the value's k-th "{{" is at the k-th "{{" of the scalar's source. */
static void template_problem(void *ctx, size_t offset, const char *message)
{
	struct template_site *t = ctx;
	const yaml_node_t *n = t->n;
	size_t start = mark_offset(t->l, n->start_mark), end = mark_offset(t->l, n->end_mark);
	char *source = xstrndup(t->l->text + start, end > start ? end - start : 0);
	const char *open = nth_open(source, opens_through(t->value, offset));
	int line = LINE(n), col = COL(n);

	if (open)
		text_position(t->l->text, t->l->len, start + (size_t)(open - source), &line, &col);
	free(source);
	problem_at(t->l, line, col, "%s", message);
}

static struct template *get_template(struct loader *l, const yaml_node_t *v, const char *key)
{
	char *s = get_string(l, v, key);
	struct template_site site = { l, v, s };
	struct template *t;

	if (!s)
		return NULL;
	template_check(s, template_problem, &site);
	t = template_compile(s);
	free(s);
	return t;
}

/* --- steps -------------------------------------------------------------------------------- */

static const char *const step_keys[] = {
	"id", "after", "channel", "subject", "body", "task", "thread", "expire",
};

/* Offsets compared in the time they stand for: with business days a week is 5 days. */
static long offset_seconds(struct duration d, int business_days)
{
	if (d.unit == 'w')
		return d.amount * (business_days ? 5 : 7) * 86400;
	return duration_seconds(d);
}

static int is_blank(const char *s)
{
	return s[strspn(s, " \t\r\n")] == '\0';
}

/* The id names the step in touches and on the command line: it must be there and say
 * something. */
static void read_step_id(struct loader *l, const yaml_node_t *n, struct step *step)
{
	const yaml_node_t *v = lookup(l, n, "id");

	step->id = get_string(l, v, "id");
	if (!step->id)
		problem(l, n, "step without an 'id'");
	else if (is_blank(step->id))
		problem(l, v, "a step id cannot be empty");
}

static void read_step(struct loader *l, const yaml_node_t *n, struct step *step,
		      const struct step *prev, int email_before)
{
	const yaml_node_t *v;
	int channel;

	step->line = LINE(n);
	if (n->type != YAML_MAPPING_NODE) {
		problem(l, n, "a step must be a mapping (id, after, channel, ...)");
		return;
	}
	check_keys(l, n, step_keys, ARRAY_SIZE(step_keys), "a step");
	read_step_id(l, n, step);
	if (!(v = lookup(l, n, "after")))
		problem(l, n, "step '%s' has no 'after' (e.g. after: 3d)", step->id ? step->id : "?");
	else if (get_duration(l, v, "after", &step->after) == 0 && prev &&
		 offset_seconds(step->after, l->seq->business_days) <
		 offset_seconds(prev->after, l->seq->business_days))
		problem(l, v, "step '%s' comes before step '%s' (offsets count from the contact"
			" time and must not go backwards)", step->id ? step->id : "?",
			prev->id ? prev->id : "?");
	v = lookup(l, n, "channel");
	channel = scalar(v) ? channel_from_name(scalar(v)) : -1;
	if (!v)
		problem(l, n, "step '%s' has no 'channel' (email, call, linkedin or task)",
			step->id ? step->id : "?");
	else if (channel < 0)
		problem(l, v, "unknown channel '%s' (email, call, linkedin or task)",
			scalar(v) ? scalar(v) : "?");
	step->channel = channel < 0 ? CHANNEL_TASK : (enum channel)channel;
	step->subject = get_template(l, lookup(l, n, "subject"), "subject");
	step->body = get_template(l, lookup(l, n, "body"), "body");
	step->task = get_template(l, lookup(l, n, "task"), "task");
	step->thread = get_bool(l, lookup(l, n, "thread"), "thread", 0);
	if ((v = lookup(l, n, "expire"))) {
		step->has_expire = get_duration(l, v, "expire", &step->expire) == 0;
	}
	if (channel == CHANNEL_EMAIL) {
		if (!step->subject && !(step->thread && email_before))
			problem(l, n, "email step '%s' needs a 'subject' (or 'thread: true' after an"
				" earlier email)", step->id ? step->id : "?");
		if (!step->body)
			problem(l, n, "email step '%s' has no 'body'", step->id ? step->id : "?");
	} else if (channel >= 0 && !step->task) {
		problem(l, n, "%s step '%s' needs a 'task' text", channel_name((enum channel)channel),
			step->id ? step->id : "?");
	}
}

static void read_steps(struct loader *l, const yaml_node_t *v, const yaml_node_t *root)
{
	struct sequence *seq = l->seq;
	int email_before = 0;

	if (!v) {
		problem(l, root, "no 'steps': a sequence needs at least one step");
		return;
	}
	if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.start == v->data.sequence.items.top) {
		problem(l, v, "'steps' must be a list of at least one step");
		return;
	}
	seq->nsteps = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	seq->steps = xcalloc(seq->nsteps, sizeof(*seq->steps));
	for (size_t i = 0; i < seq->nsteps; i++) {
		const yaml_node_t *n = node(l, v->data.sequence.items.start[i]);
		struct step *step = &seq->steps[i];
		read_step(l, n, step, i ? &seq->steps[i - 1] : NULL, email_before);
		email_before |= step->channel == CHANNEL_EMAIL && n->type == YAML_MAPPING_NODE;
		for (size_t j = 0; j < i && step->id; j++)
			if (seq->steps[j].id && !strcmp(seq->steps[j].id, step->id)) {
				problem(l, n, "duplicate step id '%s' (also on line %d)", step->id,
					seq->steps[j].line);
				break;
			}
	}
}

/* --- the top level ---------------------------------------------------------------------------- */

static const char *const top_keys[] = {
	"name", "description", "timezone", "window", "business_days", "min_gap", "stop_on",
	"reactivate", "steps",
};

int sequence_stops_on(const struct sequence *seq, const char *outcome)
{
	for (size_t k = 0; k < ARRAY_SIZE(outcome_names); k++)
		if (!strcmp(outcome, outcome_names[k]))
			return (seq->stop_on >> k) & 1;
	return 0;
}

static void read_stop_on(struct loader *l, const yaml_node_t *v)
{
	if (!v)
		return;
	if (v->type != YAML_SEQUENCE_NODE) {
		problem(l, v, "'stop_on' must be a list (e.g. [replied, converted, lost])");
		return;
	}
	l->seq->stop_on = 0;
	for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
		const yaml_node_t *n = node(l, *i);
		size_t k;
		for (k = 0; k < ARRAY_SIZE(outcome_names); k++)
			if (scalar(n) && !strcmp(scalar(n), outcome_names[k]))
				break;
		if (k == ARRAY_SIZE(outcome_names))
			problem(l, n, "unknown outcome '%s' in stop_on (replied, converted, lost,"
				" unsubscribed, bounced)", scalar(n) ? scalar(n) : "?");
		else
			l->seq->stop_on |= 1u << k;
	}
}

static void read_reactivate(struct loader *l, const yaml_node_t *v)
{
	static const char *const keys[] = { "after", "sequence" };
	const yaml_node_t *after, *name;

	if (!v)
		return;
	if (v->type != YAML_MAPPING_NODE) {
		problem(l, v, "'reactivate' must be { after: 90d, sequence: NAME }");
		return;
	}
	check_keys(l, v, keys, ARRAY_SIZE(keys), "reactivate");
	after = lookup(l, v, "after");
	name = lookup(l, v, "sequence");
	if (!after || !name) {
		problem(l, v, "'reactivate' needs both 'after' and 'sequence'");
		return;
	}
	if (get_duration(l, after, "after", &l->seq->reactivate_after))
		return;
	l->seq->reactivate_sequence = get_string(l, name, "sequence");
	l->seq->has_reactivate = l->seq->reactivate_sequence != NULL;
	l->seq->reactivate_line = LINE(name);
	l->seq->reactivate_col = COL(name);
}

static char *name_from_path(const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t len = strlen(base);

	if (len > 5 && !strcmp(base + len - 5, ".yaml"))
		len -= 5;
	else if (len > 4 && !strcmp(base + len - 4, ".yml"))
		len -= 4;
	return xstrndup(base, len);
}

static void read_sequence(struct loader *l, const yaml_node_t *root)
{
	struct sequence *seq = l->seq;
	const yaml_node_t *v;

	if (!root || root->type != YAML_MAPPING_NODE) {
		problem_at(l, root ? LINE(root) : 1, root ? COL(root) : 1,
			   "a sequence file is a mapping with 'steps' (and name, window, ...)");
		return;
	}
	check_keys(l, root, top_keys, ARRAY_SIZE(top_keys), "the sequence");
	if ((v = lookup(l, root, "name"))) {
		seq->name = get_string(l, v, "name");
		seq->name_line = LINE(v);
		seq->name_col = COL(v);
		if (seq->name && is_blank(seq->name))
			problem(l, v, "a sequence name cannot be empty (leave 'name' out to use the"
				" file's name)");
	}
	if (!seq->name)
		seq->name = name_from_path(l->file);
	seq->description = get_string(l, lookup(l, root, "description"), "description");
	if ((v = lookup(l, root, "timezone"))) {
		seq->timezone = get_string(l, v, "timezone");
		if (seq->timezone && !zone_valid(seq->timezone)) {
			char *message = zone_unknown_message(seq->timezone);
			problem(l, v, "%s", message);
			free(message);
		}
	}
	if ((v = lookup(l, root, "window")) &&
	    (!scalar(v) || window_parse(scalar(v), &seq->window)))
		problem(l, v, "invalid window '%s' (HH:MM-HH:MM within 00:00-24:00, e.g. 09:00-17:00)",
			scalar(v) ? scalar(v) : "?");
	seq->business_days = get_bool(l, lookup(l, root, "business_days"), "business_days", 1);
	if ((v = lookup(l, root, "min_gap")))
		get_duration(l, v, "min_gap", &seq->min_gap);
	read_stop_on(l, lookup(l, root, "stop_on"));
	read_reactivate(l, lookup(l, root, "reactivate"));
	read_steps(l, lookup(l, root, "steps"), root);
}

/* --- reading the file ---------------------------------------------------------------------------- */

static void hash_text(const char *text, size_t len, char out[17])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)text[i];
		h *= 0x100000001b3ULL;
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static char *read_whole(const char *path, size_t *len, struct diag_list *d)
{
	FILE *f = fopen(path, "rb");
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	size_t n;

	if (!f) {
		diag_add(d, path, 1, 1, "cannot read: %s", strerror(errno));
		return NULL;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		strbuf_add(&sb, buf, n);
		if (sb.len > MAX_FILE_SIZE)
			break;
	}
	if (ferror(f)) {                /* a directory opens, and fails here */
		diag_add(d, path, 1, 1, "cannot read: %s", strerror(errno));
		fclose(f);
		strbuf_release(&sb);
		return NULL;
	}
	fclose(f);
	if (sb.len > MAX_FILE_SIZE) {
		diag_add(d, path, 1, 1, "over 1 MB: not a sequence file");
		strbuf_release(&sb);
		return NULL;
	}
	*len = sb.len;
	return strbuf_detach(&sb);
}

/* NUL bytes and invalid UTF-8, found before libyaml, with a line and column. */
static int check_bytes(struct loader *l)
{
	const char *nul = memchr(l->text, '\0', l->len);
	int line, col;

	if (nul) {
		text_position(l->text, l->len, (size_t)(nul - l->text), &line, &col);
		problem_at(l, line, col, "binary data (a NUL byte): not a sequence file");
		return -1;
	}
	size_t valid = utf8_valid_prefix(l->text, l->len);
	if (valid < l->len) {
		text_position(l->text, l->len, valid, &line, &col);
		problem_at(l, line, col, "invalid UTF-8 (byte %zu): save the file as UTF-8", valid);
		return -1;
	}
	return 0;
}

/* libyaml reports running out of memory as a parse error, and a parser it could not
 * initialize answers every parse with an empty event, for ever: neither is the file's
 * fault, and the second would loop in check_events(). */
static void start_parser(yaml_parser_t *parser, const char *text, size_t len)
{
	if (!yaml_parser_initialize(parser))
		die_out_of_memory();
	yaml_parser_set_input_string(parser, (const unsigned char *)text, len);
}

static void check_memory(const yaml_parser_t *parser)
{
	if (parser->error == YAML_MEMORY_ERROR)
		die_out_of_memory();
}

/* Anchors and aliases make a file hard to read and edit: refused. So is a second
 * document: the loader would read the first and silently drop the rest. */
static int check_events(struct loader *l)
{
	yaml_parser_t parser;
	yaml_event_t event;
	int ret = 0, done = 0, documents = 0;

	start_parser(&parser, l->text, l->len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &event)) {
			check_memory(&parser);
			const char *what = parser.problem ? parser.problem : "invalid YAML";
			int line = (int)parser.problem_mark.line + 1, col = (int)parser.problem_mark.column + 1;
			size_t at = parser.problem_mark.index;
			if (at < l->len && l->text[at] == '\t')
				problem_at(l, line, col, "a tab character: YAML indents with spaces only");
			else
				problem_at(l, line, col, "YAML syntax: %s%s%s", what,
					   parser.context ? " " : "", parser.context ? parser.context : "");
			ret = -1;
			break;
		}
		const unsigned char *anchor = NULL;
		if (event.type == YAML_ALIAS_EVENT)
			anchor = event.data.alias.anchor;
		else if (event.type == YAML_SCALAR_EVENT)
			anchor = event.data.scalar.anchor;
		else if (event.type == YAML_MAPPING_START_EVENT)
			anchor = event.data.mapping_start.anchor;
		else if (event.type == YAML_SEQUENCE_START_EVENT)
			anchor = event.data.sequence_start.anchor;
		if (anchor) {
			problem_at(l, (int)event.start_mark.line + 1, (int)event.start_mark.column + 1,
				   "YAML anchors and aliases (&%s, *%s) are not allowed: write it out",
				   anchor, anchor);
			ret = -1;
		}
		if (event.type == YAML_DOCUMENT_START_EVENT && ++documents == 2) {
			problem_at(l, (int)event.start_mark.line + 1, (int)event.start_mark.column + 1,
				   "more than one YAML document");
			ret = -1;
		}
		done = event.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&event);
	}
	yaml_parser_delete(&parser);
	return ret;
}

static void set_defaults(struct sequence *seq)
{
	window_parse("09:00-17:00", &seq->window);
	seq->business_days = 1;
	seq->name_line = 1;
	seq->name_col = 1;
	duration_parse("1d", &seq->min_gap);
	seq->stop_on = OUTCOME_REPLIED | OUTCOME_CONVERTED | OUTCOME_LOST | OUTCOME_UNSUBSCRIBED |
		       OUTCOME_BOUNCED;
}

/* Loads a sequence from text (freed here). With problems it returns -1 and hands the
 * half-read sequence to *failed when asked (for its name and reactivation), else frees it. */
static int load_text(const char *path, char *text, size_t len, struct sequence **out,
		     struct diag_list *d, struct sequence **failed)
{
	struct loader l = { path, text, len, NULL, d, NULL, 0 };
	yaml_parser_t parser;
	yaml_document_t doc;

	*out = NULL;
	l.seq = xcalloc(1, sizeof(*l.seq));
	set_defaults(l.seq);
	l.seq->path = xstrdup(path);
	hash_text(text, l.len, l.seq->hash);
	if (check_bytes(&l) == 0 && check_events(&l) == 0) {
		start_parser(&parser, text, l.len);
		if (yaml_parser_load(&parser, &doc)) {
			l.doc = &doc;
			read_sequence(&l, yaml_document_get_root_node(&doc));
			yaml_document_delete(&doc);
		} else {
			check_memory(&parser);
			problem_at(&l, (int)parser.problem_mark.line + 1,
				   (int)parser.problem_mark.column + 1, "YAML syntax: %s",
				   parser.problem ? parser.problem : "invalid YAML");
		}
		yaml_parser_delete(&parser);
	}
	free(text);
	if (l.problems) {
		if (failed)
			*failed = l.seq;
		else
			sequence_free(l.seq);
		return -1;
	}
	*out = l.seq;
	return 0;
}

int sequence_load_file(const char *path, struct sequence **out, struct diag_list *d)
{
	size_t len;
	char *text;

	*out = NULL;
	if (!(text = read_whole(path, &len, d)))
		return -1;
	return load_text(path, text, len, out, d, NULL);
}

void sequence_free(struct sequence *seq)
{
	if (!seq)
		return;
	for (size_t i = 0; i < seq->nsteps; i++) {
		free(seq->steps[i].id);
		template_free(seq->steps[i].subject);
		template_free(seq->steps[i].body);
		template_free(seq->steps[i].task);
	}
	free(seq->steps);
	free(seq->name);
	free(seq->path);
	free(seq->description);
	free(seq->timezone);
	free(seq->reactivate_sequence);
	free(seq);
}

const struct step *sequence_find_step(const struct sequence *seq, const char *id)
{
	for (size_t i = 0; i < seq->nsteps; i++)
		if (!strcmp(seq->steps[i].id, id))
			return &seq->steps[i];
	return NULL;
}

/* --- sets ------------------------------------------------------------------------------------- */

struct sequence_set {
	struct sequence **valid;
	size_t nvalid;
	struct sequence **failed;       /* the half-read sequences of invalid files */
	size_t nfailed;
	char **invalid;         /* the names of files that failed the check, and their name: */
	size_t ninvalid;
	size_t invalid_files;   /* a file may leave two names invalid: its own and its name: */
	size_t nunreadable;     /* of those, the files that could not be read */
};

static void add_invalid(struct sequence_set *set, const char *name)
{
	set->invalid = xrealloc(set->invalid, (set->ninvalid + 1) * sizeof(*set->invalid));
	set->invalid[set->ninvalid++] = xstrdup(name);
}

static void remove_valid(struct sequence_set *set, size_t i)
{
	add_invalid(set, set->valid[i]->name);
	set->invalid_files++;
	sequence_free(set->valid[i]);
	memmove(set->valid + i, set->valid + i + 1, (set->nvalid - i - 1) * sizeof(*set->valid));
	set->nvalid--;
}

static void add_invalid_path(struct sequence_set *set, const char *path)
{
	char *name = name_from_path(path);

	add_invalid(set, name);
	set->invalid_files++;
	free(name);
}

/* Returns -1 when the file cannot be read: the caller's work failed, the file is not
 * merely invalid. */
static int add_file(struct sequence_set *set, const char *path, struct diag_list *d)
{
	struct sequence *seq, *failed = NULL;
	size_t len;
	char *text = read_whole(path, &len, d);

	if (!text) {
		add_invalid_path(set, path);
		set->nunreadable++;
		return -1;
	}
	if (load_text(path, text, len, &seq, d, &failed)) {
		add_invalid_path(set, path);
		if (failed->name)
			add_invalid(set, failed->name);
		set->failed = xrealloc(set->failed, (set->nfailed + 1) * sizeof(*set->failed));
		set->failed[set->nfailed++] = failed;
		return 0;
	}
	set->valid = xrealloc(set->valid, (set->nvalid + 1) * sizeof(*set->valid));
	set->valid[set->nvalid++] = seq;
	return 0;
}

/* Two files of one name: which one is meant cannot be known, so each is reported (naming
 * the other) and neither is used. */
static void drop_duplicate_names(struct sequence_set *set, struct diag_list *d)
{
	size_t n = set->nvalid;
	char *duplicated = xcalloc(n ? n : 1, 1);

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			const struct sequence *seq = set->valid[i], *other = set->valid[j];
			if (i == j || strcmp(seq->name, other->name))
				continue;
			diag_add(d, seq->path, seq->name_line, seq->name_col,
				 "sequence '%s' is also defined in %s", seq->name, other->path);
			duplicated[i] = 1;
		}
	for (size_t i = n; i-- > 0;)    /* from the end: removal moves the later ones */
		if (duplicated[i])
			remove_valid(set, i);
	free(duplicated);
}

/* Whether seq's reactivation names a sequence that is not there to use; if so, says so. */
static int reactivation_missing(const struct sequence_set *set, const struct sequence_set *also,
				const struct sequence *seq, struct diag_list *d)
{
	if (!seq->has_reactivate || sequence_set_find(set, seq->reactivate_sequence) ||
	    (also && sequence_set_find(also, seq->reactivate_sequence)))
		return 0;
	diag_add(d, seq->path, seq->reactivate_line, seq->reactivate_col,
		 "reactivation names sequence '%s', which %s", seq->reactivate_sequence,
		 sequence_set_status(set, seq->reactivate_sequence) == SEQUENCE_INVALID ?
		 "is invalid" : "does not exist");
	return 1;
}

/* A reactivation must name a valid sequence; until it does, the file is not used. The
 * invalid files are checked too, so that a check lists every problem at once. */
static void check_reactivations(struct sequence_set *set, const struct sequence_set *also,
				struct diag_list *d)
{
	for (size_t i = 0; i < set->nvalid;) {
		if (reactivation_missing(set, also, set->valid[i], d)) {
			remove_valid(set, i);
			i = 0;          /* a removal may break another's target */
			continue;
		}
		i++;
	}
	for (size_t i = 0; i < set->nfailed; i++)
		reactivation_missing(set, also, set->failed[i], d);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int sequence_set_load_dir(const char *dir, struct sequence_set **out, struct diag_list *d)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	char **paths = NULL;
	size_t n = 0;

	*out = NULL;
	if (!dp && errno != ENOENT) {
		diag_add(d, dir, 1, 1, "cannot read the sequences directory: %s", strerror(errno));
		return -1;
	}
	while (dp && (e = readdir(dp))) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || !((len > 5 && !strcmp(e->d_name + len - 5, ".yaml")) ||
					     (len > 4 && !strcmp(e->d_name + len - 4, ".yml"))))
			continue;
		paths = xrealloc(paths, (n + 1) * sizeof(*paths));
		paths[n++] = xasprintf("%s/%s", dir, e->d_name);
	}
	if (dp)
		closedir(dp);
	if (n > 1)              /* qsort must not be given NULL, even for nothing */
		qsort(paths, n, sizeof(*paths), by_name);
	/* An unreadable file in it is kept out like an invalid one, not a failure of the
	 * whole: sequence_set_unreadable_count() tells a check about it. */
	sequence_set_load_files((const char *const *)paths, n, NULL, out, d);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return 0;
}

int sequence_set_load_files(const char *const *paths, size_t n, const struct sequence_set *also,
			    struct sequence_set **out, struct diag_list *d)
{
	struct sequence_set *set = xcalloc(1, sizeof(*set));
	int ret = 0;

	for (size_t i = 0; i < n; i++)
		if (add_file(set, paths[i], d))
			ret = -1;
	drop_duplicate_names(set, d);
	check_reactivations(set, also, d);
	*out = set;
	return ret;
}

void sequence_set_free(struct sequence_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->nvalid; i++)
		sequence_free(set->valid[i]);
	for (size_t i = 0; i < set->nfailed; i++)
		sequence_free(set->failed[i]);
	for (size_t i = 0; i < set->ninvalid; i++)
		free(set->invalid[i]);
	free(set->valid);
	free(set->failed);
	free(set->invalid);
	free(set);
}

const struct sequence *sequence_set_find(const struct sequence_set *set, const char *name)
{
	for (size_t i = 0; set && name && i < set->nvalid; i++)
		if (!strcmp(set->valid[i]->name, name))
			return set->valid[i];
	return NULL;
}

int sequence_set_status(const struct sequence_set *set, const char *name)
{
	if (sequence_set_find(set, name))
		return SEQUENCE_VALID;
	for (size_t i = 0; set && i < set->ninvalid; i++)
		if (!strcmp(set->invalid[i], name))
			return SEQUENCE_INVALID;
	return SEQUENCE_UNKNOWN;
}

size_t sequence_set_count(const struct sequence_set *set)
{
	return set ? set->nvalid : 0;
}

const struct sequence *sequence_set_at(const struct sequence_set *set, size_t i)
{
	return set->valid[i];
}

size_t sequence_set_invalid_count(const struct sequence_set *set)
{
	return set ? set->invalid_files : 0;
}

size_t sequence_set_unreadable_count(const struct sequence_set *set)
{
	return set ? set->nunreadable : 0;
}
