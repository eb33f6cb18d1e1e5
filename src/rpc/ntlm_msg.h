/*
 * ntlm_msg.h - NTLMSSP messages (MS-NLMP 2.2): NEGOTIATE, CHALLENGE and
 * AUTHENTICATE parsed into plain structs through the cursor (security
 * buffers become sub-cursors of the message, never offsets), AV pairs
 * (2.2.2.1), the NTLMv2 client challenge (2.2.2.7), and the encoders.
 * Parsing never acts: ntlm.c decides what the parsed fields mean.
 */
#ifndef CERTA_RPC_NTLM_MSG_H
#define CERTA_RPC_NTLM_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/cursor.h"
#include "util/err.h"

/* NegotiateFlags (MS-NLMP 2.2.2.5) */
#define NTLMSSP_NEGOTIATE_UNICODE 0x00000001u
#define NTLMSSP_NEGOTIATE_OEM 0x00000002u
#define NTLMSSP_REQUEST_TARGET 0x00000004u
#define NTLMSSP_NEGOTIATE_SIGN 0x00000010u
#define NTLMSSP_NEGOTIATE_SEAL 0x00000020u
#define NTLMSSP_NEGOTIATE_DATAGRAM 0x00000040u
#define NTLMSSP_NEGOTIATE_LM_KEY 0x00000080u
#define NTLMSSP_NEGOTIATE_NTLM 0x00000200u
#define NTLMSSP_NEGOTIATE_ANONYMOUS 0x00000800u
#define NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED 0x00001000u
#define NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED 0x00002000u
#define NTLMSSP_NEGOTIATE_ALWAYS_SIGN 0x00008000u
#define NTLMSSP_TARGET_TYPE_DOMAIN 0x00010000u
#define NTLMSSP_TARGET_TYPE_SERVER 0x00020000u
#define NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY 0x00080000u
#define NTLMSSP_NEGOTIATE_IDENTIFY 0x00100000u
#define NTLMSSP_REQUEST_NON_NT_SESSION_KEY 0x00400000u
#define NTLMSSP_NEGOTIATE_TARGET_INFO 0x00800000u
#define NTLMSSP_NEGOTIATE_VERSION 0x02000000u
#define NTLMSSP_NEGOTIATE_128 0x20000000u
#define NTLMSSP_NEGOTIATE_KEY_EXCH 0x40000000u
#define NTLMSSP_NEGOTIATE_56 0x80000000u

#define NTLM_MSG_NEGOTIATE 1u
#define NTLM_MSG_CHALLENGE 2u
#define NTLM_MSG_AUTHENTICATE 3u

/* AvId (MS-NLMP 2.2.2.1) */
enum ntlm_av_id {
	NTLM_AV_EOL = 0,
	NTLM_AV_NB_COMPUTER = 1,
	NTLM_AV_NB_DOMAIN = 2,
	NTLM_AV_DNS_COMPUTER = 3,
	NTLM_AV_DNS_DOMAIN = 4,
	NTLM_AV_DNS_TREE = 5,
	NTLM_AV_FLAGS = 6,
	NTLM_AV_TIMESTAMP = 7,
	NTLM_AV_SINGLE_HOST = 8,
	NTLM_AV_TARGET_NAME = 9,
	NTLM_AV_CHANNEL_BINDINGS = 10,
};
/* MsvAvFlags bits */
#define NTLM_AVF_CONSTRAINED 0x1u
#define NTLM_AVF_MIC_PRESENT 0x2u
#define NTLM_AVF_UNTRUSTED_SPN 0x4u

/* Offsets fixed by the AUTHENTICATE layout (MS-NLMP 2.2.1.3). */
#define NTLM_AUTH_HDR_LEN 64
#define NTLM_AUTH_MIC_OFFSET 72
#define NTLM_AUTH_MIC_END 88
/* Upper bound on any NTLMSSP token certa accepts (Windows tokens stay far below). */
#define NTLM_MAX_TOKEN 8192

/* VERSION (MS-NLMP 2.2.2.10) */
typedef struct ntlm_version {
	uint8_t major;
	uint8_t minor;
	uint16_t build;
	uint8_t revision; /* NTLMSSP_REVISION_W2K3 = 15 */
} ntlm_version_t;

typedef struct ntlm_negotiate_msg {
	uint32_t flags;
	cur_t domain;      /* OEM, only meaningful with OEM_DOMAIN_SUPPLIED */
	cur_t workstation; /* OEM, only meaningful with OEM_WORKSTATION_SUPPLIED */
	bool has_version;
	ntlm_version_t version;
} ntlm_negotiate_msg_t;

typedef struct ntlm_challenge_msg {
	uint32_t flags;
	uint8_t server_challenge[8];
	cur_t target_name;
	cur_t target_info; /* AV pairs; empty unless NTLMSSP_NEGOTIATE_TARGET_INFO */
	bool has_version;
	ntlm_version_t version;
} ntlm_challenge_msg_t;

