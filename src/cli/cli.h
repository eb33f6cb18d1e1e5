/*
 * cli.h - what certad and the certa subcommands share: finding the state
 * folder and the configuration file, paths inside the state folder, reading
 * passwords without echo, and the mapping from cerr_t to sysexits(3) exit
 * codes documented in docs/errors.md.
 */
#ifndef CERTA_CLI_CLI_H
#define CERTA_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "ca/ca.h"
#include "cli/config.h"
#include "events/events.h"
#include "util/err.h"

/* The state folder when neither --state nor $CERTA_STATE names one: "state"
 * in the current directory, which is where `make run` keeps it. */
#define CLI_DEFAULT_STATE "state"
/* Files inside the state folder (docs/certad.8.md, FILES). */
#define CLI_ACCOUNTS_FILE "accounts"
#define CLI_CONFIG_FILE "certad.conf"

#define CLI_PASSWORD_MAX 512

typedef struct cli_env {
	const char *prog;   /* "certad", "certa user add": prefixes messages */
	char *state;        /* the state folder, as given */
	char *config_path;  /* the file read; NULL = built-in defaults */
	config_t cfg;
} cli_env_t;

/* cli_state_dir is state if given, else $CERTA_STATE, else CLI_DEFAULT_STATE. */
const char *cli_state_dir(const char *state);

/* cli_env_load finds and reads the configuration (config_locate) for the
 * state folder, printing every problem to stderr as "prog: file:line: ...".
 * Does not create or touch the state folder. Returns 0, or the exit code:
 * EX_CONFIG for a bad file, EX_NOINPUT when an explicit --config is missing,
 * EX_OSERR when memory runs out. Release with cli_env_cleanup. */
int cli_env_load(cli_env_t *env, const char *prog, const char *state, const char *config_path);
void cli_env_cleanup(cli_env_t *env);

/* cli_make_state creates the state folder (mode 0700) if missing. Returns 0 or
 * EX_CANTCREAT with the reason printed. */
int cli_make_state(const cli_env_t *env);

/* cli_path resolves rel against the state folder (absolute paths unchanged).
 * malloc'd; NULL on allocation failure. */
char *cli_path(const cli_env_t *env, const char *rel);

/* cli_read_line reads one line from fd into out without its end-of-line, a
 * byte at a time (so a second call on stdin sees the next line). False at EOF
 * before any byte, or when the line does not fit in n - 1 bytes (out wiped). */
bool cli_read_line(int fd, char *out, size_t n);
/* cli_prompt_password writes prompt to /dev/tty and reads a line with echo off;
 * false without a terminal or without input. */
bool cli_prompt_password(const char *prompt, char *out, size_t n);
/* cli_read_password reads one password: with from_stdin, one line of stdin;
 * otherwise from /dev/tty without echo, twice when confirm is set. Empty
 * passwords are refused. Returns 0 or an exit code (message printed). */
int cli_read_password(const char *prog, const char *prompt, bool from_stdin, bool confirm, char *out,
		      size_t out_len);

/* cli_ca_config fills *out for ca_init / ca_open from the [ca] settings: the
 * state folder, name, key, templates, URLs, edit flags, dns_domain and the
 * audit log (events may be NULL). *templates_dir receives the resolved
 * templates folder, which *out points into: free it after the CA call.
 * Returns 0 or EX_OSERR. */
int cli_ca_config(const cli_env_t *env, events_t *events, ca_config_t *out, char **templates_dir);

/* cli_exit_code maps an error to a sysexits(3) code (docs/errors.md). */
int cli_exit_code(cerr_t e);

/* cli_wipe clears a secret so the compiler cannot drop the write. */
void cli_wipe(void *p, size_t n);

#endif
