/*
 * cmd_init.c - `followup init`: config, store and schema, idempotently.
 */
#include "followup/cli.h"
#include "followup/timeutil.h"
#include "followup/util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
	"usage: followup init\n\n"
	"Creates the config (if absent), the store and its schema, and prints where they\n"
	"are. The starter config writes messages into a Maildir outbox, so the whole flow\n"
	"runs before any SMTP server is set up. Running it again changes nothing.\n\n"
	"example: followup init && followup import booth.csv --event 'SaaStr 2026'\n";

/* The data directory: where the store lives by default, and the starter outbox. The
 * store path is absolute (see cli_store_path). */
static char *data_dir(const char *store_path)
{
	const char *slash = strrchr(store_path, '/');

	if (!slash)
		return xstrdup(".");    /* not reached: the path is absolute */
	return xstrndup(store_path, (size_t)(slash - store_path + (slash == store_path)));
}

/* The zone in /etc/timezone (Debian), or NULL. Caller frees. */
static char *zone_from_etc_timezone(void)
{
	char line[256];
	FILE *f = fopen("/etc/timezone", "r");
	char *zone = NULL;

	if (!f)
		return NULL;
	if (fgets(line, sizeof(line), f) && zone_valid(str_trim(line)))
		zone = xstrdup(line);
	fclose(f);
	return zone;
}

/* The zone /etc/localtime links to (.../zoneinfo/Europe/Berlin), or NULL. Caller frees. */
static char *zone_from_etc_localtime(void)
{
	char target[PATH_MAX];
	ssize_t len = readlink("/etc/localtime", target, sizeof(target) - 1);
	const char *name;

	if (len <= 0)
		return NULL;
	target[len] = '\0';
	name = strstr(target, "zoneinfo/");
	if (!name || !zone_valid(name + strlen("zoneinfo/")))
		return NULL;
	return xstrdup(name + strlen("zoneinfo/"));
}

/* The zone the starter config names: TZ's (":Europe/Berlin" too); a TZ that is no zone
 * name (CET-1CEST) would be refused by the loader, so then the system's; else UTC. */
static char *starter_zone(const struct cli *cli)
{
	const char *tz = cli_tz_zone(cli), *rule = cli->tz;
	char *zone;

	if (tz)
		return xstrdup(tz);
	if (!(zone = zone_from_etc_timezone()) && !(zone = zone_from_etc_localtime()))
		zone = xstrdup("UTC");
	if (!str_empty(rule))
		warning("TZ '%s' is not a zone name: the new config says 'timezone: %s'"
			" (edit it to change that)", rule, zone);
	return zone;
}

static int write_starter(struct cli *cli, const char *store_path)
{
	char *dir = data_dir(store_path), *outbox = xasprintf("%s/outbox", dir);
	char *zone = starter_zone(cli), *err = NULL;
	/* with --db, the store is the command line's to name, not the config's */
	struct config_starter starter = { zone, outbox, cli->db_opt ? NULL : store_path };
	int status = FU_OK;

	if (config_write_starter(cli->config_path, &starter, &err)) {
		error("%s", err);
		status = FU_FAIL;
	}
	free(err);
	free(zone);
	free(outbox);
	free(dir);
	return status;
}

int cmd_init(int argc, char **argv, struct cli *cli)
{
	char *store_path = NULL;
	int status, created_config = 0;

	if (argc > 1) {
		if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
			fputs(usage, stdout);
			return FU_OK;
		}
		return misplaced_global_option("init", argv[1]) ? FU_USAGE :
		       usage_error("init", "unexpected argument '%s'", argv[1]);
	}
	if ((status = cli_config(cli)))
		return status;
	if (!(store_path = cli_store_path(cli)))
		return FU_USAGE;
	if (!cli->config.exists) {
		if ((status = write_starter(cli, store_path)))
			goto out;
		created_config = 1;
		config_release(&cli->config);
		cli->config_loaded = 0;
		if ((status = cli_config(cli)))
			goto out;
	}
	if ((status = cli_store(cli, STORE_CREATE)))
		goto out;
	if (!cli->quiet) {
		printf("config:    %s%s\n", cli->config_path, created_config ? " (created)" : "");
		printf("store:     %s\n", store_path);
		printf("transport: %s\n", str_empty(cli->config.smtp.url) ? "(none set)" :
		       cli->config.smtp.url);
	}
out:
	free(store_path);
	return status;
}
