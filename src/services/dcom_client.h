/*
 * dcom_client.h - the client side of DCOM as `certa req --dcom` uses it
 * (MS-DCOM 3.2.4): RemoteCreateInstance on the activator
 * (IRemoteSCMActivator, endpoint-mapper port) for a CLSID and a list of
 * IIDs, a connection to the object exporter the reply names, ORPC calls
 * (ORPCTHIS / ORPCTHAT around a method's parameters, the IPID as the
 * request's object UUID), and RemRelease through IRemUnknown. Built on the
 * dcom/ codecs (ORPCTHIS, OBJREF, activation properties) and rpc/client.h.
 */
#ifndef CERTA_SERVICES_DCOM_CLIENT_H
#define CERTA_SERVICES_DCOM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcom/objref.h"
#include "dcom/orpc.h"
#include "rpc/client.h"
#include "util/arena.h"
#include "util/cursor.h"
#include "util/err.h"
#include "util/guid.h"

/* Opnums (MS-DCOM 3.1.2.5.2.3, 3.1.1.5.6) */
#define DCOM_OPNUM_REMOTE_CREATE_INSTANCE 4 /* IRemoteSCMActivator */
#define DCOM_OPNUM_REM_RELEASE 5            /* IRemUnknown */

/* What activation gave for one requested IID. */
typedef struct dcom_client_iface {
	guid_t iid;
	uint32_t hresult;     /* S_OK, or E_NOINTERFACE & co. */
	guid_t ipid;          /* the interface pointer's IPID (when hresult is S_OK) */
	uint64_t oid;
	uint32_t public_refs; /* references the OBJREF handed us (to give back with RemRelease) */
} dcom_client_iface_t;

/* The outcome of RemoteCreateInstance (MS-DCOM 3.1.2.5.2.3.2). */
typedef struct dcom_client_activation {
	uint32_t hresult;                 /* the method's return value */
	uint64_t oxid;                    /* ScmReplyInfoData */
	dcom_dualstringarray_t bindings;  /* the exporter's string bindings ("host[port]") */
	guid_t ipid_remunknown;
	uint32_t authn_hint;              /* lowest authentication level the server takes */
	dcom_version_t server_version;
	uint32_t n_ifaces;
	dcom_client_iface_t *ifaces;      /* in the order requested */
} dcom_client_activation_t;

/* dcom_client_encode_create_instance writes a RemoteCreateInstance request
 * stub: ORPCTHIS (COM 5.7, causality id cid), pUnkOuter NULL, and
 * pActProperties holding ActivationPropertiesIn with InstantiationInfo
 * (clsid, the IIDs), ActivationContextInfo (no contexts), LocationInfo and
 * ScmRequestInfo (ncacn_ip_tcp), as impacket and Windows clients send it. */
cerr_t dcom_client_encode_create_instance(buf_t *b, const guid_t *cid, const guid_t *clsid, const guid_t *iids,
					  size_t n_iids);
/* dcom_client_decode_create_instance parses the response stub (ORPCTHAT,
 * ppActProperties, HRESULT). With a failing HRESULT only out->hresult is
 * set. CERR_MALFORMED when the stub, the OBJREF or the properties do not
 * decode, or the reply does not answer the IIDs asked. */
cerr_t dcom_client_decode_create_instance(cur_t *in, arena_t *a, const guid_t *iids, size_t n_iids,
					  dcom_client_activation_t *out);

/* dcom_client_activate connects to host:port (the endpoint mapper's port,
 * 135 normally), binds IRemoteSCMActivator with auth and calls
 * RemoteCreateInstance. CERR_OK when a reply arrived (check out->hresult);
 * otherwise the connection, bind or call failure with err filled (a fault
 * such as nca_s_fault_access_denied is in err->fault_status). */
cerr_t dcom_client_activate(const char *host, uint16_t port, const rpc_client_auth_t *auth,
			    const rpc_client_config_t *cfg, const guid_t *clsid, const guid_t *iids, size_t n_iids,
			    arena_t *a, dcom_client_activation_t *out, rpc_client_error_t *err);

/* dcom_client_object_port finds the object exporter's TCP port in the
 * ncacn_ip_tcp string bindings ("host[port]"), preferring one whose host is
 * the one dialled. The caller connects to the dialled address with that
 * port: the server may advertise a name or address the client cannot reach
 * (NAT, another interface). *binding_host gets the advertised host (arena). */
bool dcom_client_object_port(const dcom_client_activation_t *act, const char *dialled, arena_t *a, uint16_t *port,
			     const char **binding_host);

/* dcom_client_open connects to host:port and binds iid (v0.0) with auth. */
cerr_t dcom_client_open(const char *host, uint16_t port, const guid_t *iid, const rpc_client_auth_t *auth,
			const rpc_client_config_t *cfg, rpc_client_t **out, rpc_client_error_t *err);

/* dcom_client_begin starts an ORPC request stub in b with ORPCTHIS (COM
 * 5.7, a fresh causality id); the method's [in] parameters follow, encoded
 * into the same builder so NDR alignment counts from the stub start. */
void dcom_client_begin(buf_t *b);
/* dcom_client_call sends stub as opnum on the interface pointer ipid (the
 * request's object UUID) and checks ORPCTHAT. *resp (malloc'd, free()) holds
 * the response; *body is positioned after ORPCTHAT with its base at the stub
 * start. Errors as rpc_client_call; CERR_MALFORMED for a bad ORPCTHAT. */
cerr_t dcom_client_call(rpc_client_t *c, const guid_t *ipid, uint16_t opnum, const buf_t *stub, uint8_t **resp,
			size_t *resp_len, cur_t *body);

/* dcom_client_encode_rem_release writes RemRelease's [in] (after ORPCTHIS):
 * one REMINTERFACEREF {ipid, public_refs, private_refs} (MS-DCOM 2.2.21.2). */
cerr_t dcom_client_encode_rem_release(buf_t *b, const guid_t *ipid, uint32_t public_refs, uint32_t private_refs);
/* dcom_client_rem_release opens a connection to the exporter (host:port),
 * binds IRemUnknown and releases the references one interface holds.
 * *hresult is RemRelease's return value. */
cerr_t dcom_client_rem_release(const char *host, uint16_t port, const rpc_client_auth_t *auth,
			       const rpc_client_config_t *cfg, const dcom_client_activation_t *act,
			       const dcom_client_iface_t *iface, uint32_t *hresult, rpc_client_error_t *err);

#endif