typedef struct ntlm_authenticate_msg {
	uint32_t flags;
	cur_t lm_response;
	cur_t nt_response;
	cur_t domain;      /* UTF-16LE with NTLMSSP_NEGOTIATE_UNICODE */
	cur_t user;
	cur_t workstation;
	cur_t enc_session_key;
	bool has_version; /* the payload leaves room for Version (offset 64..72) */
	ntlm_version_t version;
	bool has_mic_field; /* the payload leaves room for the MIC (offset 72..88) */
	uint8_t mic[16];
} ntlm_authenticate_msg_t;

/* Known AV pairs; cursors are empty when the pair is absent. */
typedef struct ntlm_av_pairs {
	cur_t nb_computer, nb_domain, dns_computer, dns_domain, dns_tree;
	cur_t target_name, channel_bindings, single_host;
	bool has_flags;
	uint32_t flags;
	bool has_timestamp;
	uint64_t timestamp; /* FILETIME */
	unsigned n_pairs;   /* excluding EOL */
} ntlm_av_pairs_t;

/* NTLMv2_RESPONSE (2.2.2.8) with its NTLMv2_CLIENT_CHALLENGE (2.2.2.7) */
typedef struct ntlmv2_response {
	uint8_t proof[16]; /* NTProofStr */
	cur_t blob;        /* everything after the proof ("temp" of MS-NLMP 3.3.2) */
	uint8_t resp_type;
	uint8_t hi_resp_type;
	uint64_t timestamp;
	uint8_t client_challenge[8];
	cur_t av_pairs; /* from the AV pairs to the end (trailing padding included) */
} ntlmv2_response_t;

/* ntlm_peek_type checks the "NTLMSSP\0" signature and returns the MessageType.
 * CERR_SEC_E_INVALID_TOKEN if the token is not NTLMSSP. */
cerr_t ntlm_peek_type(const cur_t *msg, uint32_t *out_type);

/* The parsers take the whole token. Failures are CERR_SEC_E_INVALID_TOKEN
 * (detail logged at debug). Cursors in out point into msg's bytes. */
cerr_t ntlm_parse_negotiate(const cur_t *msg, ntlm_negotiate_msg_t *out);
cerr_t ntlm_parse_challenge(const cur_t *msg, ntlm_challenge_msg_t *out);
cerr_t ntlm_parse_authenticate(const cur_t *msg, ntlm_authenticate_msg_t *out);
/* ntlm_parse_av_pairs reads pairs up to MsvAvEOL (required); bytes after the
 * EOL are ignored (the NTLMv2 blob pads them). Duplicate or misplaced pairs
 * and wrong fixed sizes (Flags 4, Timestamp 8) are refused. */
cerr_t ntlm_parse_av_pairs(const cur_t *in, ntlm_av_pairs_t *out);
/* ntlm_parse_ntlmv2_response splits an NtChallengeResponse longer than 24 bytes. */
cerr_t ntlm_parse_ntlmv2_response(const cur_t *nt_response, ntlmv2_response_t *out);

/* ---- encoders; each appends one message to b (offsets relative to its start) ---- */

cerr_t ntlm_encode_negotiate(buf_t *b, uint32_t flags, const ntlm_version_t *version);
/* target_name is UTF-8 (written as UTF-16LE); target_info is a finished AV list. */
cerr_t ntlm_encode_challenge(buf_t *b, uint32_t flags, const uint8_t server_challenge[8],
			     const char *target_name, const uint8_t *target_info, size_t target_info_len,
			     const ntlm_version_t *version);

typedef struct ntlm_authenticate_out {
	uint32_t flags;
	const uint8_t *lm_response;
	size_t lm_response_len;
	const uint8_t *nt_response;
	size_t nt_response_len;
	const char *domain; /* UTF-8, written as UTF-16LE */
	const char *user;
	const char *workstation;
	const uint8_t *enc_session_key; /* NULL: empty field */
	size_t enc_session_key_len;
	const ntlm_version_t *version; /* NULL: zeros */
	bool mic_field; /* reserve the 16-byte MIC (zeros) at offset 72 */
} ntlm_authenticate_out_t;
/* ntlm_encode_authenticate always writes the Version field (and the MIC field
 * when asked) so the payload starts at 72 or 88. *out_msg_offset is where the
 * message starts in b, for computing and patching the MIC. */
cerr_t ntlm_encode_authenticate(buf_t *b, const ntlm_authenticate_out_t *m, size_t *out_msg_offset);

/* AV pair writers for building target info / the NTLMv2 blob. */
void ntlm_put_av(buf_t *b, uint16_t id, const void *p, size_t len);
/* ntlm_put_av_str writes a UTF-8 string as a UTF-16LE pair (no NUL); false on invalid UTF-8. */
bool ntlm_put_av_str(buf_t *b, uint16_t id, const char *s);

#endif
