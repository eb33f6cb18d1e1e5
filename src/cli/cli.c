/*
 * cli.c - helpers shared by certad and certa (see cli.h): configuration and
 * state-folder lookup, password prompts, exit codes.
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

const char *cli_state_dir(const char *state)
{
	if (state && *state) {
		return state;
	}
	const char *env = getenv("CERTA_STATE");
	if (env && *env) {
		return env;
	}
	return CLI_DEFAULT_STATE;
}

int cli_env_load(cli_env_t *env, const char *prog, const char *state, const char *config_path)
{
	char err[8192];
	cerr_t e;

	memset(env, 0, sizeof(*env));
	env->prog = prog;
	env->state = strdup(cli_state_dir(state));
	if (!env->state) {
		return EX_OSERR;
	}
	env->config_path = config_locate(config_path, env->state);
	if (!env->config_path) {
		e = config_defaults(&env->cfg);
		return e == CERR_OK ? 0 : EX_OSERR;
	}
	e = config_load(&env->cfg, env->config_path, err, sizeof(err));
	switch (e) {
	case CERR_OK:
		return 0;
	case CERR_CONFIG: {
		/* one line per problem, each already "file:line: what (fix)" */
		char *save = NULL;
		for (char *line = strtok_r(err, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			fprintf(stderr, "%s: %s\n", prog, line);
		}
		fprintf(stderr, "%s: fix %s and start again (see docs/certad.conf.5.md)\n", prog,
			env->config_path);
		return EX_CONFIG;
	}
	case CERR_IO:
	case CERR_LIMIT:
		fprintf(stderr, "%s: %s\n", prog, err);
		return config_path ? EX_NOINPUT : EX_CONFIG;
	default:
		fprintf(stderr, "%s: reading %s: %s\n", prog, env->config_path, cerr_msg(e));
		return EX_OSERR;
	}
}

void cli_env_cleanup(cli_env_t *env)
{
	if (!env) {
		return;
	}
	config_cleanup(&env->cfg);
	free(env->state);
	free(env->config_path);
	memset(env, 0, sizeof(*env));
}

int cli_make_state(const cli_env_t *env)
{
	struct stat st;

	if (stat(env->state, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			fprintf(stderr, "%s: state folder %s exists and is not a folder\n", env->prog, env->state);
			return EX_CANTCREAT;
		}
		return 0;
	}
	if (mkdir(env->state, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "%s: cannot create the state folder %s: %s\n", env->prog, env->state,
			strerror(errno));
		return EX_CANTCREAT;
	}
	return 0;
}

char *cli_path(const cli_env_t *env, const char *rel)
{
	char *out = NULL;
	if (rel[0] == '/') {
		return strdup(rel);
	}
	if (asprintf(&out, "%s/%s", env->state, rel) < 0) {
		return NULL;
	}
	return out;
}

static ca_key_alg_t key_alg(config_key_alg_t k)
{
	switch (k) {
	case CONFIG_KEY_RSA3072:
		return CA_KEY_RSA_3072;
	case CONFIG_KEY_RSA4096:
		return CA_KEY_RSA_4096;
	case CONFIG_KEY_P256:
		return CA_KEY_EC_P256;
	case CONFIG_KEY_P384:
		return CA_KEY_EC_P384;
	case CONFIG_KEY_RSA2048:
	default:
		return CA_KEY_RSA_2048;
	}
}

int cli_ca_config(const cli_env_t *env, events_t *events, ca_config_t *out, char **templates_dir)
{
	const config_t *cfg = &env->cfg;

	memset(out, 0, sizeof(*out));
	*templates_dir = cli_path(env, cfg->templates_dir);
	if (!*templates_dir) {
		return EX_OSERR;
	}
	out->state_dir = env->state;
	out->ca_name = cfg->ca_name;
	out->key_alg = key_alg(cfg->ca_key);
	out->validity_years = cfg->validity_years;
	out->templates = cfg->n_templates ? (const char *const *)cfg->templates : NULL;
	out->num_templates = cfg->n_templates;
	out->templates_dir = *templates_dir;
	out->aia_url = cfg->aia_url;
	out->cdp_url = cfg->cdp_url;
	out->edit_flags = config_edit_flags(cfg);
	out->dns_domain = *cfg->dns_domain ? cfg->dns_domain : NULL;
	out->events = events;
	return 0;
}

