/*
 * test_config.c - certad.conf: defaults, a full good file, and bad files whose
 * messages must name the file, the line and the fix (docs/certad.conf.5.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/config.h"

static cerr_t parse(config_t *cfg, const char *text, char *err, size_t err_len)
{
	assert_int_equal(config_defaults(cfg), CERR_OK);
	return config_parse(cfg, "certad.conf", text, strlen(text), err, err_len);
}

/* parse_bad expects CERR_CONFIG and an error text containing want */
static void parse_bad(const char *text, const char *want)
{
	config_t cfg;
	char err[1024];
	assert_int_equal(parse(&cfg, text, err, sizeof(err)), CERR_CONFIG);
	if (!strstr(err, want)) {
		fail_msg("error text\n  %s\ndoes not contain\n  %s", err, want);
	}
	config_cleanup(&cfg);
}

static void test_defaults(void **state)
{
	(void)state;
	config_t cfg;
	assert_int_equal(config_defaults(&cfg), CERR_OK);
	assert_string_equal(cfg.ca_name, "certa-CA");
	assert_int_equal(cfg.ca_key, CONFIG_KEY_RSA2048);
	assert_int_equal(cfg.validity_years, 5);
	assert_int_equal(cfg.n_templates, 0);
	assert_null(cfg.aia_url);
	assert_false(cfg.san_attribute);
	assert_true(cfg.enforce_encryption);
	assert_int_equal(config_edit_flags(&cfg), 0);
	assert_int_equal(config_interface_flags(&cfg), CONFIG_IF_ENFORCEENCRYPTICERTREQUEST);
	assert_int_equal(cfg.n_listen, 1);
	assert_string_equal(cfg.listen[0], "0.0.0.0");
	assert_int_equal(cfg.epm_port, 135);
	assert_int_equal(cfg.dynamic_port, 0);
	assert_true(cfg.ntlm);
	assert_false(cfg.ntlmv1);
	assert_false(cfg.anonymous);
	assert_string_equal(cfg.netbios_domain, "CERTA");
	assert_true(strlen(cfg.computer_name) >= 1 && strlen(cfg.computer_name) <= 15);
	assert_int_equal(cfg.log_level, LOG_INFO);
	assert_string_equal(cfg.events_file, "events.jsonl");
	config_cleanup(&cfg);
	config_cleanup(NULL);
}

static void test_good_file(void **state)
{
	(void)state;
	const char *text =
		"# a full configuration\n"
		"[ca]\n"
		"name = Contoso Issuing CA\n"
		"key = P384\n"
		"validity_years = 10\n"
		"templates = User, Machine WebServer\n"
		"templates_dir = /srv/templates   # inline comment\n"
		"aia_url = http://pki.contoso.com/aia/ca.crt\n"
		"cdp_url = \"ldap://dc1/CN=ca;x\"  ; quoted keeps ';'\n"
		"san_attribute = yes\n"
		"enforce_encryption = off\n"
		"\r\n"
		"[rpc]\r\n"
		"listen = 127.0.0.1, ::1\r\n"
		"epm_port = 1135\n"
		"dynamic_port = 50000\n"
		"workers = 4\n"
		"max_connections = 10\n"
		"idle_timeout = 2m\n"
		"[ AUTH ]\n"
		"ntlm = true\n"
		"NTLMv1 = 1\n"
		"anonymous = on\n"
		"netbios_domain = contoso\n"
		"computer_name = ca1\n"
		"dns_domain = Contoso.COM\n"
		"ntlm_backend = Winbind\n"
		"[security]\n"
		"rights_file = /etc/certa/secpol.inf\n"
		"[log]\n"
		"level = debug\n"
		"logon_events = failures\n"
		"auth_trace = on\n"
		"events_file = /var/log/certa/events.jsonl"; /* no final newline */
	config_t cfg;
	char err[512];
	assert_int_equal(parse(&cfg, text, err, sizeof(err)), CERR_OK);
	assert_string_equal(err, "");
	assert_string_equal(cfg.ca_name, "Contoso Issuing CA");
	assert_int_equal(cfg.ca_key, CONFIG_KEY_P384);
	assert_string_equal(config_key_alg_name(cfg.ca_key), "p384");
	assert_int_equal(cfg.validity_years, 10);
	assert_int_equal(cfg.n_templates, 3);
	assert_string_equal(cfg.templates[0], "User");
	assert_string_equal(cfg.templates[1], "Machine");
	assert_string_equal(cfg.templates[2], "WebServer");
	assert_string_equal(cfg.templates_dir, "/srv/templates");
	assert_string_equal(cfg.aia_url, "http://pki.contoso.com/aia/ca.crt");
	assert_string_equal(cfg.cdp_url, "ldap://dc1/CN=ca;x");
	assert_true(cfg.san_attribute);
	assert_false(cfg.enforce_encryption);
	assert_int_equal(config_edit_flags(&cfg), CONFIG_EDITF_ATTRIBUTESUBJECTALTNAME2);
	assert_int_equal(config_interface_flags(&cfg), 0);
	assert_int_equal(cfg.n_listen, 2);
	assert_string_equal(cfg.listen[0], "127.0.0.1");
	assert_string_equal(cfg.listen[1], "::1");
	assert_int_equal(cfg.epm_port, 1135);
	assert_int_equal(cfg.dynamic_port, 50000);
	assert_int_equal(cfg.workers, 4);
	assert_int_equal(cfg.max_connections, 10);
	assert_int_equal(cfg.idle_timeout, 120);
	assert_true(cfg.ntlm);
	assert_true(cfg.ntlmv1);
	assert_true(cfg.anonymous);
	assert_string_equal(cfg.netbios_domain, "CONTOSO");
	assert_string_equal(cfg.computer_name, "CA1");
	assert_string_equal(cfg.dns_domain, "contoso.com");
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_string_equal(cfg.events_file, "/var/log/certa/events.jsonl");
	assert_int_equal(cfg.ntlm_backend, CONFIG_NTLM_WINBIND);
	assert_string_equal(cfg.rights_file, "/etc/certa/secpol.inf");
	assert_int_equal(cfg.logon_events, CONFIG_LOGON_EVENTS_FAILURES);
	assert_true(cfg.auth_trace);
	assert_string_equal(cfg.auth_trace_file, "auth-trace.jsonl");
	config_cleanup(&cfg);
}

