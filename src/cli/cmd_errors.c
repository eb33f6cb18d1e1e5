/*
 * cmd_errors.c - `certa errors CODE...`: what a number or name from a Windows
 * client, an event, a log line or a packet capture means, from the one error
 * table (util/errtab.h). A value can mean different things in different
 * spaces (5 is ERROR_ACCESS_DENIED and nca_s_fault_access_denied), so every
 * match is printed, plus the codes an HRESULT wraps (MS-ERREF 2.1.2:
 * HRESULT_FROM_WIN32 is 0x8007xxxx; HRESULT_FROM_NT sets the N bit 0x10000000).
 * `certa errors --list` prints the whole table.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "cli/subcommands.h"
#include "util/err.h"

static const char *space_name(cerr_space_t s)
{
	switch (s) {
	case CERR_SPACE_INTERNAL:
		return "certa";
	case CERR_SPACE_NTSTATUS:
		return "NTSTATUS";
	case CERR_SPACE_WIN32:
		return "Win32";
	case CERR_SPACE_HRESULT:
		return "HRESULT";
	case CERR_SPACE_NCA:
		return "DCE/RPC fault";
	default:
		return "?";
	}
}

static void print_code(cerr_t e, const char *via)
{
	uint32_t v = cerr_value(e);
	if (cerr_space(e) == CERR_SPACE_WIN32) {
		printf("0x%08X %s (%s %u%s): %s\n", v, cerr_name(e), space_name(cerr_space(e)), v, via, cerr_msg(e));
	} else {
		printf("0x%08X %s (%s%s): %s\n", v, cerr_name(e), space_name(cerr_space(e)), via, cerr_msg(e));
	}
}

/* parse 0x-hex, plain hex with a-f, decimal, or a negative decimal (HRESULTs
 * as signed 32-bit numbers, the way .NET and PowerShell print them) */
static bool parse_value(const char *s, uint32_t *out)
{
	const char *digits = s;
	char *end = NULL;
	int base = 10;

	errno = 0;
	if (s[0] == '-') {
		long long v = strtoll(s, &end, 10);
		if (errno || end == s + 1 || *end || v < INT32_MIN) {
			return false;
		}
		*out = (uint32_t)(int32_t)v;
		return true;
	}
	if (strncasecmp(s, "0x", 2) == 0) {
		base = 16;
		digits = s + 2;
	}
	if (!*digits) {
		return false;
	}
	for (const char *p = digits; *p; p++) {
		if (!isxdigit((unsigned char)*p)) {
			return false; /* a name such as E_FAIL */
		}
		if (!isdigit((unsigned char)*p)) {
			base = 16; /* "800706ba" without 0x */
		}
	}
	unsigned long long v = strtoull(digits, &end, base);
	if (errno || *end || v > UINT32_MAX) {
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

static bool explain_value(uint32_t v)
{
	bool found = false;

	for (int i = 1; i < CERR__COUNT; i++) {
		if (cerr_value((cerr_t)i) == v && cerr_space((cerr_t)i) != CERR_SPACE_INTERNAL) {
			print_code((cerr_t)i, "");
			found = true;
		}
	}
	if (v == 0) {
		printf("0x00000000 S_OK / ERROR_SUCCESS / STATUS_SUCCESS: success\n");
		return true;
	}
	char via[64];
	if ((v & 0xFFFF0000u) == 0x80070000u) {
		cerr_t e = cerr_lookup(CERR_SPACE_WIN32, v & 0xFFFFu);
		snprintf(via, sizeof(via), "; HRESULT 0x%08X = HRESULT_FROM_WIN32(%u)", v, v & 0xFFFFu);
		if (e != CERR__COUNT) {
			print_code(e, via);
			found = true;
		}
	}
	if ((v & 0x10000000u) && (v & 0x80000000u)) {
		cerr_t e = cerr_lookup(CERR_SPACE_NTSTATUS, v & ~0x10000000u);
		snprintf(via, sizeof(via), "; HRESULT 0x%08X = HRESULT_FROM_NT", v);
		if (e != CERR__COUNT) {
			print_code(e, via);
			found = true;
		}
	}
	if (v < 0x10000u && v != 0) {
		cerr_t e = cerr_lookup(CERR_SPACE_HRESULT, 0x80070000u | v);
		snprintf(via, sizeof(via), "; as an HRESULT: 0x%08X", 0x80070000u | v);
		if (e != CERR__COUNT && cerr_lookup(CERR_SPACE_WIN32, v) == CERR__COUNT) {
			print_code(e, via);
			found = true;
		}
	}
	if (!found) {
		printf("0x%08X: not in certa's error table", v);
		if (v & 0x80000000u) {
			printf(" (an HRESULT failure: facility %u, code %u)", (v >> 16) & 0x7FFu, v & 0xFFFFu);
		}
		printf("\n");
	}
	return found;
}

static bool explain_name(const char *name)
{
	bool found = false;
	for (int i = 0; i < CERR__COUNT; i++) {
		if (strcasecmp(cerr_name((cerr_t)i), name) == 0) {
			print_code((cerr_t)i, "");
			found = true;
		}
	}
	if (!found) {
		printf("%s: no code of that name in certa's error table (certa errors --list shows them all)\n", name);
	}
	return found;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: certa errors CODE...\n"
		   "       certa errors --list\n\n"
		   "Explains error codes: HRESULTs (0x800706ba), Win32 (1722), NTSTATUS (0xc000015b),\n"
		   "DCE/RPC fault statuses (0x1c010002), signed HRESULTs (-2147023174) or names\n"
		   "(RPC_S_SERVER_UNAVAILABLE). Exit status 0 if every code is known, 1 otherwise.\n");
}

int cmd_errors_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"list", no_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool list = false;
	int ch;

	while ((ch = getopt_long(argc, argv, "+lh", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			list = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (list) {
		for (int i = 1; i < CERR__COUNT; i++) {
			print_code((cerr_t)i, "");
		}
		return 0;
	}
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	bool all = true;
	for (int i = optind; i < argc; i++) {
		uint32_t v;
		bool ok = parse_value(argv[i], &v) ? explain_value(v) : explain_name(argv[i]);
		all = all && ok;
	}
	return all ? 0 : 1;
}
