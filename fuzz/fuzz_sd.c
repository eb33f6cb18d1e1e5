/*
 * fuzz_sd.c - libFuzzer target for the self-relative security descriptor
 * decoder (src/security/sd.c). Any input must decode or fail cleanly with the
 * cursor untouched; what decodes must encode to bytes that decode to the same
 * encoding, print as SDDL whose parse prints the same (when SDDL can express
 * it), and give the access check one of its documented answers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "security/sd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *encode(const sd_t *sd, size_t *len)
{
	buf_t b;
	buf_init(&b, BUF_DEFAULT_MAX);
	sd_encode(&b, sd);
	CHECK(buf_ok(&b) && b.len == sd_wire_len(sd));
	uint8_t *p = buf_take(&b, len);
	CHECK(p);
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static token_t *anon, *user;
	if (!anon) {
		const char *groups[] = {SID_S_BUILTIN_ADMINISTRATORS};
		CHECK(token_new_anonymous(true, &anon) == CERR_OK);
		CHECK(token_from_sid_strings("alice", "CA1", "S-1-5-21-1-2-3-1000", groups, 1, TOKEN_AUTH_NTLM, &user) ==
		      CERR_OK);
	}
	cur_t c;
	sd_t *sd = NULL;
	cur_init(&c, data, size);
	cerr_t e = sd_decode(&c, &sd);
	if (e != CERR_OK) {
		CHECK(e == CERR_TRUNCATED || e == CERR_MALFORMED || e == CERR_NOMEM);
		CHECK(sd == NULL && cur_len(&c) == size);
		return 0;
	}
	CHECK(cur_empty(&c));
	size_t l1, l2;
	uint8_t *e1 = encode(sd, &l1);
	sd_t *back = NULL;
	cur_init(&c, e1, l1);
	CHECK(sd_decode(&c, &back) == CERR_OK);
	uint8_t *e2 = encode(back, &l2);
	CHECK(l1 == l2 && memcmp(e1, e2, l1) == 0);

	char *s = sd_to_sddl(sd, NULL);
	if (s) {
		sd_t *parsed = NULL;
		char err[256];
		CHECK(sd_from_sddl(s, NULL, &parsed, err, sizeof(err)) == CERR_OK);
		char *s2 = sd_to_sddl(parsed, NULL);
		CHECK(s2 && strcmp(s, s2) == 0);
		free(s2);
		sd_free(parsed);
	}

	token_t *who[2] = {anon, user};
	for (int i = 0; i < 2; i++) {
		uint32_t g;
		const char *why = NULL;
		e = sd_access_check(sd, who[i], SD_MAXIMUM_ALLOWED, NULL, &g, &why);
		CHECK((e == CERR_OK && g != 0) || (e == CERR_STATUS_ACCESS_DENIED && g == 0));
		CHECK(why && why[0]);
		e = sd_access_check(sd, who[i], SD_COM_RIGHTS_EXECUTE | SD_COM_RIGHTS_ACTIVATE_REMOTE, NULL, &g, &why);
		CHECK(e == CERR_OK || e == CERR_STATUS_ACCESS_DENIED);
	}

	free(s);
	free(e1);
	free(e2);
	sd_free(back);
	sd_free(sd);
	return 0;
}