static void test_empty_and_comments(void **state)
{
	(void)state;
	config_t cfg;
	char err[64];
	assert_int_equal(parse(&cfg, "", err, sizeof(err)), CERR_OK);
	config_cleanup(&cfg);
	assert_int_equal(parse(&cfg, "; only\n# comments\n\n   \n[ca]\naia_url =\ntemplates =\n", err, sizeof(err)),
			 CERR_OK);
	assert_null(cfg.aia_url);
	assert_int_equal(cfg.n_templates, 0);
	config_cleanup(&cfg);
}

/* [dcom]: on by default with Windows' descriptors (NULL: certad fills in
 * sd.h's CA defaults); SDDL is kept as written with its line, for certad to
 * parse and name in errors; empty means the default again */
static void test_dcom(void **state)
{
	(void)state;
	config_t cfg;
	char err[1024];
	assert_int_equal(config_defaults(&cfg), CERR_OK);
	assert_true(cfg.dcom);
	assert_true(cfg.require_integrity_activation);
	for (int i = 0; i < CONFIG_DCOM_SDDL_N; i++) {
		assert_null(cfg.dcom_sddl[i]);
		assert_int_equal(cfg.dcom_sddl_line[i], 0);
	}
	config_cleanup(&cfg);
	assert_int_equal(parse(&cfg,
			       "[dcom]\n"
			       "require_integrity_activation = off\n"
			       "machine_launch_restriction = O:BAG:BAD:(A;;CCDCLCSWRP;;;BA)(A;;CCSWRP;;;CD)\n"
			       "machine_access_restriction = \"O:BAG:BAD:(A;;CCDCLC;;;WD)\"  # quoted\n"
			       "certsrv_access_permission =\n",
			       err, sizeof(err)),
			 CERR_OK);
	assert_false(cfg.require_integrity_activation);
	assert_string_equal(cfg.dcom_sddl[CONFIG_DCOM_MACHINE_LAUNCH], "O:BAG:BAD:(A;;CCDCLCSWRP;;;BA)(A;;CCSWRP;;;CD)");
	assert_int_equal(cfg.dcom_sddl_line[CONFIG_DCOM_MACHINE_LAUNCH], 3);
	assert_string_equal(cfg.dcom_sddl[CONFIG_DCOM_MACHINE_ACCESS], "O:BAG:BAD:(A;;CCDCLC;;;WD)");
	assert_int_equal(cfg.dcom_sddl_line[CONFIG_DCOM_MACHINE_ACCESS], 4);
	assert_null(cfg.dcom_sddl[CONFIG_DCOM_CERTSRV_ACCESS]);
	assert_int_equal(cfg.dcom_sddl_line[CONFIG_DCOM_CERTSRV_ACCESS], 0);
	config_cleanup(&cfg);
	parse_bad("[dcom]\nmachine_lunch_restriction = D:\n", "(did you mean 'machine_launch_restriction'?)");
	parse_bad("[dcom]\nenabled = maybe\n", "enabled: 'maybe' is not on or off");
}

