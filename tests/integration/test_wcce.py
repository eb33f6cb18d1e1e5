#!/usr/bin/python3
"""test_wcce.py - MS-WCCE over DCOM against a real certad, with impacket's
DCOMConnection as the client (the NDR classes are in wcce_ndr.py). impacket
dials the endpoint mapper on port 135 whatever we say, so certad listens
there on 127.0.0.1 (we are root) and the test is registered not to run in
parallel with others. Activation of the CertSrv Request class gives
ICertRequestD and ICertRequestD2; Request issues a certificate at
PKT_PRIVACY, and at PKT_INTEGRITY once IF_ENFORCEENCRYPTICERTREQUEST is off
(refused with E_ACCESSDENIED and event 4888 while it is on); the object
connection goes to the advertised string binding; GetCACert, GetCAProperty,
Request2 and Ping2 answer; RemRelease of the references activation handed
out frees the object; and `certa req --dcom` enrolls end to end."""

import os
import re
import socket
import struct
import subprocess
import tempfile
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from impacket.dcerpc.v5.dcomrt import DCOMConnection, REMINTERFACEREF, RemRelease
from impacket.dcerpc.v5.dcomrt import IID_IRemUnknown
from impacket.uuid import bin_to_uuidtup
from impacket.dcerpc.v5.rpcrt import (RPC_C_AUTHN_LEVEL_PKT_INTEGRITY, RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
                                      DCERPCException)

import harness
import wcce_ndr as w

CA_NAME = "certa-test-CA"  # harness.Certad's [ca] name
EPM_PORT = 135
E_ACCESSDENIED = 0x80070005
CR_DISP_ISSUED = 3
CR_PROP_CANAME, CR_PROP_TEMPLATES = 0x06, 0x1D
PROPTYPE_STRING = 4
GETCERT_CANAME = 0x6E616D65


def make_csr(cn="alice"):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.DER)


def port_135_free():
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", EPM_PORT))
            return True
        except OSError:
            return False


def start_certad(extra_conf=""):
    """A certad whose endpoint mapper is on 127.0.0.1:135."""
    c = harness.Certad(extra_conf=extra_conf)
    with open(c.conf) as f:
        conf = f.read()
    conf = re.sub(r"(?m)^epm_port = \d+$", f"epm_port = {EPM_PORT}", conf)
    with open(c.conf, "w") as f:
        f.write(conf)
    c.epm_port = EPM_PORT
    return c.start()


def wstr_blob(s):
    return (s + "\0").encode("utf-16-le")


def call(iface, iid, req):
    """One ORPC call as impacket's INTERFACE.request makes it, but keeping a
    non-zero HRESULT instead of raising."""
    req["ORPCthis"] = iface.get_cinstance().get_ORPCthis()
    req["ORPCthis"]["flags"] = 0
    iface.connect(iid)
    return iface.get_dce_rpc().request(req, iface.get_iPid(), checkError=False)


def public_refs(iface):
    """cPublicRefs of the STDOBJREF activation handed us (OBJREF_STANDARD:
    signature, flags, iid, then STDOBJREF {flags, cPublicRefs, ...})."""
    objref = iface.get_objRef()
    if isinstance(objref, (bytes, bytearray)):
        return struct.unpack_from("<L", objref, 4 + 4 + 16 + 4)[0]
    return objref["std"]["cPublicRefs"]


def disconnect(dcom):
    """DCOMConnection.disconnect, which raises KeyError in impacket 0.10 when
    this thread never opened an object connection."""
    try:
        dcom.disconnect()
    except KeyError:
        pass


class DcomCase(unittest.TestCase):
    certad = None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("port 135 needs root")
        if not port_135_free():
            raise unittest.SkipTest("something already listens on 127.0.0.1:135")
        cls.certad = start_certad(getattr(cls, "extra_conf", ""))

    @classmethod
    def tearDownClass(cls):
        if cls.certad:
            cls.certad.assert_clean_exit()

    def dcom(self, level=RPC_C_AUTHN_LEVEL_PKT_PRIVACY, user=None, password=None):
        d = DCOMConnection("127.0.0.1", user if user is not None else harness.USER,
                           password if password is not None else harness.PASSWORD, harness.DOMAIN,
                           authLevel=level)
        self.addCleanup(disconnect, d)
        return d

    def activate(self, iid=w.IID_ICertRequestD, level=RPC_C_AUTHN_LEVEL_PKT_PRIVACY):
        """CoCreateInstanceEx at level; the object connection at the same level
        (impacket would adopt the activator's authnHint, PKT_PRIVACY)."""
        iface = self.dcom(level).CoCreateInstanceEx(w.CLSID_CertSrvRequest, iid)
        iface.get_cinstance().set_auth_level(level)
        return iface

    def request(self, iface, level_iid=w.IID_ICertRequestD, template="User"):
        req = w.Request()
        req["dwFlags"] = 0x100
        req["pwszAuthority"] = CA_NAME + "\0"
        req["pdwRequestId"] = 0
        req["pwszAttributes"] = f"CertificateTemplate:{template}\0"
        req["pctbRequest"] = w.blob(make_csr())
        return call(iface, level_iid, req)


