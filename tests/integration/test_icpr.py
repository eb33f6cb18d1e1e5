#!/usr/bin/python3
"""test_icpr.py - MS-ICPR CertServerRequest against a real certad, with
impacket as the client (the NDR classes are in icpr_ndr.py): a certificate is
issued at PKT_PRIVACY with the template's extension and EKUs; PKT_INTEGRITY is
refused with E_ACCESSDENIED (IF_ENFORCEENCRYPTICERTREQUEST); an unknown
template, a short key and a malformed CSR are denied in pdwDisposition with a
request ID; retrieval by ID returns the same certificate, also after certad
restarts; and `certa req` end to end gives files `openssl verify` accepts."""

import os
import re
import subprocess
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from impacket.dcerpc.v5.rpcrt import RPC_C_AUTHN_LEVEL_PKT_INTEGRITY, RPC_C_AUTHN_LEVEL_PKT_PRIVACY

import harness
import icpr_ndr
from harness import ICPR_UUID

CA_NAME = "certa-test-CA"  # harness.Certad's [ca] name
E_ACCESSDENIED = 0x80070005
E_INVALIDARG = 0x80070057
CERTSRV_E_UNSUPPORTED_CERT_TYPE = 0x80094800
CERTSRV_E_KEY_LENGTH = 0x80094811
CR_DISP_ISSUED = 3
OID_ENROLL_CERTTYPE = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2")  # V1 template name (BMPString)
OID_EFS = x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.4")


def make_csr(key=None, cn="alice"):
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.DER)


def bmp_string(der):
    """The text of a DER BMPString (tag 0x1e, short or long length)."""
    if der[0] != 0x1E:
        raise AssertionError(f"not a BMPString: {der.hex()}")
    if der[1] < 0x80:
        return der[2:2 + der[1]].decode("utf-16-be")
    n = der[1] & 0x7F
    length = int.from_bytes(der[2:2 + n], "big")
    return der[2 + n:2 + n + length].decode("utf-16-be")


class Result:
    def __init__(self, resp):
        self.status = resp["ErrorCode"]
        self.request_id = resp["pdwRequestId"]
        self.disposition = resp["pdwDisposition"]
        self.cert = icpr_ndr.response_blob(resp, "pctbEncodedCert")
        self.chain = icpr_ndr.response_blob(resp, "pctbCert")
        msg = icpr_ndr.response_blob(resp, "pctbDispositionMessage")
        self.message = msg.decode("utf-16-le").rstrip("\0") if msg else ""

    def __repr__(self):
        return (f"status=0x{self.status:08x} id={self.request_id} disposition=0x{self.disposition:08x} "
                f"message={self.message!r}")


