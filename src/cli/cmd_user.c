/*
 * cmd_user.c - `certa user ...` and `certa group ...`: the CA machine's local
 * accounts (security/accounts.h), the ones NTLM logons are checked against.
 * Each command locks the accounts file, changes it and saves it atomically;
 * a running certad notices the new file on the next logon (accounts_refresh),
 * so no restart is needed.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/subcommands.h"
#include "security/accounts.h"

typedef struct action {
	const char *name;
	int (*fn)(cli_env_t *env, int argc, char **argv);
	const char *args;
	const char *description;
} action_t;

/* open the store for a change (create it only for "add"), under its lock */
static int open_store(cli_env_t *env, bool create, accounts_t **out)
{
	int rc;
	char *path = cli_path(env, CLI_ACCOUNTS_FILE);
	if (!path) {
		return EX_OSERR;
	}
	if (create && (rc = cli_make_state(env)) != 0) {
		free(path);
		return rc;
	}
	cerr_t e = !create && access(path, F_OK) != 0
			   ? CERR_NOT_FOUND
			   : accounts_open(path, ACCOUNTS_LOCK | (create ? ACCOUNTS_CREATE : 0), out);
	if (e == CERR_NOT_FOUND) {
		fprintf(stderr, "%s: no accounts in %s yet: add a user first (certa user add NAME)\n", env->prog,
			env->state);
		rc = EX_NOUSER;
	} else if (e != CERR_OK) {
		const char *detail = accounts_last_error();
		fprintf(stderr, "%s: cannot open %s: %s\n", env->prog, path, *detail ? detail : cerr_msg(e));
		rc = cli_exit_code(e);
	} else {
		rc = 0;
	}
	free(path);
	return rc;
}

static int save_store(cli_env_t *env, accounts_t *a)
{
	cerr_t e = accounts_save(a);
	if (e != CERR_OK) {
		const char *detail = accounts_last_error();
		fprintf(stderr, "%s: cannot save %s: %s\n", env->prog, accounts_path(a), *detail ? detail : cerr_msg(e));
		return cli_exit_code(e);
	}
	return 0;
}

/* the message for a failed change, naming what was wrong */
static int change_failed(cli_env_t *env, cerr_t e, const char *what, const char *name)
{
	switch (e) {
	case CERR_EXISTS:
		fprintf(stderr, "%s: %s '%s' already exists\n", env->prog, what, name);
		break;
	case CERR_NOT_FOUND:
		fprintf(stderr, "%s: no %s '%s'\n", env->prog, what, name);
		break;
	case CERR_INVALID_ARG:
		fprintf(stderr,
			"%s: '%s' is not a valid %s name (1-255 characters, none of \" / \\ [ ] : ; | = , + * ? < >)\n",
			env->prog, name, what);
		break;
	default:
		fprintf(stderr, "%s: %s\n", env->prog, cerr_msg(e));
		break;
	}
	return cli_exit_code(e);
}

/* parse [--password-stdin] NAME... with exactly n names; returns -1 on success */
static int parse_names(cli_env_t *env, int argc, char **argv, const char *args, bool allow_stdin,
		       bool *password_stdin, int n)
{
	static const struct option opts[] = {
		{"password-stdin", no_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	optind = 0; /* a full reset of glibc getopt (its ordering mode too) */
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (allow_stdin) {
				*password_stdin = true;
				break;
			}
			/* fall through */
		default:
			fprintf(stderr, "usage: %s %s\n", env->prog, args);
			return EX_USAGE;
		case 'h':
			printf("usage: %s %s\n", env->prog, args);
			return 0;
		}
	}
	if (argc - optind != n) {
		fprintf(stderr, "usage: %s %s\n", env->prog, args);
		return EX_USAGE;
	}
	return -1;
}

/* parse_and_open is parse_names (--password-stdin allowed when
 * password_stdin is not NULL) then open_store: -1 with *a open to go on,
 * else the exit code to return. */
static int parse_and_open(cli_env_t *env, int argc, char **argv, const char *args, bool *password_stdin, int n,
			  bool create, accounts_t **a)
{
	bool unused = false;
	int rc = parse_names(env, argc, argv, args, password_stdin != NULL, password_stdin ? password_stdin : &unused,
			     n);
	if (rc >= 0) {
		return rc;
	}
	rc = open_store(env, create, a);
	return rc != 0 ? rc : -1;
}

/* save_change ends a change: its failure named (change_failed), else the
 * save; 0 when the change is on disk. */
static int save_change(cli_env_t *env, accounts_t *a, cerr_t e, const char *what, const char *name)
{
	return e != CERR_OK ? change_failed(env, e, what, name) : save_store(env, a);
}

