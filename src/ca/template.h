/*
 * template.h - certificate templates: a pKICertificateTemplate directory
 * entry ([MS-CRTD] 2) read from LDIF and mapped to a struct the policy and
 * issuance code use. Attribute names are AD's (cn, msPKI-Certificate-Name-Flag,
 * pKIExpirationPeriod, ...), so templates exported from a real forest with
 * ldifde/ldapsearch load unchanged. Template sets are loaded once at start
 * and read-only afterwards, so worker threads share them without locks.
 */
#ifndef CERTA_CA_TEMPLATE_H
#define CERTA_CA_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dir/ldif.h"
#include "util/err.h"

/* msPKI-Certificate-Name-Flag ([MS-CRTD] 2.28) */
#define CT_FLAG_ENROLLEE_SUPPLIES_SUBJECT 0x00000001u
#define CT_FLAG_OLD_CERT_SUPPLIES_SUBJECT_AND_ALT_NAME 0x00000008u
#define CT_FLAG_ENROLLEE_SUPPLIES_SUBJECT_ALT_NAME 0x00010000u
#define CT_FLAG_SUBJECT_ALT_REQUIRE_DOMAIN_DNS 0x00400000u
#define CT_FLAG_SUBJECT_ALT_REQUIRE_SPN 0x00800000u
#define CT_FLAG_SUBJECT_ALT_REQUIRE_DIRECTORY_GUID 0x01000000u
#define CT_FLAG_SUBJECT_ALT_REQUIRE_UPN 0x02000000u
#define CT_FLAG_SUBJECT_ALT_REQUIRE_EMAIL 0x04000000u
#define CT_FLAG_SUBJECT_ALT_REQUIRE_DNS 0x08000000u
#define CT_FLAG_SUBJECT_REQUIRE_DNS_AS_CN 0x10000000u
#define CT_FLAG_SUBJECT_REQUIRE_EMAIL 0x20000000u
#define CT_FLAG_SUBJECT_REQUIRE_COMMON_NAME 0x40000000u
#define CT_FLAG_SUBJECT_REQUIRE_DIRECTORY_PATH 0x80000000u

/* msPKI-Enrollment-Flag ([MS-CRTD] 2.26) */
#define CT_FLAG_INCLUDE_SYMMETRIC_ALGORITHMS 0x00000001u
#define CT_FLAG_PEND_ALL_REQUESTS 0x00000002u
#define CT_FLAG_PUBLISH_TO_KRA_CONTAINER 0x00000004u
#define CT_FLAG_PUBLISH_TO_DS 0x00000008u
#define CT_FLAG_AUTO_ENROLLMENT 0x00000020u
#define CT_FLAG_NO_SECURITY_EXTENSION 0x00080000u

/* msPKI-Private-Key-Flag ([MS-CRTD] 2.27) */
#define CT_FLAG_REQUIRE_PRIVATE_KEY_ARCHIVAL 0x00000001u
#define CT_FLAG_EXPORTABLE_KEY 0x00000010u

/* flags (general, [MS-CRTD] 2.4) */
#define CT_FLAG_ADD_TEMPLATE_NAME 0x00000200u
#define CT_FLAG_MACHINE_TYPE 0x00000040u
#define CT_FLAG_IS_CA 0x00000080u
#define CT_FLAG_IS_CROSS_CA 0x00000800u
#define CT_FLAG_IS_DEFAULT 0x00010000u
#define CT_FLAG_IS_MODIFIED 0x00020000u

#define TEMPLATE_MAX_OIDS 64u /* per multi-valued OID attribute */

typedef struct ca_template {
	char *cn;           /* template name; what CertificateTemplate: names */
	char *display_name; /* displayName, or cn */
	char *oid;          /* msPKI-Cert-Template-OID, NULL if absent */
	char **ekus;        /* pKIExtendedKeyUsage, in order */
	size_t num_ekus;
	char **app_policies; /* msPKI-Certificate-Application-Policy */
	size_t num_app_policies;
	char **critical_exts; /* pKICriticalExtensions */
	size_t num_critical_exts;
	uint32_t flags;             /* flags */
	uint32_t name_flags;        /* msPKI-Certificate-Name-Flag */
	uint32_t enrollment_flags;  /* msPKI-Enrollment-Flag */
	uint32_t private_key_flags; /* msPKI-Private-Key-Flag */
	uint32_t min_key_size;      /* msPKI-Minimal-Key-Size (bits), 0 = none */
	uint32_t schema_version;    /* msPKI-Template-Schema-Version, 1 if absent */
	uint32_t minor_revision;    /* msPKI-Template-Minor-Revision */
	uint32_t revision;          /* revision (the major version) */
	uint32_t ra_signature;      /* msPKI-RA-Signature */
	uint32_t default_key_spec;  /* pKIDefaultKeySpec: 1 AT_KEYEXCHANGE, 2 AT_SIGNATURE */
	int32_t max_issuing_depth;  /* pKIMaxIssuingDepth; -1 = unlimited */
	uint64_t validity_seconds;  /* pKIExpirationPeriod */
	uint64_t overlap_seconds;   /* pKIOverlapPeriod */
	uint8_t key_usage[2];       /* pKIKeyUsage: KeyUsage BIT STRING bytes (RFC 5280 4.2.1.3 bit order) */
	size_t key_usage_len;       /* 0 = attribute absent */
} ca_template_t;

/* pKIKeyUsage first byte bits (as in the DER BIT STRING) */
#define TPL_KU_DIGITAL_SIGNATURE 0x80u
#define TPL_KU_NON_REPUDIATION 0x40u
#define TPL_KU_KEY_ENCIPHERMENT 0x20u
#define TPL_KU_DATA_ENCIPHERMENT 0x10u
#define TPL_KU_KEY_AGREEMENT 0x08u
#define TPL_KU_KEY_CERT_SIGN 0x04u
#define TPL_KU_CRL_SIGN 0x02u

/* template_from_entry maps one LDIF entry. cn and pKIExpirationPeriod are
 * required; numbers must be decimal (signed 32-bit values such as
 * -1509949440 are taken as their unsigned bit pattern); pKIExpirationPeriod
 * and pKIOverlapPeriod are 8-byte little-endian negative FILETIME intervals
 * ([MS-CRTD] 2.9, 2.18). err gets "file:line: what" on failure
 * (CERR_MALFORMED / CERR_NOMEM). Free with template_free. */
cerr_t template_from_entry(const ldif_entry_t *e, const char *file, ca_template_t **out, char *err,
			   size_t err_len);
void template_free(ca_template_t *t);
/* template_is_critical is true if oid is listed in pKICriticalExtensions. */
bool template_is_critical(const ca_template_t *t, const char *oid);

typedef struct ca_template_set {
	ca_template_t **items;
	size_t num;
} ca_template_set_t;

/* template_set_load_dir reads every *.ldif in dir (sorted by name) and maps
 * each entry whose objectClass includes pKICertificateTemplate (or that has
 * no objectClass at all). A later duplicate cn is an error. */
cerr_t template_set_load_dir(const char *dir, ca_template_set_t **out, char *err, size_t err_len);
/* template_set_add takes ownership of t (on success only). */
cerr_t template_set_add(ca_template_set_t *s, ca_template_t *t);
/* template_set_find matches cn (case-insensitive) or, failing that, the OID. */
const ca_template_t *template_set_find(const ca_template_set_t *s, const char *name_or_oid);
void template_set_free(ca_template_set_t *s);

#endif
