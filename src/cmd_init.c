/*
 * cmd_init.c - `followup init`: config, store and schema, idempotently.
 */
#include "followup/cli.h"
#include "followup/util.h"

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

/* The data directory: where the store lives by default, and the starter outbox. */
static char *data_dir(const char *store_path)
{
	const char *slash = strrchr(store_path, '/');

	if (!slash)
		return xstrdup(".");
	return xstrndup(store_path, (size_t)(slash - store_path));
}

int cmd_init(int argc, char **argv, struct cli *cli)
{
	char *store_path = NULL, *dir = NULL, *outbox = NULL, *err = NULL;
	int status, created_config = 0;

	if (argc > 1) {
		if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
			fputs(usage, stdout);
			return FU_OK;
		}
		return usage_error("init", "unexpected argument '%s'", argv[1]);
	}
	if ((status = cli_config(cli)))
		return status;
	store_path = cli_store_path(cli);
	if (!cli->config.exists) {
		dir = data_dir(store_path);
		outbox = xasprintf("%s/outbox", dir);
		if (config_write_starter(cli->config_path, outbox, cli->db_opt ? NULL : store_path,
					 &err)) {
			error("%s", err);
			status = FU_FAIL;
			goto out;
		}
		created_config = 1;
		config_release(&cli->config);
		cli->config_loaded = 0;
		if ((status = cli_config(cli)))
			goto out;
	}
	if ((status = cli_store(cli, 1)))
		goto out;
	if (!cli->quiet) {
		printf("config:    %s%s\n", cli->config_path, created_config ? " (created)" : "");
		printf("store:     %s\n", store_path);
		printf("transport: %s\n", str_empty(cli->config.smtp.url) ? "(none set)" :
		       cli->config.smtp.url);
	}
out:
	free(err);
	free(outbox);
	free(dir);
	free(store_path);
	return status;
}