static int user_add(cli_env_t *env, int argc, char **argv)
{
	bool from_stdin = false;
	int rc = parse_names(env, argc, argv, "NAME [--password-stdin]", true, &from_stdin, 1);
	if (rc >= 0) {
		return rc;
	}
	const char *name = argv[optind];
	if (!accounts_valid_name(name)) {
		return change_failed(env, CERR_INVALID_ARG, "user", name);
	}
	accounts_t *a = NULL;
	if ((rc = open_store(env, true, &a)) != 0) {
		return rc;
	}
	/* refuse a taken name before asking for a password */
	if (accounts_user_find(a, name) || accounts_group_find(a, name)) {
		const char *what = accounts_user_find(a, name) ? "user" : "group";
		accounts_free(a);
		return change_failed(env, CERR_EXISTS, what, name);
	}
	char password[CLI_PASSWORD_MAX];
	char prompt[300];
	snprintf(prompt, sizeof(prompt), "Password for %s: ", name);
	if ((rc = cli_read_password(env->prog, prompt, from_stdin, true, password, sizeof(password))) == 0) {
		uint32_t rid = 0;
		cerr_t e = accounts_user_add(a, name, password, &rid);
		if ((rc = save_change(env, a, e, "user", name)) == 0) {
			char sid[ACCT_SID_MAX];
			accounts_rid_sid(a, rid, sid);
			printf("added user %s\\%s (%s)\n", env->cfg.netbios_domain, name, sid);
		}
	}
	cli_wipe(password, sizeof(password));
	accounts_free(a);
	return rc;
}

static int user_passwd(cli_env_t *env, int argc, char **argv)
{
	bool from_stdin = false;
	accounts_t *a = NULL;
	int rc = parse_and_open(env, argc, argv, "NAME [--password-stdin]", &from_stdin, 1, false, &a);
	if (rc >= 0) {
		return rc;
	}
	const char *name = argv[optind];
	if (!accounts_user_find(a, name)) {
		accounts_free(a);
		return change_failed(env, CERR_NOT_FOUND, "user", name);
	}
	char password[CLI_PASSWORD_MAX];
	char prompt[300];
	snprintf(prompt, sizeof(prompt), "New password for %s: ", name);
	if ((rc = cli_read_password(env->prog, prompt, from_stdin, true, password, sizeof(password))) == 0) {
		cerr_t e = accounts_user_passwd(a, name, password);
		if ((rc = save_change(env, a, e, "user", name)) == 0) {
			printf("changed the password of %s\n", name);
		}
	}
	cli_wipe(password, sizeof(password));
	accounts_free(a);
	return rc;
}

/* user del / enable / disable and group add / del: one name, one change */
enum simple_op { OP_USER_DEL, OP_USER_ENABLE, OP_USER_DISABLE, OP_GROUP_ADD, OP_GROUP_DEL };

static int simple_change(cli_env_t *env, int argc, char **argv, enum simple_op op)
{
	accounts_t *a = NULL;
	int rc = parse_and_open(env, argc, argv, "NAME", NULL, 1, op == OP_GROUP_ADD, &a);
	if (rc >= 0) {
		return rc;
	}
	const char *name = argv[optind];
	bool is_group = op == OP_GROUP_ADD || op == OP_GROUP_DEL;
	cerr_t e;
	uint32_t rid = 0;
	const char *done;
	switch (op) {
	case OP_USER_DEL:
		e = accounts_user_del(a, name);
		done = "deleted user";
		break;
	case OP_USER_ENABLE:
		e = accounts_user_set_disabled(a, name, false);
		done = "enabled user";
		break;
	case OP_USER_DISABLE:
		e = accounts_user_set_disabled(a, name, true);
		done = "disabled user";
		break;
	case OP_GROUP_ADD:
		e = accounts_group_add(a, name, &rid);
		done = "added group";
		break;
	case OP_GROUP_DEL:
	default:
		e = accounts_group_del(a, name);
		done = "deleted group";
		break;
	}
	if ((rc = save_change(env, a, e, is_group ? "group" : "user", name)) == 0) {
		printf("%s %s\n", done, name);
	}
	accounts_free(a);
	return rc;
}

static int user_del(cli_env_t *env, int argc, char **argv)
{
	return simple_change(env, argc, argv, OP_USER_DEL);
}
static int user_enable(cli_env_t *env, int argc, char **argv)
{
	return simple_change(env, argc, argv, OP_USER_ENABLE);
}
static int user_disable(cli_env_t *env, int argc, char **argv)
{
	return simple_change(env, argc, argv, OP_USER_DISABLE);
}
static int group_add(cli_env_t *env, int argc, char **argv)
{
	return simple_change(env, argc, argv, OP_GROUP_ADD);
}
static int group_del(cli_env_t *env, int argc, char **argv)
{
	return simple_change(env, argc, argv, OP_GROUP_DEL);
}