class IcprTest(harness.CertadTestCase):
    def call(self, authority=CA_NAME, request_id=0, attribs="CertificateTemplate:User", csr=None,
             level=RPC_C_AUTHN_LEVEL_PKT_PRIVACY, raw_attribs=None, verify=False):
        port = self.ca.epm_resolve(ICPR_UUID)
        chunks = [] if verify else None
        dce = self.ca.connect(port, ICPR_UUID, level=level, record=chunks)
        try:
            req = icpr_ndr.build_request(authority, request_id, attribs, csr)
            if raw_attribs is not None:
                req["pctbAttribs"] = icpr_ndr.blob(raw_attribs)
            resp = dce.request(req, checkError=False)
            if verify:
                self.assertGreaterEqual(harness.verify_server_verifiers(dce, chunks), 1)
        finally:
            dce.disconnect()
        return Result(resp)

    def issue(self, **kw):
        r = self.call(csr=make_csr(), **kw)
        self.assertEqual((r.status, r.disposition), (0, CR_DISP_ISSUED), r)
        return r

    def test_issued_at_privacy(self):
        r = self.issue(verify=True)
        self.assertGreater(r.request_id, 0)
        self.assertEqual(r.message, "Issued")
        cert = x509.load_der_x509_certificate(r.cert)
        # the V1 template name extension, as AD CS puts it in User certificates
        ext = cert.extensions.get_extension_for_oid(OID_ENROLL_CERTTYPE)
        self.assertEqual(bmp_string(ext.value.value), "User")
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        self.assertIn(ExtendedKeyUsageOID.CLIENT_AUTH, eku)
        self.assertIn(ExtendedKeyUsageOID.EMAIL_PROTECTION, eku)
        self.assertIn(OID_EFS, eku)
        self.assertEqual(cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value, CA_NAME)
        # pctbCert: a degenerate PKCS#7 holding the issued certificate and the CA's
        out = subprocess.run(["openssl", "pkcs7", "-inform", "DER", "-print_certs", "-noout"],
                             input=r.chain, capture_output=True, check=True).stdout.decode()
        self.assertRegex(out, r"subject=\s*CN\s*=\s*alice")
        self.assertEqual(out.count("subject="), 2, out)

    def test_refused_below_privacy(self):
        r = self.call(csr=make_csr(), level=RPC_C_AUTHN_LEVEL_PKT_INTEGRITY)
        self.assertEqual(r.status, E_ACCESSDENIED, r)
        self.assertEqual(r.request_id, 0)
        self.assertEqual(r.cert, b"")
        self.assertIn("IF_ENFORCEENCRYPTICERTREQUEST", r.message)
        self.assertIn('"id":4888', self.ca.events())
        self.assertIn("the request was not encrypted (IF_ENFORCEENCRYPTICERTREQUEST)", self.ca.events())

    def test_denied_unknown_template(self):
        r = self.call(csr=make_csr(), attribs="CertificateTemplate:NoSuchTemplate")
        self.assertEqual(r.status, 0, r)
        self.assertEqual(r.disposition, CERTSRV_E_UNSUPPORTED_CERT_TYPE, r)
        self.assertGreater(r.request_id, 0)
        self.assertEqual(r.cert, b"")
        self.assertIn("NoSuchTemplate", r.message)

    def test_denied_short_key(self):
        small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        r = self.call(csr=make_csr(small))
        self.assertEqual((r.status, r.disposition), (0, CERTSRV_E_KEY_LENGTH), r)
        self.assertGreater(r.request_id, 0)

    def test_denied_malformed_csr(self):
        r = self.call(csr=b"\x30\x82\x01\x00this is not a certificate request")
        self.assertEqual(r.status, 0, r)
        self.assertGreaterEqual(r.disposition, 0x80000000, r)
        self.assertGreater(r.request_id, 0)
        self.assertEqual(r.cert, b"")

    def test_bad_authority_and_attribs(self):
        r = self.call(authority="Some Other CA", csr=make_csr())
        self.assertEqual(r.status, E_INVALIDARG, r)
        # cb must count the NUL (MS-ICPR 3.2.4.1.1)
        r = self.call(csr=make_csr(), raw_attribs="CertificateTemplate:User".encode("utf-16-le"))
        self.assertEqual(r.status, E_INVALIDARG, r)
        # NULL authority: certad's extension (Windows refuses it)
        self.issue(authority=None)

    def test_retrieve_and_restart(self):
        first = self.issue()
        again = self.call(request_id=first.request_id, attribs=None, csr=None)
        self.assertEqual((again.status, again.disposition, again.request_id),
                         (0, CR_DISP_ISSUED, first.request_id), again)
        self.assertEqual(again.cert, first.cert)
        denied = self.call(csr=make_csr(), attribs="CertificateTemplate:NoSuchTemplate")
        # restart on the same state: certificates and requests are still there
        self.ca.assert_clean_exit()
        self.ca.start(add_user=False)
        after = self.call(request_id=first.request_id, attribs=None, csr=None)
        self.assertEqual((after.status, after.disposition), (0, CR_DISP_ISSUED), after)
        self.assertEqual(after.cert, first.cert)
        again_denied = self.call(request_id=denied.request_id, attribs=None, csr=None)
        self.assertEqual(again_denied.status, 0, again_denied)
        self.assertNotIn(again_denied.disposition, (CR_DISP_ISSUED, 5), again_denied)
        self.assertEqual(again_denied.cert, b"")

    def test_certa_req_end_to_end(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "alice")
            p = self.ca.certa("req", "--ca", "127.0.0.1", "--port", str(self.ca.epm_port),
                              "--user", self.ca.user, "--domain", harness.DOMAIN, "--password-stdin",
                              "--template", "User", "--out", out, "--pfx", "--pfx-password-stdin",
                              stdin=self.ca.password + "\npfx-pass\n")
            self.assertIn("issued: request ID", p.stdout)
            self.assertEqual(os.stat(out + ".key").st_mode & 0o777, 0o600)
            v = subprocess.run(["openssl", "verify", "-CAfile", out + "-chain.pem", out + ".pem"],
                               capture_output=True, text=True)
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
            subprocess.run(["openssl", "pkcs12", "-in", out + ".pfx", "-passin", "pass:pfx-pass",
                            "-noout"], check=True, capture_output=True)
            # the private key matches the certificate
            key = serialization.load_pem_private_key(open(out + ".key", "rb").read(), None)
            cert = x509.load_pem_x509_certificate(open(out + ".pem", "rb").read())
            self.assertEqual(key.public_key().public_numbers(), cert.public_key().public_numbers())

            # a denial prints the code, its name and its meaning; exit 77
            p = self.ca.certa("req", "--ca", "127.0.0.1", "--port", str(self.ca.epm_port),
                              "--user", self.ca.user, "--password-stdin", "--template", "NoSuchTemplate",
                              "--out", out + "2", stdin=self.ca.password + "\n", check=False)
            self.assertEqual(p.returncode, 77, p.stdout + p.stderr)
            self.assertIn("denied: 0x80094800 CERTSRV_E_UNSUPPORTED_CERT_TYPE: The requested certificate "
                          "template is not supported by this CA.", p.stderr)
            self.assertFalse(os.path.exists(out + "2.key"))

            # below PKT_PRIVACY: refused with E_ACCESSDENIED
            p = self.ca.certa("req", "--ca", "127.0.0.1", "--port", str(self.ca.epm_port),
                              "--user", self.ca.user, "--password-stdin", "--template", "User",
                              "--auth-level", "integrity", "--out", out + "3",
                              stdin=self.ca.password + "\n", check=False)
            self.assertEqual(p.returncode, 77, p.stdout + p.stderr)
            self.assertIn("0x80070005 E_ACCESSDENIED", p.stderr)

            # retrieval by ID, and an EC key with a CSR file
            rid = int(re.search(r"request ID (\d+)", self.ca.certa(
                "req", "--ca", "127.0.0.1", "--port", str(self.ca.epm_port), "--user", self.ca.user,
                "--password-stdin", "--template", "User", "--out", out + "4",
                stdin=self.ca.password + "\n").stdout).group(1))
            self.ca.certa("req", "--ca", "127.0.0.1", "--port", str(self.ca.epm_port), "--user",
                          self.ca.user, "--password-stdin", "--retrieve", str(rid), "--out", out + "5",
                          stdin=self.ca.password + "\n")
            self.assertEqual(open(out + "4.pem").read(), open(out + "5.pem").read())


if __name__ == "__main__":
    harness.main()
