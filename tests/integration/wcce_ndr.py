"""wcce_ndr.py - MS-WCCE ICertRequestD / ICertRequestD2 as impacket NDR classes.

python3-impacket 0.10 (Debian 12) has no WCCE module, so the tests define the
methods here from the IDL in MS-WCCE 3.2.1.4.2 and 3.2.1.4.3 (DCOMCALL puts
ORPCTHIS first, DCOMANSWER ORPCTHAT; CERTTRANSBLOB and its helpers are
certtrans_ndr.py's, shared with icpr_ndr.py). Run as a script it prints the
request stubs used as fixtures in tests/unit/test_wcce.c.
"""
import sys

from impacket.dcerpc.v5.dcomrt import DCOMANSWER, DCOMCALL, ORPCTHIS, COMVERSION
from impacket.dcerpc.v5.dtypes import DWORD, LONG, LPWSTR, NULL, ULONG
from impacket.dcerpc.v5.rpcrt import DCERPCException
from impacket.uuid import string_to_bin

from certtrans_ndr import CERTTRANSBLOB, blob, print_fixtures, response_blob  # noqa: F401 (re-exported)

CLSID_CertSrvRequest = string_to_bin("d99e6e74-fc88-11d0-b498-00a0c90312f3")
IID_ICertRequestD = string_to_bin("d99e6e70-fc88-11d0-b498-00a0c90312f3")
IID_ICertRequestD2 = string_to_bin("5422fd3a-d4b8-4cef-a12e-e87d4ca22e90")


class Request(DCOMCALL):
    opnum = 3
    structure = (
        ("dwFlags", DWORD),
        ("pwszAuthority", LPWSTR),
        ("pdwRequestId", DWORD),
        ("pwszAttributes", LPWSTR),
        ("pctbRequest", CERTTRANSBLOB),
    )


class RequestResponse(DCOMANSWER):
    structure = (
        ("pdwRequestId", DWORD),
        ("pdwDisposition", ULONG),
        ("pctbCertChain", CERTTRANSBLOB),
        ("pctbEncodedCert", CERTTRANSBLOB),
        ("pctbDispositionMessage", CERTTRANSBLOB),
        ("ErrorCode", ULONG),
    )


class GetCACert(DCOMCALL):
    opnum = 4
    structure = (("fchain", DWORD), ("pwszAuthority", LPWSTR))


class GetCACertResponse(DCOMANSWER):
    structure = (("pctbOut", CERTTRANSBLOB), ("ErrorCode", ULONG))


class Ping(DCOMCALL):
    opnum = 5
    structure = (("pwszAuthority", LPWSTR),)


class PingResponse(DCOMANSWER):
    structure = (("ErrorCode", ULONG),)


class Request2(DCOMCALL):
    opnum = 6
    structure = (
        ("pwszAuthority", LPWSTR),
        ("dwFlags", DWORD),
        ("pwszSerialNumber", LPWSTR),
        ("pdwRequestId", DWORD),
        ("pwszAttributes", LPWSTR),
        ("pctbRequest", CERTTRANSBLOB),
    )


class Request2Response(DCOMANSWER):
    structure = (
        ("pdwRequestId", DWORD),
        ("pdwDisposition", ULONG),
        ("pctbFullResponse", CERTTRANSBLOB),
        ("pctbEncodedCert", CERTTRANSBLOB),
        ("pctbDispositionMessage", CERTTRANSBLOB),
        ("ErrorCode", ULONG),
    )


class GetCAProperty(DCOMCALL):
    opnum = 7
    structure = (
        ("pwszAuthority", LPWSTR),
        ("PropID", LONG),
        ("PropIndex", LONG),
        ("PropType", LONG),
    )


class GetCAPropertyResponse(DCOMANSWER):
    structure = (("pctbPropertyValue", CERTTRANSBLOB), ("ErrorCode", ULONG))


class GetCAPropertyInfo(DCOMCALL):
    opnum = 8
    structure = (("pwszAuthority", LPWSTR),)