static int change_membership(cli_env_t *env, int argc, char **argv, bool add)
{
	accounts_t *a = NULL;
	int rc = parse_and_open(env, argc, argv, "GROUP MEMBER (a user name or a SID)", NULL, 2, false, &a);
	if (rc >= 0) {
		return rc;
	}
	const char *group = argv[optind], *member = argv[optind + 1];
	cerr_t e = add ? accounts_group_addmember(a, group, member) : accounts_group_delmember(a, group, member);
	if (e == CERR_NOT_FOUND) {
		if (!accounts_group_find(a, group)) {
			rc = change_failed(env, e, "group", group);
		} else {
			fprintf(stderr, "%s: %s\n", env->prog,
				add ? "no such user (name a local user, or give a SID such as S-1-5-11)"
				    : "not a member of that group");
			rc = EX_NOUSER;
		}
	} else if (e == CERR_EXISTS) {
		fprintf(stderr, "%s: %s is already a member of %s\n", env->prog, member, group);
		rc = EX_DATAERR;
	} else if ((rc = save_change(env, a, e, "member", member)) == 0) {
		printf("%s %s %s %s\n", add ? "added" : "removed", member, add ? "to" : "from", group);
	}
	accounts_free(a);
	return rc;
}

static int group_addmember(cli_env_t *env, int argc, char **argv)
{
	return change_membership(env, argc, argv, true);
}
static int group_delmember(cli_env_t *env, int argc, char **argv)
{
	return change_membership(env, argc, argv, false);
}

static int user_list(cli_env_t *env, int argc, char **argv)
{
	accounts_t *a = NULL;
	int rc = parse_and_open(env, argc, argv, "", NULL, 0, false, &a);
	if (rc >= 0) {
		return rc;
	}
	printf("%-24s %-6s %-10s %s\n", "NAME", "RID", "STATE", "SID");
	for (size_t i = 0; i < accounts_user_count(a); i++) {
		const acct_user_t *u = accounts_user_at(a, i);
		char sid[ACCT_SID_MAX];
		accounts_rid_sid(a, u->rid, sid);
		printf("%-24s %-6u %-10s %s\n", u->name, u->rid, (u->flags & ACCT_USER_DISABLED) ? "disabled" : "enabled",
		       sid);
	}
	accounts_free(a);
	return 0;
}

static int group_list(cli_env_t *env, int argc, char **argv)
{
	accounts_t *a = NULL;
	int rc = parse_and_open(env, argc, argv, "", NULL, 0, false, &a);
	if (rc >= 0) {
		return rc;
	}
	for (size_t i = 0; i < accounts_group_count(a); i++) {
		const acct_group_t *g = accounts_group_at(a, i);
		char sid[ACCT_SID_MAX];
		accounts_rid_sid(a, g->rid, sid);
		printf("%s (%s)\n", g->name, sid);
		for (size_t m = 0; m < g->n_members; m++) {
			printf("    %s\n", g->members[m]);
		}
	}
	accounts_free(a);
	return 0;
}

static const action_t user_actions[] = {
	{"add", user_add, "NAME [--password-stdin]", "create a user (asks for the password twice)"},
	{"del", user_del, "NAME", "delete a user (and remove it from every group)"},
	{"passwd", user_passwd, "NAME [--password-stdin]", "set a user's password"},
	{"enable", user_enable, "NAME", "allow a user to log on again"},
	{"disable", user_disable, "NAME", "refuse a user's logons (STATUS_ACCOUNT_DISABLED)"},
	{"list", user_list, "", "list users with their RIDs and SIDs"},
};

static const action_t group_actions[] = {
	{"add", group_add, "NAME", "create a local group"},
	{"del", group_del, "NAME", "delete a local group"},
	{"addmember", group_addmember, "GROUP MEMBER", "add a user (by name) or any SID to a group"},
	{"delmember", group_delmember, "GROUP MEMBER", "remove a member from a group"},
	{"list", group_list, "", "list groups and their members"},
};

static void actions_usage(FILE *f, const char *cmd, const action_t *acts, size_t n)
{
	fprintf(f, "usage: certa %s ACTION [ARGS]\n\n", cmd);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "  certa %s %-10s %-26s %s\n", cmd, acts[i].name, acts[i].args, acts[i].description);
	}
	fprintf(f, "\nWithout --password-stdin the password is asked on the terminal, without echo.\n"
		   "Changes apply to a running certad at the next logon; no restart is needed.\n");
}

static int dispatch(const char *cmd, const action_t *acts, size_t n, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		actions_usage(argc < 2 ? stderr : stdout, cmd, acts, n);
		return argc < 2 ? EX_USAGE : 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(acts[i].name, argv[1]) != 0) {
			continue;
		}
		char prog[64];
		snprintf(prog, sizeof(prog), "certa %s %s", cmd, acts[i].name);
		cli_env_t env;
		int rc = cli_env_load(&env, prog, certa_globals.state, certa_globals.config);
		if (rc == 0) {
			rc = acts[i].fn(&env, argc - 1, argv + 1);
		}
		cli_env_cleanup(&env);
		return rc;
	}
	fprintf(stderr, "certa %s: unknown action '%s'\n\n", cmd, argv[1]);
	actions_usage(stderr, cmd, acts, n);
	return EX_USAGE;
}

int cmd_user_main(int argc, char **argv)
{
	return dispatch("user", user_actions, sizeof(user_actions) / sizeof(user_actions[0]), argc, argv);
}

int cmd_group_main(int argc, char **argv)
{
	return dispatch("group", group_actions, sizeof(group_actions) / sizeof(group_actions[0]), argc, argv);
}
