/*
 * certa.c - the administration tool: `certa [--state DIR] [--config FILE]
 * COMMAND ...`. A table of subcommands drives dispatch and the usage text
 * (after WireGuard's wg.c); each subcommand lives in its own cmd_*.c file.
 * Exit codes follow sysexits(3) and are listed in docs/errors.md.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli/subcommands.h"
#include "util/log.h"

struct certa_globals certa_globals;

static int help_main(int argc, char **argv);
static int version_main(int argc, char **argv);

static const struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *description;
} subcommands[] = {
	{"user", cmd_user_main, "manage local accounts: add, del, passwd, enable, disable, list"},
	{"group", cmd_group_main, "manage local groups: add, del, addmember, delmember, list"},
	{"ca", cmd_ca_main, "create the CA without serving it (ca init), or show it (ca show)"},
	{"req", cmd_req_main, "request a certificate over MS-ICPR, as certreq -rpc does"},
	{"bench", cmd_bench_main, "load-test a CA: concurrent MS-ICPR enrollments, latency, idle connections"},
	{"diagnose", cmd_diagnose_main, "explain recent refusals in the audit log (logon rights, denied requests) and the fix"},
	{"errors", cmd_errors_main, "explain an error code: certa errors 0x800706ba"},
	{"help", help_main, "show this help, or a command's: certa help user"},
	{"version", version_main, "print certa's version"},
};

#define N_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: certa [--state DIR] [--config FILE] COMMAND [ARGS...]\n\n"
		   "Administers a certa certification authority. Commands:\n");
	for (size_t i = 0; i < N_SUBCOMMANDS; i++) {
		fprintf(f, "  %-9s %s\n", subcommands[i].name, subcommands[i].description);
	}
	fprintf(f, "\n--state DIR    the state folder certad serves (default: $CERTA_STATE, else ./state)\n"
		   "--config FILE  certad's configuration (default: DIR/certad.conf, then /etc/certa/certad.conf)\n"
		   "\"certa COMMAND --help\" describes a command; see also docs/certa.1.md.\n");
}

static const struct subcommand *find(const char *name)
{
	for (size_t i = 0; i < N_SUBCOMMANDS; i++) {
		if (strcmp(subcommands[i].name, name) == 0) {
			return &subcommands[i];
		}
	}
	return NULL;
}

static int help_main(int argc, char **argv)
{
	if (argc > 1) {
		const struct subcommand *sc = find(argv[1]);
		if (!sc || sc->fn == help_main) {
			usage(stdout);
			return sc ? 0 : EX_USAGE;
		}
		static char help_opt[] = "--help";
		char *args[] = {argv[1], help_opt, NULL};
		return sc->fn(2, args);
	}
	usage(stdout);
	return 0;
}

static int version_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("certa %s\n", CERTA_VERSION);
	return 0;
}

/* The global options are read by hand, not with getopt: each subcommand runs
 * getopt_long on its own argv, and glibc's getopt keeps the ordering mode of
 * its first scan unless optind is reset to 0, which cmd_*.c need not know. */
static bool global_option(int argc, char **argv, int *i, const char *name, const char **out)
{
	size_t n = strlen(name);
	const char *arg = argv[*i];
	if (strncmp(arg, name, n) != 0) {
		return false;
	}
	if (arg[n] == '=') {
		*out = arg + n + 1;
		return true;
	}
	if (arg[n] == '\0' && *i + 1 < argc) {
		*out = argv[++*i];
		return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	int i = 1;

	log_set_ident("certa");
	log_set_level(LOG_WARN);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (global_option(argc, argv, &i, "--state", &certa_globals.state) ||
		    global_option(argc, argv, &i, "--config", &certa_globals.config)) {
			continue;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			return version_main(0, NULL);
		}
		fprintf(stderr, "certa: unknown option '%s'\n\n", argv[i]);
		usage(stderr);
		return EX_USAGE;
	}
	if (i >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	const struct subcommand *sc = find(argv[i]);
	if (!sc) {
		fprintf(stderr, "certa: unknown command '%s'\n\n", argv[i]);
		usage(stderr);
		return EX_USAGE;
	}
	return sc->fn(argc - i, argv + i);
}