void cli_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

bool cli_read_line(int fd, char *out, size_t n)
{
	size_t len = 0;
	for (;;) {
		char ch;
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			break;
		}
		if (ch == '\n') {
			out[len] = '\0';
			if (len > 0 && out[len - 1] == '\r') {
				out[len - 1] = '\0';
			}
			return true;
		}
		if (len + 1 >= n) {
			cli_wipe(out, n);
			return false;
		}
		out[len++] = ch;
	}
	out[len] = '\0';
	return len > 0;
}

static bool prompt_tty(int tty, const char *prompt, char *out, size_t n)
{
	struct termios old, quiet;
	bool echo_off = tcgetattr(tty, &old) == 0;

	if (write(tty, prompt, strlen(prompt)) < 0) {
		return false;
	}
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		tcsetattr(tty, TCSAFLUSH, &quiet);
	}
	bool ok = cli_read_line(tty, out, n);
	if (echo_off) {
		tcsetattr(tty, TCSAFLUSH, &old);
	}
	return ok;
}

bool cli_prompt_password(const char *prompt, char *out, size_t n)
{
	int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (tty < 0) {
		return false;
	}
	bool ok = prompt_tty(tty, prompt, out, n);
	close(tty);
	return ok;
}

int cli_read_password(const char *prog, const char *prompt, bool from_stdin, bool confirm, char *out,
		      size_t out_len)
{
	if (from_stdin) {
		if (!cli_read_line(STDIN_FILENO, out, out_len) || !*out) {
			fprintf(stderr, "%s: no password on standard input (one line, at most %zu bytes)\n", prog,
				out_len - 1);
			return EX_DATAERR;
		}
		return 0;
	}
	int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (tty < 0) {
		fprintf(stderr, "%s: no terminal to ask for the password: use --password-stdin\n", prog);
		return EX_USAGE;
	}
	char again[CLI_PASSWORD_MAX];
	int rc = 0;
	if (!prompt_tty(tty, prompt, out, out_len) || !*out) {
		fprintf(stderr, "%s: no password given\n", prog);
		rc = EX_DATAERR;
	} else if (confirm) {
		if (!prompt_tty(tty, "Retype the password: ", again, sizeof(again)) || strcmp(out, again) != 0) {
			fprintf(stderr, "%s: the passwords do not match\n", prog);
			rc = EX_DATAERR;
		}
	}
	cli_wipe(again, sizeof(again));
	if (rc != 0) {
		cli_wipe(out, out_len);
	}
	close(tty);
	return rc;
}

int cli_exit_code(cerr_t e)
{
	switch (e) {
	case CERR_OK:
		return 0;
	case CERR_CONFIG:
		return EX_CONFIG;
	case CERR_NOT_FOUND:
		return EX_NOUSER;
	case CERR_EXISTS:
	case CERR_INVALID_ARG:
	case CERR_MALFORMED:
	case CERR_TRUNCATED:
	case CERR_LIMIT:
		return EX_DATAERR;
	case CERR_IO:
	case CERR_STORE:
		return EX_IOERR;
	case CERR_AUTH_FAILED:
	case CERR_E_ACCESSDENIED:
	case CERR_WIN32_ACCESS_DENIED:
		return EX_NOPERM;
	case CERR_CLOSED:
	case CERR_TIMEOUT:
	case CERR_RPC_S_SERVER_UNAVAILABLE:
	case CERR_HRESULT_RPC_S_SERVER_UNAVAILABLE:
		return EX_UNAVAILABLE;
	case CERR_PROTOCOL:
		return EX_PROTOCOL;
	default:
		return EX_SOFTWARE;
	}
}