class TestWcce(DcomCase):
    def test_request_at_privacy(self):
        iface = self.activate()
        # the object connection went to the string binding certad advertised
        bindings = [b["aNetworkAddr"] for b in iface.get_cinstance().get_string_bindings() if b["wTowerId"] == 7]
        self.assertTrue(any(b.startswith("127.0.0.1[") for b in bindings), bindings)
        resp = self.request(iface)
        self.assertEqual(resp["ErrorCode"], 0)
        self.assertEqual(resp["pdwDisposition"], CR_DISP_ISSUED)
        self.assertGreater(resp["pdwRequestId"], 0)
        cert = x509.load_der_x509_certificate(w.response_blob(resp, "pctbEncodedCert"))
        self.assertEqual(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value, harness.USER)
        msg = w.response_blob(resp, "pctbDispositionMessage").decode("utf-16-le").rstrip("\0")
        self.assertEqual(msg, "Issued")
        # the certificate chains to the CA
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "c.pem")
            with open(path, "wb") as f:
                f.write(cert.public_bytes(serialization.Encoding.PEM))
            v = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(self.certad.state, "ca.crt"), path],
                               capture_output=True, text=True)
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertIn('"Protocol":"WCCE"', self.certad.events())

    def test_integrity_refused_while_enforced(self):
        iface = self.activate(level=RPC_C_AUTHN_LEVEL_PKT_INTEGRITY)
        resp = self.request(iface)
        self.assertEqual(resp["ErrorCode"], E_ACCESSDENIED)
        self.assertEqual(resp["pdwRequestId"], 0)
        self.assertIn("IF_ENFORCEENCRYPTICERTREQUEST", self.certad.events())

    def test_d2_methods(self):
        iface = self.activate(w.IID_ICertRequestD2)
        iid = w.IID_ICertRequestD2
        r = w.GetCACert()
        r["fchain"] = GETCERT_CANAME
        r["pwszAuthority"] = w.wstr(None)
        resp = call(iface, iid, r)
        self.assertEqual(resp["ErrorCode"], 0)
        self.assertEqual(w.response_blob(resp, "pctbOut"), wstr_blob(CA_NAME))
        p = w.GetCAProperty()
        p["pwszAuthority"] = w.wstr(CA_NAME)
        p["PropID"], p["PropIndex"], p["PropType"] = CR_PROP_TEMPLATES, 0, PROPTYPE_STRING
        resp = call(iface, iid, p)
        self.assertEqual(resp["ErrorCode"], 0)
        templates = w.response_blob(resp, "pctbPropertyValue").decode("utf-16-le").rstrip("\0").split("\n")
        self.assertIn("User", templates)
        self.assertTrue(templates[templates.index("User") + 1].startswith("1.3.6.1.4.1.311.21.8."))
        info = w.GetCAPropertyInfo()
        info["pwszAuthority"] = w.wstr(CA_NAME)
        resp = call(iface, iid, info)
        self.assertEqual(resp["ErrorCode"], 0)
        self.assertEqual(resp["pcProperty"], 0x32)
        ping = w.Ping2()
        ping["pwszAuthority"] = w.wstr("")
        self.assertEqual(call(iface, iid, ping)["ErrorCode"], 0)
        r2 = w.Request2()
        r2["pwszAuthority"] = w.wstr(CA_NAME)
        r2["dwFlags"] = 0x100
        r2["pwszSerialNumber"] = w.wstr(None)
        r2["pdwRequestId"] = 0
        r2["pwszAttributes"] = w.wstr("CertificateTemplate:User")
        r2["pctbRequest"] = w.blob(make_csr())
        resp = call(iface, iid, r2)
        self.assertEqual(resp["ErrorCode"], 0)
        self.assertEqual(resp["pdwDisposition"], CR_DISP_ISSUED)
        cert = x509.load_der_x509_certificate(w.response_blob(resp, "pctbEncodedCert"))
        # and back by its serial number (MS-WCCE 3.2.1.4.3.1.2), upper case
        # hex of an even length (a fresh object: impacket keeps a pointer
        # NULL once it was)
        serial = "%X" % cert.serial_number
        get = w.Request2()
        get["pwszAuthority"] = w.wstr(CA_NAME)
        get["dwFlags"] = 0
        get["pwszSerialNumber"] = w.wstr(serial if len(serial) % 2 == 0 else "0" + serial)
        get["pdwRequestId"] = 0
        get["pwszAttributes"] = w.wstr(None)
        get["pctbRequest"] = w.blob(None)
        again = call(iface, iid, get)
        self.assertEqual(again["ErrorCode"], 0)
        self.assertEqual(again["pdwDisposition"], CR_DISP_ISSUED)
        self.assertEqual(again["pdwRequestId"], resp["pdwRequestId"])
        self.assertEqual(w.response_blob(again, "pctbEncodedCert"), w.response_blob(resp, "pctbEncodedCert"))

    def rem_release(self, dce, iface, refs):
        rel = RemRelease()
        rel["ORPCthis"] = iface.get_cinstance().get_ORPCthis()
        rel["ORPCthis"]["flags"] = 0
        rel["cInterfaceRefs"] = 1
        ref = REMINTERFACEREF()
        ref["ipid"] = iface.get_iPid()
        ref["cPublicRefs"] = refs
        ref["cPrivateRefs"] = 0
        rel["InterfaceRefs"].append(ref)
        return dce.request(rel, iface.get_ipidRemUnknown(), checkError=False)

    def test_remrelease_frees_the_object(self):
        iface = self.activate()
        ping = w.Ping()
        ping["pwszAuthority"] = w.wstr(CA_NAME)
        self.assertEqual(call(iface, w.IID_ICertRequestD, ping)["ErrorCode"], 0)
        # give back every reference the OBJREF carried, on a connection of
        # its own to the exporter, bound to IRemUnknown
        port = int(re.search(r"\[(\d+)\]", iface.get_cinstance().get_string_bindings()[0]["aNetworkAddr"]).group(1))
        dce = self.certad.connect(port, bin_to_uuidtup(IID_IRemUnknown), level=RPC_C_AUTHN_LEVEL_PKT_PRIVACY)
        self.addCleanup(dce.disconnect)
        resp = self.rem_release(dce, iface, public_refs(iface))
        self.assertEqual(resp["ErrorCode"], 0)
        # the interface pointer is gone (RPC_E_INVALID_IPID / a fault)
        try:
            r = call(iface, w.IID_ICertRequestD, ping)
        except DCERPCException:
            pass
        else:
            self.assertNotEqual(r["ErrorCode"], 0)

    def test_impacket_remrelease(self):
        """impacket's own RemRelease (one reference) on the object connection:
        an alter_context to IRemUnknown with a second NTLM context."""
        iface = self.activate()
        ping = w.Ping()
        ping["pwszAuthority"] = w.wstr(CA_NAME)
        self.assertEqual(call(iface, w.IID_ICertRequestD, ping)["ErrorCode"], 0)
        resp = iface.RemRelease()
        self.assertEqual(resp["ErrorCode"], 0)

    def certa_req(self, tmp, *extra, level="privacy", password=harness.PASSWORD):
        args = ["req", "--dcom", "--ca", "127.0.0.1", "--user", harness.USER, "--domain", harness.DOMAIN,
                "--password-stdin", "--template", "User", "--out", os.path.join(tmp, "u"),
                "--auth-level", level, "--timeout", "30", *extra]
        return subprocess.run([harness.CERTA, *args], input=password + "\n", capture_output=True, text=True,
                              timeout=120)

    def test_certa_req_dcom(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = self.certa_req(tmp)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("issued: request ID", p.stdout)
            for name in ("u.key", "u.pem", "u-chain.pem"):
                self.assertTrue(os.path.exists(os.path.join(tmp, name)), name)
            v = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(tmp, "u-chain.pem"),
                                os.path.join(tmp, "u.pem")], capture_output=True, text=True)
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
            # below PKT_PRIVACY the CA refuses with E_ACCESSDENIED (exit 77)
            p = self.certa_req(tmp, level="integrity")
            self.assertEqual(p.returncode, 77, p.stdout + p.stderr)
            self.assertIn("0x80070005", p.stderr)

    def test_certa_req_dcom_activation_refused(self):
        """An anonymous activation is refused at the activator with
        nca_s_fault_access_denied; certa says what Windows would show and why."""
        with tempfile.TemporaryDirectory() as tmp:
            p = subprocess.run([harness.CERTA, "req", "--dcom", "--ca", "127.0.0.1", "--auth-level", "none",
                                "--template", "User", "--out", os.path.join(tmp, "u"), "--timeout", "30"],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 77, p.stdout + p.stderr)
            self.assertIn("nca_s_fault_access_denied", p.stderr)
            self.assertIn("RPC_S_SERVER_UNAVAILABLE", p.stderr)
            self.assertIn("certa diagnose", p.stderr)


class TestWcceIntegrityAllowed(DcomCase):
    extra_conf = "[ca]\nenforce_encryption = off\n"

    def test_request_at_integrity(self):
        iface = self.activate(level=RPC_C_AUTHN_LEVEL_PKT_INTEGRITY)
        resp = self.request(iface)
        self.assertEqual(resp["ErrorCode"], 0)
        self.assertEqual(resp["pdwDisposition"], CR_DISP_ISSUED)


if __name__ == "__main__":
    harness.main()
