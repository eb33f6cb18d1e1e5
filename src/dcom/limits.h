/*
 * limits.h - every limit the DCOM layer applies to what a peer sends and to
 * what one client can make the object exporter hold, each with its reason
 * (in the manner of rpc/limits.h). Wire counts are always compared with the
 * bytes remaining before anything is allocated from them; these limits bound
 * the work done after. Each may be overridden at compile time (-DDCOM_...=n).
 */
#ifndef CERTA_DCOM_LIMITS_H
#define CERTA_DCOM_LIMITS_H

/* ORPC_EXTENTs in one ORPC_EXTENT_ARRAY (MS-DCOM 2.2.13.2). Windows sends at
 * most a few (causality, error information, context); 32 leaves room. */
#ifndef DCOM_MAX_ORPC_EXTENTS
#define DCOM_MAX_ORPC_EXTENTS 32u
#endif

/* Bytes in one ORPC_EXTENT's data. The extents we meet (error info, context
 * marshalers) are far smaller; 64 KiB bounds the skip. */
#ifndef DCOM_MAX_ORPC_EXTENT_SIZE
#define DCOM_MAX_ORPC_EXTENT_SIZE 65536u
#endif

/* An MInterfacePointer's abData (MS-DCOM 2.2.14): an OBJREF. impacket's
 * activation blob is 416 bytes; a Windows blob with client and prototype
 * contexts a few KiB. 64 KiB is ample. */
#ifndef DCOM_MAX_MIP_LEN
#define DCOM_MAX_MIP_LEN 65536u
#endif

/* Properties in an activation blob: MS-DCOM 2.2.28.1 MAX_ACTPROP_LIMIT. */
#define DCOM_MAX_ACTPROPS 10u
#define DCOM_MIN_ACTPROPS 1u

/* IIDs requested in one activation or RemQueryInterface. The IDL allows
 * MAX_REQUESTED_INTERFACES (0x8000, MS-DCOM 2.2.28.1); clients ask for one to
 * a handful. 256 bounds the per-call work and the reply size. */
#ifndef DCOM_MAX_REQUESTED_IIDS
#define DCOM_MAX_REQUESTED_IIDS 256u
#endif
#if DCOM_MAX_REQUESTED_IIDS > 0x8000
#error "DCOM_MAX_REQUESTED_IIDS cannot exceed MAX_REQUESTED_INTERFACES (0x8000)"
#endif

/* Protocol sequences a client lists (MAX_REQUESTED_PROTSEQS is 0x8000). */
#ifndef DCOM_MAX_PROTSEQS
#define DCOM_MAX_PROTSEQS 64u
#endif

/* String or security bindings in one DUALSTRINGARRAY, and the characters in
 * one binding's address or principal name. Windows lists a name and a few
 * addresses; names are DNS names or SPNs (255 characters at most). */
#ifndef DCOM_MAX_BINDINGS
#define DCOM_MAX_BINDINGS 64u
#endif
#ifndef DCOM_MAX_BINDING_CHARS
#define DCOM_MAX_BINDING_CHARS 1024u
#endif

/* REMINTERFACEREFs in one RemAddRef/RemRelease (cInterfaceRefs is a u16). */
#ifndef DCOM_MAX_INTERFACE_REFS
#define DCOM_MAX_INTERFACE_REFS 1024u
#endif

/* OIDs in one ping set, and added or removed by one ComplexPing (the counts
 * are u16 on the wire). A client pings the objects it holds: a handful. */
#ifndef DCOM_MAX_SET_OIDS
#define DCOM_MAX_SET_OIDS 4096u
#endif

/* Strings inside activation properties (LocationInfoData.machineName,
 * InstanceInfoData.fileName, COSERVERINFO.pwszName): MAX_PATH-sized. */
#ifndef DCOM_MAX_PROP_STRING
#define DCOM_MAX_PROP_STRING 1024u
#endif

/* Object exporter defaults (dcom_exporter_config_t): objects alive at once
 * and ping sets at once. Each object costs a few hundred bytes plus what the
 * class keeps; 16384 covers a busy CA's concurrent enrollments many times. */
#ifndef DCOM_DEFAULT_MAX_OBJECTS
#define DCOM_DEFAULT_MAX_OBJECTS 16384u
#endif
#ifndef DCOM_DEFAULT_MAX_SETS
#define DCOM_DEFAULT_MAX_SETS 16384u
#endif

#endif
