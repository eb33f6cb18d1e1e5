"""icpr_ndr.py - MS-ICPR CertServerRequest (opnum 0) as impacket NDR classes.

python3-impacket 0.10 (Debian 12) has no ICPR module, so the integration
tests define the method here from the IDL in MS-ICPR 3.2.4.1.1 (CERTTRANSBLOB
and its helpers are certtrans_ndr.py's, shared with wcce_ndr.py). Run as a
script it prints the request stubs used as fixtures in tests/unit/test_icpr.c.
"""
from impacket.dcerpc.v5.dtypes import DWORD, LPWSTR, NULL, ULONG
from impacket.dcerpc.v5.ndr import NDRCALL
from impacket.uuid import uuidtup_to_bin

from certtrans_ndr import CERTTRANSBLOB, blob, print_fixtures, response_blob  # noqa: F401 (re-exported)

MSRPC_UUID_ICPR = uuidtup_to_bin(("91AE6020-9E3C-11CF-8D7C-00AA00C091BE", "0.0"))


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


if __name__ == "__main__":
    print_fixtures([
        ("fx_submit", 'submit: authority "certa-CA", id 0, "CertificateTemplate:User", request 30 03 02 01 05',
         build_request("certa-CA", 0, "CertificateTemplate:User", b"\x30\x03\x02\x01\x05")),
        ("fx_retrieve", 'retrieve: authority "certa-CA", id 7, both blobs empty (0/NULL)',
         build_request("certa-CA", 7, None, None)),
        ("fx_null_authority", 'null_authority: NULL pwszAuthority, "CertificateTemplate:User", request 30 00',
         build_request(None, 0, "CertificateTemplate:User", b"\x30\x00")),
    ])