static void test_unknown_key_suggests(void **state)
{
	(void)state;
	parse_bad("[ca]\nname = x\n\n\n\n\n\n\n\n\n\ntempaltes = User\n",
		  "certad.conf:12: unknown key 'tempaltes' in [ca] (did you mean 'templates'?)");
	parse_bad("[rpc]\nepm_prot = 135\n", "certad.conf:2: unknown key 'epm_prot' in [rpc] (did you mean 'epm_port'?)");
	parse_bad("[ca]\nepm_port = 135\n", "certad.conf:2: unknown key 'epm_port' in [ca] (it belongs in [rpc])");
	parse_bad("[log]\ncolour = on\n", "unknown key 'colour' in [log] (keys there: level, events_file, logon_events, auth_trace, auth_trace_file)");
	parse_bad("[cs]\nname = x\n", "certad.conf:1: unknown section [cs] (did you mean [ca]?)");
	parse_bad("[database]\n", "unknown section [database] (sections are [ca], [rpc], [auth], [security], [dcom], [log])");
	parse_bad("name = x\n", "certad.conf:1: key 'name' is outside any section (put it under [ca])");
	parse_bad("[ca\n", "section header without ']'");
	parse_bad("[ca]\njust words\n", "certad.conf:2: expected 'key = value'");
	parse_bad("[ca]\n = x\n", "missing key name");
}

static void test_bad_values(void **state)
{
	(void)state;
	parse_bad("[rpc]\n\nepm_port = 70000\n", "certad.conf:3: epm_port: '70000' is not a port number (1-65535)");
	parse_bad("[rpc]\nepm_port = 0\n", "epm_port: '0' is not a port number (1-65535)");
	parse_bad("[rpc]\nepm_port = 13x\n", "epm_port: '13x' is not a port number");
	parse_bad("[rpc]\nepm_port =\n", "epm_port: '' is not a port number");
	parse_bad("[rpc]\ndynamic_port = -1\n", "dynamic_port: '-1' is not a port number (0-65535, 0 = any free port)");
	parse_bad("[rpc]\nlisten = 127.0.0.1, localhost\n", "listen: 'localhost' is not an IP address");
	parse_bad("[rpc]\nlisten =\n", "listen: at least one address is required");
	parse_bad("[rpc]\nworkers = 1000\n", "workers: '1000' is not a number from 0 to 256");
	parse_bad("[rpc]\nmax_connections = 99999999999999999999\n", "max_connections: '99999999999999999999' is not a number");
	parse_bad("[rpc]\nidle_timeout = 2d\n", "idle_timeout: '2d' is not a duration");
	parse_bad("[rpc]\nidle_timeout = 25h\n", "idle_timeout: '25h' is not a duration");
	parse_bad("[ca]\nkey = rsa1024\n", "key: 'rsa1024' is not a supported key type (rsa2048, rsa3072, rsa4096, p256, p384)");
	parse_bad("[ca]\nvalidity_years = 0\n", "validity_years: '0' is not a number from 1 to 50");
	parse_bad("[ca]\nname = a/b\n", "name: 'a/b' is not a usable CA name");
	parse_bad("[ca]\nname =\n", "name: '' is not a usable CA name");
	parse_bad("[ca]\ntemplates = User, Bad*Name\n", "templates: 'Bad*Name' is not a template name");
	parse_bad("[ca]\naia_url = ftp://x\n", "aia_url: 'ftp://x' is not an http://, https:// or ldap:// URL");
	parse_bad("[ca]\nsan_attribute = maybe\n", "san_attribute: 'maybe' is not on or off");
	parse_bad("[ca]\ntemplates_dir =\n", "templates_dir: a path is required");
	parse_bad("[ca]\nname = \"unterminated\n", "name: unterminated quoted value");
	parse_bad("[auth]\ncomputer_name = THIS-NAME-IS-TOO-LONG\n", "computer_name: 'THIS-NAME-IS-TOO-LONG' is not a NetBIOS name");
	parse_bad("[auth]\ndns_domain = bad..name\n", "dns_domain: 'bad..name' is not a DNS domain name");
	parse_bad("[log]\nlogon_events = some\n", "logon_events: 'some' is not one of: none, failures, all");
	parse_bad("[auth]\nntlm_backend = ad\n", "ntlm_backend: 'ad' is not one of: local, winbind");
	parse_bad("[log]\nlevel = loud\n", "level: 'loud' is not a log level (error, warn, info, debug, trace)");
	parse_bad("[ca]\nkey = p256\nkey = p384\n", "certad.conf:3: key set twice in [ca] (first on line 2)");
}

