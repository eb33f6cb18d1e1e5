/*
 * cmd_ca.c - `certa ca init` creates the CA in the state folder from the [ca]
 * settings (key, self-signed certificate, database), exactly as certad's
 * first start would, without serving it; `certa ca show` prints the CA's
 * identity (what an administrator compares with `certutil -ca.cert` output).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "cli/cli.h"
#include "cli/subcommands.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: certa ca init    create the CA in the state folder (fails if one exists)\n"
		   "       certa ca show    print the CA's name, subject, validity and fingerprint\n\n"
		   "The CA is made from the [ca] settings of certad.conf (name, key, validity_years).\n");
}

static void print_cert(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	if (!x) {
		printf("certificate: (unreadable)\n");
		return;
	}
	BIO *out = BIO_new_fp(stdout, BIO_NOCLOSE);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	if (out) {
		BIO_printf(out, "subject:     ");
		X509_NAME_print_ex(out, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
		BIO_printf(out, "\nnot before:  ");
		ASN1_TIME_print(out, X509_get0_notBefore(x));
		BIO_printf(out, "\nnot after:   ");
		ASN1_TIME_print(out, X509_get0_notAfter(x));
		EVP_PKEY *pk = X509_get0_pubkey(x);
		if (pk) {
			BIO_printf(out, "\nkey:         %s, %d bits", EVP_PKEY_get0_type_name(pk), EVP_PKEY_get_bits(pk));
		}
		if (X509_digest(x, EVP_sha1(), md, &md_len)) {
			/* the thumbprint Windows shows (certutil, certificate dialog) */
			BIO_printf(out, "\nthumbprint:  ");
			for (unsigned i = 0; i < md_len; i++) {
				BIO_printf(out, "%02x", md[i]);
			}
		}
		if (X509_digest(x, EVP_sha256(), md, &md_len)) {
			BIO_printf(out, "\nsha256:      ");
			for (unsigned i = 0; i < md_len; i++) {
				BIO_printf(out, "%02X%s", md[i], i + 1 < md_len ? ":" : "");
			}
		}
		BIO_printf(out, "\n");
		BIO_free(out);
	}
	X509_free(x);
}

static int ca_init_cmd(cli_env_t *env)
{
	ca_config_t cc;
	char *templates = NULL, *events_path = NULL;
	events_t *events = NULL;
	int rc = cli_make_state(env);
	if (rc != 0) {
		return rc;
	}
	/* the CA's creation goes to the same audit log certad writes */
	events_path = cli_path(env, env->cfg.events_file);
	if (!events_path || events_open(events_path, 0, &events) != CERR_OK) {
		fprintf(stderr, "%s: cannot open the event log %s\n", env->prog, events_path ? events_path : "");
		free(events_path);
		return EX_CANTCREAT;
	}
	free(events_path);
	if ((rc = cli_ca_config(env, events, &cc, &templates)) != 0) {
		events_close(events);
		return rc;
	}
	cerr_t e = ca_init(&cc);
	free(templates);
	events_close(events);
	if (e == CERR_EXISTS) {
		fprintf(stderr, "%s: a CA already exists in %s (certa ca show describes it)\n", env->prog, env->state);
		return EX_CANTCREAT;
	}
	if (e != CERR_OK) {
		fprintf(stderr, "%s: cannot create the CA in %s: %s (%s)\n", env->prog, env->state, cerr_msg(e),
			cerr_name(e));
		return e == CERR_CONFIG ? EX_CONFIG : cli_exit_code(e);
	}
	printf("created the CA \"%s\" (%s key) in %s; certad serves it from there\n", env->cfg.ca_name,
	       config_key_alg_name(env->cfg.ca_key), env->state);
	return 0;
}

static int ca_show_cmd(cli_env_t *env)
{
	ca_config_t cc;
	char *templates = NULL;
	ca_t *ca = NULL;
	events_t *quiet = NULL;
	int rc = cli_ca_config(env, NULL, &cc, &templates);
	if (rc != 0) {
		return rc;
	}
	/* no audit lines on the terminal for a read-only look */
	if (events_open(NULL, 0, &quiet) == CERR_OK) {
		cc.events = quiet;
	}
	cc.no_create = true;
	cerr_t e = ca_open(&cc, &ca);
	free(templates);
	if (e == CERR_NOT_FOUND) {
		fprintf(stderr, "%s: no CA in %s yet (certa ca init, or start certad)\n", env->prog, env->state);
		events_close(quiet);
		return EX_NOINPUT;
	}
	if (e != CERR_OK) {
		fprintf(stderr, "%s: cannot open the CA in %s: %s (%s)\n", env->prog, env->state, cerr_msg(e),
			cerr_name(e));
		events_close(quiet);
		return e == CERR_CONFIG ? EX_CONFIG : cli_exit_code(e);
	}
	size_t len = 0;
	const uint8_t *der = ca_cert_der(ca, &len);
	printf("name:        %s\n", ca_name(ca));
	printf("state:       %s\n", env->state);
	print_cert(der, len);
	printf("templates:  ");
	for (size_t i = 0; i < ca_num_templates(ca); i++) {
		printf(" %s", ca_template_at(ca, i)->cn);
	}
	printf("\n");
	ca_close(ca);
	events_close(quiet);
	return 0;
}

int cmd_ca_main(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc == 2 ? stdout : stderr);
		return argc == 2 ? 0 : EX_USAGE;
	}
	bool init = strcmp(argv[1], "init") == 0;
	if (!init && strcmp(argv[1], "show") != 0) {
		fprintf(stderr, "certa ca: unknown action '%s'\n", argv[1]);
		usage(stderr);
		return EX_USAGE;
	}
	cli_env_t env;
	int rc = cli_env_load(&env, init ? "certa ca init" : "certa ca show", certa_globals.state,
			      certa_globals.config);
	if (rc == 0) {
		rc = init ? ca_init_cmd(&env) : ca_show_cmd(&env);
	}
	cli_env_cleanup(&env);
	return rc;
}
