/*
 * config.h - certad's configuration file (docs/certad.conf.5.md): an INI file
 * with sections [ca], [rpc], [auth], [security], [dcom] and [log], read once at start. Every key
 * has a default, so an empty file (or none) gives a working CA. Errors name
 * the file, the line and the fix ("certad.conf:12: unknown key 'tempaltes' in
 * [ca] (did you mean 'templates'?)"); all of a file's errors are reported at
 * once so an administrator fixes them in one pass.
 */
#ifndef CERTA_CLI_CONFIG_H
#define CERTA_CLI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/log.h"

/* The CA key algorithm ([ca] key). */
typedef enum config_key_alg {
	CONFIG_KEY_RSA2048,
	CONFIG_KEY_RSA3072,
	CONFIG_KEY_RSA4096,
	CONFIG_KEY_P256,
	CONFIG_KEY_P384,
} config_key_alg_t;

/* AD CS policy-module flags the booleans map to (certsrv.h values, as set with
 * `certutil -setreg policy\EditFlags` and `CA\InterfaceFlags` on Windows). */
#define CONFIG_EDITF_ATTRIBUTESUBJECTALTNAME2 0x00040000u
#define CONFIG_IF_ENFORCEENCRYPTICERTREQUEST 0x00000200u

#define CONFIG_MAX_LISTEN 8
#define CONFIG_MAX_TEMPLATES 64

typedef struct config {
	/* [ca] */
	char *ca_name;              /* CA common name ("certa-CA") */
	config_key_alg_t ca_key;    /* key created by the first start */
	unsigned validity_years;    /* CA certificate lifetime, 1-50 */
	char *templates[CONFIG_MAX_TEMPLATES]; /* templates the CA issues; none = User, Machine, WebServer, SubCA */
	size_t n_templates;
	char *templates_dir;        /* folder of *.ldif templates; relative = to the state folder */
	char *aia_url;              /* authority information access URL put in issued certs (NULL = none) */
	char *cdp_url;              /* CRL distribution point URL (NULL = none) */
	bool san_attribute;         /* EDITF_ATTRIBUTESUBJECTALTNAME2: honour SAN:... request attributes */
	bool enforce_encryption;    /* IF_ENFORCEENCRYPTICERTREQUEST: refuse requests below PKT_PRIVACY */

	/* [rpc] */
	char *listen[CONFIG_MAX_LISTEN]; /* IP addresses to listen on */
	size_t n_listen;
	uint16_t epm_port;          /* endpoint mapper (MS-RPCE 2.1.1.1: 135) */
	uint16_t dynamic_port;      /* port of the ICPR listener; 0 = any free port */
	unsigned workers;           /* call threads; 0 = four per CPU */
	unsigned max_connections;
	unsigned idle_timeout;      /* seconds; 0 = never */

	/* [auth] */
	bool ntlm;                  /* accept NTLM (auth type 10) */
	bool ntlmv1;                /* accept NTLMv1 responses (weak; off) */
	bool anonymous;             /* accept anonymous NTLM logons */
	char *netbios_domain;       /* NTLM target name ("CERTA") */
	char *computer_name;        /* NetBIOS computer name (default: host name, upper case) */
	char *dns_domain;           /* DNS domain name ("" when unknown) */

	bool kerberos;              /* accept Kerberos (16) and SPNEGO (9) with the keytab's keys */
	char *keytab;               /* the CA's service keys; relative = to the state folder */
	unsigned ntlm_backend;      /* CONFIG_NTLM_LOCAL: the accounts store; CONFIG_NTLM_WINBIND: the domain */

	/* [security] */
	char *rights_file;          /* user rights (secedit INF); relative = to the state folder */

	/* [dcom] */
	bool dcom;                  /* serve DCOM activation (CertSrv Request) on the endpoint mapper */
	char *dcom_sddl[4];         /* by enum config_dcom_sddl: SDDL as written; NULL = the built-in default
	                             * (checked by certad, which names dcom_sddl_line on an error) */
	unsigned dcom_sddl_line[4]; /* line each was set on; 0 = not set */
	bool require_integrity_activation; /* KB5004442 RequireIntegrityActivationAuthenticationLevel */

	/* [log] */
	log_level_t log_level;
	char *events_file;          /* JSONL event log; relative = to the state folder */
	unsigned logon_events;      /* CONFIG_LOGON_EVENTS_*: which logons are audited (4624/4625) */
	bool auth_trace;            /* write the authentication trace */
	char *auth_trace_file;      /* where; relative = to the state folder */
} config_t;

/* [dcom] descriptors, the index into dcom_sddl and dcom_sddl_line */
enum config_dcom_sddl {
	CONFIG_DCOM_MACHINE_LAUNCH = 0, /* machine_launch_restriction */
	CONFIG_DCOM_MACHINE_ACCESS = 1, /* machine_access_restriction */
	CONFIG_DCOM_CERTSRV_LAUNCH = 2, /* certsrv_launch_permission */
	CONFIG_DCOM_CERTSRV_ACCESS = 3, /* certsrv_access_permission */
	CONFIG_DCOM_SDDL_N = 4,
};

/* [auth] ntlm_backend */
#define CONFIG_NTLM_LOCAL 0u
#define CONFIG_NTLM_WINBIND 1u
/* [log] logon_events */
#define CONFIG_LOGON_EVENTS_NONE 0u
#define CONFIG_LOGON_EVENTS_FAILURES 1u
#define CONFIG_LOGON_EVENTS_ALL 2u

/* config_defaults fills cfg with the defaults of docs/certad.conf.5.md (cfg
 * must be zeroed or cleaned up). Returns CERR_NOMEM on allocation failure. */
cerr_t config_defaults(config_t *cfg);

/* config_parse reads the text of a configuration file over the defaults
 * already in cfg. name is used in messages ("certad.conf"). On CERR_CONFIG,
 * err holds one "name:line: problem (fix)" line per error, newline-separated,
 * and cfg holds the defaults plus every valid setting. */
cerr_t config_parse(config_t *cfg, const char *name, const char *text, size_t len, char *err,
		    size_t err_len);

/* config_load is config_defaults followed by config_parse of the file at path.
 * A file that cannot be read is CERR_IO with the reason in err. */
cerr_t config_load(config_t *cfg, const char *path, char *err, size_t err_len);

/* config_cleanup frees everything cfg holds and zeroes it (NULL-safe). */
void config_cleanup(config_t *cfg);

/* config_locate picks the configuration file: explicit if given, else
 * STATE/certad.conf, else /etc/certa/certad.conf, whichever exists first.
 * Returns a malloc'd path, or NULL when none exists (use the defaults). */
char *config_locate(const char *explicit_path, const char *state_dir);

/* config_write_default writes a commented file listing every key with its
 * default, for the administrator to edit; fails with CERR_EXISTS if path exists. */
cerr_t config_write_default(const char *path);

/* config_edit_flags and config_interface_flags give the AD CS flag words that
 * the booleans stand for, for the CA core and `certa diagnose`. */
uint32_t config_edit_flags(const config_t *cfg);
uint32_t config_interface_flags(const config_t *cfg);

/* config_key_alg_name is "rsa2048", "p256", ... */
const char *config_key_alg_name(config_key_alg_t alg);

/* config_parse_log_level maps "error".."trace" to a level; false if unknown. */
bool config_parse_log_level(const char *s, log_level_t *out);

#endif
