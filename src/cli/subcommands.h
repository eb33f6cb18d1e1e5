/*
 * subcommands.h - the `certa` subcommands, one `cmd_<name>_main` per file
 * (cmd_user.c, cmd_ca.c, cmd_req.c, ...), dispatched from the table in
 * certa.c as WireGuard's wg.c does. Each gets argv[0] = its own name and the
 * rest of the command line; global options (--state, --config) come before
 * the subcommand and are left in certa_globals. Adding a subcommand: write
 * cmd_x.c, declare cmd_x_main here, add a row to certa.c and the file to
 * src/cli/meson.build, and document it in docs/certa.1.md.
 */
#ifndef CERTA_CLI_SUBCOMMANDS_H
#define CERTA_CLI_SUBCOMMANDS_H

struct certa_globals {
	const char *state;  /* --state DIR, NULL = cli_state_dir's default */
	const char *config; /* --config FILE, NULL = located as certad does */
};
extern struct certa_globals certa_globals;

int cmd_user_main(int argc, char **argv);
int cmd_group_main(int argc, char **argv);
int cmd_ca_main(int argc, char **argv);
int cmd_req_main(int argc, char **argv);
int cmd_errors_main(int argc, char **argv);
int cmd_bench_main(int argc, char **argv);
int cmd_diagnose_main(int argc, char **argv);

#endif