static void test_all_errors_reported(void **state)
{
	(void)state;
	config_t cfg;
	char err[1024];
	assert_int_equal(parse(&cfg, "[rpc]\nepm_port = 70000\n[ca]\ntempaltes = x\nkey = p256\n", err, sizeof(err)),
			 CERR_CONFIG);
	assert_non_null(strstr(err, "certad.conf:2: epm_port"));
	assert_non_null(strstr(err, "\ncertad.conf:4: unknown key 'tempaltes'"));
	/* the valid setting after the errors is still applied */
	assert_int_equal(cfg.ca_key, CONFIG_KEY_P256);
	assert_int_equal(cfg.epm_port, 135);
	config_cleanup(&cfg);

	/* a tiny error buffer is truncated, never overrun */
	char tiny[8];
	assert_int_equal(parse(&cfg, "[x]\n[y]\n", tiny, sizeof(tiny)), CERR_CONFIG);
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
	config_cleanup(&cfg);
	assert_int_equal(parse(&cfg, "[x]\n", NULL, 0), CERR_CONFIG);
	config_cleanup(&cfg);
}

static void test_nul_and_long_lines(void **state)
{
	(void)state;
	config_t cfg;
	char err[256];
	const char bin[] = "[ca]\nname = a\0b\n";
	assert_int_equal(config_defaults(&cfg), CERR_OK);
	assert_int_equal(config_parse(&cfg, "certad.conf", bin, sizeof(bin) - 1, err, sizeof(err)), CERR_CONFIG);
	assert_non_null(strstr(err, "certad.conf:2: contains a NUL byte"));
	config_cleanup(&cfg);

	size_t n = 5000;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'a', n);
	big[n] = '\0';
	assert_int_equal(parse(&cfg, big, err, sizeof(err)), CERR_CONFIG);
	assert_non_null(strstr(err, "certad.conf:1: line longer than 4096"));
	config_cleanup(&cfg);
	free(big);
}

static void test_files(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_config.XXXXXX";
	char path[512], err[512];
	config_t cfg;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/certad.conf", dir);

	/* nothing there: no file located, load fails with the reason */
	assert_null(config_locate(NULL, dir));
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), CERR_IO);
	assert_non_null(strstr(err, "cannot open"));
	config_cleanup(&cfg);

	/* the default file is found, loads cleanly and gives the defaults */
	assert_int_equal(config_write_default(path), CERR_OK);
	assert_int_equal(config_write_default(path), CERR_EXISTS);
	char *found = config_locate(NULL, dir);
	assert_non_null(found);
	assert_string_equal(found, path);
	free(found);
	found = config_locate("/elsewhere.conf", dir);
	assert_string_equal(found, "/elsewhere.conf");
	free(found);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), CERR_OK);
	assert_int_equal(cfg.epm_port, 135);
	assert_true(cfg.enforce_encryption);
	config_cleanup(&cfg);

	/* uncommenting a default line must give a valid file */
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs("[rpc]\nepm_port = 99999\n", f);
	fclose(f);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), CERR_CONFIG);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "epm_port: '99999'"));
	config_cleanup(&cfg);

	unlink(path);
	rmdir(dir);
}

static void test_log_levels(void **state)
{
	(void)state;
	log_level_t l;
	assert_true(config_parse_log_level("TRACE", &l));
	assert_int_equal(l, LOG_TRACE);
	assert_true(config_parse_log_level("warning", &l));
	assert_int_equal(l, LOG_WARN);
	assert_false(config_parse_log_level("verbose", &l));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_empty_and_comments),
		cmocka_unit_test(test_dcom),
		cmocka_unit_test(test_unknown_key_suggests),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_nul_and_long_lines),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_log_levels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
