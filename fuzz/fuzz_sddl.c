/*
 * fuzz_sddl.c - libFuzzer target for the SDDL reader and writer
 * (src/security/sd.c). Any input must parse or fail with "at offset N: ..."
 * inside the input; what parses must print, and the printed form must be a
 * fixed point (parse again, print the same), survive the binary codec, and
 * give the access check one of its documented answers. Inconsistencies abort.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "security/sd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_access runs the check for a few fixed callers. */
static void check_access(const sd_t *sd)
{
	static token_t *tokens[3];
	if (!tokens[0]) {
		const char *groups[] = {SID_S_BUILTIN_ADMINISTRATORS, SID_S_CERTSVC_DCOM_ACCESS};
		CHECK(token_new_anonymous(false, &tokens[0]) == CERR_OK);
		CHECK(token_from_sid_strings("alice", "CA1", "S-1-5-21-1-2-3-1000", NULL, 0, TOKEN_AUTH_NTLM,
					     &tokens[1]) == CERR_OK);
		CHECK(token_from_sid_strings("root", "CA1", "S-1-5-21-1-2-3-500", groups, 2, TOKEN_AUTH_NTLM,
					     &tokens[2]) == CERR_OK);
	}
	static const uint32_t wants[] = {SD_COM_RIGHTS_EXECUTE | SD_COM_RIGHTS_ACTIVATE_REMOTE, SD_MAXIMUM_ALLOWED,
					 SD_GENERIC_READ, SD_READ_CONTROL | SD_WRITE_DAC};
	guid_t enroll = guid_from_literal(SD_GUID_S_CERTIFICATE_ENROLLMENT);
	for (size_t i = 0; i < 3; i++) {
		for (size_t j = 0; j < sizeof(wants) / sizeof(wants[0]); j++) {
			uint32_t g = 0xdeadbeef;
			const char *why = NULL;
			cerr_t e = sd_access_check_object(sd, tokens[i], wants[j], j == 2 ? &enroll : NULL,
							  j == 2 ? &sd_generic_mapping_ds : NULL, &g, &why);
			CHECK(e == CERR_OK || e == CERR_STATUS_ACCESS_DENIED);
			CHECK(why && why[0] != '\0');
			CHECK(e == CERR_OK ? g != 0 : g == 0);
			if (e == CERR_OK && !(wants[j] & SD_MAXIMUM_ALLOWED) && j != 2) {
				CHECK(g == wants[j]);
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const sid_t *dom;
	static sid_t dom_sid;
	if (!dom) {
		dom_sid = sid_from_literal("S-1-5-21-1-2-3");
		dom = &dom_sid;
	}
	if (size > 64 * 1024) {
		return 0;
	}
	char *s = malloc(size + 1);
	CHECK(s);
	memcpy(s, data, size);
	s[size] = '\0';
	size_t len = strlen(s);
	sd_t *sd = NULL;
	char err[256];
	cerr_t e = sd_from_sddl(s, dom, &sd, err, sizeof(err));
	if (e != CERR_OK) {
		size_t off;
		CHECK(e == CERR_MALFORMED || e == CERR_LIMIT);
		CHECK(sscanf(err, "at offset %zu: ", &off) == 1 && off <= len);
		CHECK(sd == NULL);
		free(s);
		return 0;
	}
	char *out = sd_to_sddl(sd, dom);
	CHECK(out);
	sd_t *again = NULL;
	CHECK(sd_from_sddl(out, dom, &again, err, sizeof(err)) == CERR_OK);
	char *out2 = sd_to_sddl(again, dom);
	CHECK(out2 && strcmp(out, out2) == 0);

	buf_t b;
	buf_init(&b, BUF_DEFAULT_MAX);
	sd_encode(&b, sd);
	CHECK(buf_ok(&b) && b.len == sd_wire_len(sd));
	cur_t c;
	cur_init(&c, b.data, b.len);
	sd_t *dec = NULL;
	CHECK(sd_decode(&c, &dec) == CERR_OK && cur_empty(&c));
	char *out3 = sd_to_sddl(dec, dom);
	CHECK(out3 && strcmp(out, out3) == 0);

	check_access(sd);

	free(out3);
	sd_free(dec);
	buf_free(&b);
	free(out2);
	sd_free(again);
	free(out);
	sd_free(sd);
	free(s);
	return 0;
}
