"""icpr_ndr.py - MS-ICPR CertServerRequest (opnum 0) as impacket NDR classes.

python3-impacket 0.10 (Debian 12) has no ICPR module, so the integration
tests define the method here from the IDL in MS-ICPR 3.2.4.1.1. Run as a
script it prints the request stubs used as fixtures in tests/unit/test_icpr.c.
"""
from impacket.dcerpc.v5.dtypes import DWORD, LPWSTR, NULL, ULONG
from impacket.dcerpc.v5.ndr import NDRCALL, NDRPOINTER, NDRSTRUCT, NDRUniConformantArray
from impacket.uuid import uuidtup_to_bin

MSRPC_UUID_ICPR = uuidtup_to_bin(("91AE6020-9E3C-11CF-8D7C-00AA00C091BE", "0.0"))


class BYTE_ARRAY(NDRUniConformantArray):
    item = "c"


class PBYTE_ARRAY(NDRPOINTER):
    referent = (("Data", BYTE_ARRAY),)


class CERTTRANSBLOB(NDRSTRUCT):
    structure = (("cb", ULONG), ("pb", PBYTE_ARRAY))


class CertServerRequest(NDRCALL):
    opnum = 0
    structure = (
        ("dwFlags", DWORD),
        ("pwszAuthority", LPWSTR),
        ("pdwRequestId", DWORD),
        ("pctbAttribs", CERTTRANSBLOB),
        ("pctbRequest", CERTTRANSBLOB),
    )


class CertServerRequestResponse(NDRCALL):
    structure = (
        ("pdwRequestId", DWORD),
        ("pdwDisposition", ULONG),
        ("pctbCert", CERTTRANSBLOB),
        ("pctbEncodedCert", CERTTRANSBLOB),
        ("pctbDispositionMessage", CERTTRANSBLOB),
        ("ErrorCode", ULONG),
    )


def blob(data):
    """A CERTTRANSBLOB holding data (bytes); None or b"" gives the empty 0/NULL blob."""
    b = CERTTRANSBLOB()
    if not data:
        b["cb"] = 0
        b["pb"] = NULL
    else:
        b["cb"] = len(data)
        b["pb"] = list(data)
    return b


def attribs(text):
    """pctbAttribs: UTF-16LE with the NUL, cb counting it (MS-ICPR 3.2.4.1.1)."""
    return (text + "\0").encode("utf-16-le")


def build_request(authority, request_id, attrib_text, csr, flags=0):
    r = CertServerRequest()
    r["dwFlags"] = flags
    r["pwszAuthority"] = (authority + "\0") if authority is not None else NULL
    r["pdwRequestId"] = request_id
    r["pctbAttribs"] = blob(attribs(attrib_text) if attrib_text is not None else None)
    r["pctbRequest"] = blob(csr)
    return r


def response_blob(resp, name):
    b = resp[name]
    if b["pb"] in (NULL, None) or b["cb"] == 0:
        return b""
    return b"".join(b["pb"]) if isinstance(b["pb"][0], bytes) else bytes(b["pb"])


if __name__ == "__main__":
    def dump(name, data):
        print("/* %s: %d bytes */" % (name, len(data)))
        for i in range(0, len(data), 12):
            print("\t" + " ".join("0x%02x," % x for x in data[i:i + 12]))
    dump("submit", build_request("certa-CA", 0, "CertificateTemplate:User", b"\x30\x03\x02\x01\x05").getData())
    dump("retrieve", build_request("certa-CA", 7, None, None).getData())
    dump("null_authority", build_request(None, 0, "CertificateTemplate:User", b"\x30\x00").getData())
