/*
 * fuzz_attrib.c - libFuzzer target for the request attribute string parser
 * (src/ca/attrib.c). Any input must parse or fail cleanly; on success the
 * result must respect the documented limits and every string must be
 * NUL-terminated within the input's length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca/attrib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ca_attribs_t *a = NULL;
	cerr_t rc = attrib_parse((const char *)data, size, &a);
	if (rc != CERR_OK) {
		if (a) {
			abort();
		}
		return 0;
	}
	if (a->num_pairs > ATTRIB_MAX_PAIRS || a->num_san > ATTRIB_MAX_SAN) {
		abort();
	}
	for (size_t i = 0; i < a->num_pairs; i++) {
		if (strlen(a->pairs[i].name) > ATTRIB_MAX_NAME || strlen(a->pairs[i].value) > size) {
			abort();
		}
	}
	if (a->template_name && strlen(a->template_name) > size) {
		abort();
	}
	for (size_t i = 0; i < a->num_san; i++) {
		if (!a->san[i].value[0] || !a->san[i].type_name[0]) {
			abort();
		}
	}
	(void)attrib_get(a, "CertificateTemplate");
	attrib_free(a);
	return 0;
}
