"""certtrans_ndr.py - what icpr_ndr.py and wcce_ndr.py share: CERTTRANSBLOB
(MS-WCCE 2.2.2.2, {ULONG cb; [size_is(cb), unique] BYTE *pb}) as impacket NDR
classes, the helpers that fill and read one, and the C array printer the two
modules use to print their request stubs as tests/unit fixtures.
"""
from impacket.dcerpc.v5.dtypes import NULL, ULONG
from impacket.dcerpc.v5.ndr import NDRPOINTER, NDRSTRUCT, NDRUniConformantArray


class BYTE_ARRAY(NDRUniConformantArray):
    item = "c"


class PBYTE_ARRAY(NDRPOINTER):
    referent = (("Data", BYTE_ARRAY),)


class CERTTRANSBLOB(NDRSTRUCT):
    structure = (("cb", ULONG), ("pb", PBYTE_ARRAY))


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


def response_blob(resp, name):
    """The bytes of the CERTTRANSBLOB field name of a decoded response (b"" for 0/NULL)."""
    b = resp[name]
    if b["pb"] in (NULL, None) or b["cb"] == 0:
        return b""
    return b"".join(b["pb"]) if isinstance(b["pb"][0], bytes) else bytes(b["pb"])


def c_array(name, data):
    """data as a C definition, static const uint8_t name[] = {...}, 12 bytes a line."""
    lines = ["static const uint8_t %s[] = {" % name]
    for i in range(0, len(data), 12):
        lines.append("\t" + " ".join("0x%02x," % b for b in data[i:i + 12]))
    lines.append("};")
    return "\n".join(lines)


def print_fixtures(fixtures):
    """Print (name, description, request) triples as commented C arrays."""
    for name, what, req in fixtures:
        print("/* %s */" % what)
        print(c_array(name, req.getData()))
