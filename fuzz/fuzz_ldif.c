/*
 * fuzz_ldif.c - libFuzzer target for the LDIF reader (src/dir/ldif.c) and the
 * template mapping on top of it (src/ca/template.c). Any input must parse or
 * fail cleanly with an error message; parsed entries are mapped to templates
 * (which may fail) and every value must carry its terminating NUL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca/template.h"
#include "dir/ldif.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ldif_t *l = NULL;
	char err[256];
	err[0] = 0;
	cerr_t rc = ldif_parse(data, size, "fuzz.ldif", &l, err, sizeof(err));
	if (rc != CERR_OK) {
		if (l || (rc != CERR_NOMEM && !err[0])) {
			abort(); /* failures say where */
		}
		return 0;
	}
	for (size_t i = 0; i < l->num_entries; i++) {
		const ldif_entry_t *e = &l->entries[i];
		if (!e->dn) {
			abort();
		}
		for (size_t j = 0; j < e->num_attrs; j++) {
			for (size_t k = 0; k < e->attrs[j].num_values; k++) {
				if (e->attrs[j].values[k].data[e->attrs[j].values[k].len] != 0) {
					abort();
				}
			}
		}
		ca_template_t *t = NULL;
		if (template_from_entry(e, "fuzz.ldif", &t, err, sizeof(err)) == CERR_OK) {
			if (!t->cn || !t->display_name || t->validity_seconds == 0) {
				abort();
			}
			template_free(t);
		}
	}
	ldif_free(l);
	return 0;
}