class GetCAPropertyInfoResponse(DCOMANSWER):
    structure = (("pcProperty", LONG), ("pctbPropInfo", CERTTRANSBLOB), ("ErrorCode", ULONG))


class Ping2(DCOMCALL):
    opnum = 9
    structure = (("pwszAuthority", LPWSTR),)


class Ping2Response(DCOMANSWER):
    structure = (("ErrorCode", ULONG),)


class DCERPCSessionError(DCERPCException):
    """What impacket's DCERPC.request raises for a non-zero HRESULT."""


def wstr(s):
    return (s + "\0") if s is not None else NULL


def orpcthis():
    """ORPCTHIS as impacket's DCOMConnection sends it: COM 5.7, no extensions,
    a fixed causality id so the fixtures are stable."""
    t = ORPCTHIS()
    v = COMVERSION()
    v["MajorVersion"] = 5
    v["MinorVersion"] = 7
    t["version"] = v
    t["flags"] = 0
    t["reserved1"] = 0
    t["cid"] = string_to_bin("01234567-89ab-cdef-0123-456789abcdef")
    t["extensions"] = NULL
    return t


def build_request(authority, request_id, attributes, csr, flags=0):
    r = Request()
    r["ORPCthis"] = orpcthis()
    r["dwFlags"] = flags
    r["pwszAuthority"] = wstr(authority)
    r["pdwRequestId"] = request_id
    r["pwszAttributes"] = wstr(attributes)
    r["pctbRequest"] = blob(csr)
    return r


def build_request2(authority, request_id, attributes, csr, serial=None, flags=0):
    r = Request2()
    r["ORPCthis"] = orpcthis()
    r["pwszAuthority"] = wstr(authority)
    r["dwFlags"] = flags
    r["pwszSerialNumber"] = wstr(serial)
    r["pdwRequestId"] = request_id
    r["pwszAttributes"] = wstr(attributes)
    r["pctbRequest"] = blob(csr)
    return r


def build_get_ca_cert(fchain, authority):
    r = GetCACert()
    r["ORPCthis"] = orpcthis()
    r["fchain"] = fchain
    r["pwszAuthority"] = wstr(authority)
    return r


def build_get_ca_property(authority, prop_id, prop_index, prop_type):
    r = GetCAProperty()
    r["ORPCthis"] = orpcthis()
    r["pwszAuthority"] = wstr(authority)
    r["PropID"] = prop_id
    r["PropIndex"] = prop_index
    r["PropType"] = prop_type
    return r


def build_authority_only(cls, authority):
    r = cls()
    r["ORPCthis"] = orpcthis()
    r["pwszAuthority"] = wstr(authority)
    return r


if __name__ == "__main__":
    fixtures = [
        ("fx_request", "Request: certa-CA, id 0, CertificateTemplate:User, 30 03 02 01 05, flags 0x100",
         build_request("certa-CA", 0, "CertificateTemplate:User", b"\x30\x03\x02\x01\x05", 0x100)),
        ("fx_request_retrieve", "Request: certa-CA, id 7, NULL attributes, empty request",
         build_request("certa-CA", 7, None, None)),
        ("fx_request2_serial", "Request2: certa-CA, serial 0a1b, id 0, NULL attributes, empty request",
         build_request2("certa-CA", 0, None, None, serial="0a1b")),
        ("fx_get_ca_cert", "GetCACert: fchain 'name' (0x6e616d65), NULL authority",
         build_get_ca_cert(0x6E616D65, None)),
        ("fx_get_ca_property", "GetCAProperty: certa-CA, CR_PROP_TEMPLATES 0x1d, index 0, type 4",
         build_get_ca_property("certa-CA", 0x1D, 0, 4)),
        ("fx_get_ca_property_info", "GetCAPropertyInfo: certa-CA",
         build_authority_only(GetCAPropertyInfo, "certa-CA")),
        ("fx_ping2", "Ping2: empty authority", build_authority_only(Ping2, "")),
    ]
    print_fixtures(fixtures)
    sys.exit(0)
