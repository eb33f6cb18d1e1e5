#!/usr/bin/python3
"""test_rpc.py - certad's RPC front door with impacket as the client: the
endpoint mapper finds ICPR's dynamic port; NTLM binds at CONNECT,
PKT_INTEGRITY and PKT_PRIVACY work there and mgmt inq_if_ids lists the
interfaces served there; a wrong password, an unknown opnum and an unknown interface are
refused the way Windows refuses them (MS-RPCE 3.3.1.5.2, C706 12.6.4.1)."""

from impacket.dcerpc.v5 import mgmt
from impacket.dcerpc.v5.rpcrt import (DCERPCException, RPC_C_AUTHN_LEVEL_CONNECT,
                                      RPC_C_AUTHN_LEVEL_PKT_INTEGRITY, RPC_C_AUTHN_LEVEL_PKT_PRIVACY)
from impacket.uuid import bin_to_string

import harness
from harness import EPM_UUID, ICPR_UUID, MGMT_UUID

LEVELS = {
    "CONNECT": RPC_C_AUTHN_LEVEL_CONNECT,
    "PKT_INTEGRITY": RPC_C_AUTHN_LEVEL_PKT_INTEGRITY,
    "PKT_PRIVACY": RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
}


def if_ids(resp):
    """The interface UUIDs of an inq_if_ids response (C706 App. Q), lower case."""
    return {bin_to_string(ref["Data"]["Uuid"]).lower() for ref in resp["if_id_vector"]["if_id"]}


class RpcTest(harness.CertadTestCase):
    def dynamic_port(self):
        port = self.ca.epm_resolve(ICPR_UUID)
        self.assertEqual(port, self.ca.dynamic_port,
                         "the endpoint mapper must return the port certad announced")
        return port

    def test_epm_resolves_icpr(self):
        self.assertNotEqual(self.dynamic_port(), self.ca.epm_port)

    def test_ntlm_levels_and_inq_if_ids(self):
        port = self.dynamic_port()
        for name, level in LEVELS.items():
            with self.subTest(level=name):
                raw = []
                dce = self.ca.connect(port, MGMT_UUID, level=level, record=raw)
                try:
                    ids = if_ids(mgmt.hinq_if_ids(dce))
                    # the interfaces served on this listener: ICPR; mgmt itself
                    # is left out, as Windows does (impacket's rpcmap probes it apart)
                    self.assertIn(ICPR_UUID[0], ids, f"inq_if_ids at {name} lacks ICPR: {sorted(ids)}")
                    self.assertNotIn(EPM_UUID[0], ids, "the endpoint mapper is served on its own port")
                    # a second call exercises sequence numbers and the RC4 state
                    mgmt.hinq_if_ids(dce)
                finally:
                    dce.disconnect()
                if level != RPC_C_AUTHN_LEVEL_CONNECT:
                    n = harness.verify_server_verifiers(dce, raw)
                    self.assertEqual(n, 2, f"expected 2 signed responses at {name}")

    def test_mgmt_on_epm_port(self):
        dce = self.ca.connect(self.ca.epm_port, MGMT_UUID)
        try:
            ids = if_ids(mgmt.hinq_if_ids(dce))
        finally:
            dce.disconnect()
        self.assertIn(EPM_UUID[0], ids)
        self.assertNotIn(ICPR_UUID[0], ids, "ICPR is served on the dynamic port only")

    def test_wrong_password_refused(self):
        port = self.dynamic_port()
        with self.assertRaises(Exception) as cm:
            dce = self.ca.connect(port, MGMT_UUID, level=RPC_C_AUTHN_LEVEL_PKT_PRIVACY, password="wrong")
            try:
                mgmt.hinq_if_ids(dce)
            finally:
                dce.disconnect()
        text = str(cm.exception).lower()
        # NTLM: the failure shows at auth3, which has no reply, so the first
        # call is faulted with access denied (Windows: nca_s_fault_access_denied 5);
        # a bind_nak or logon failure is accepted as well.
        self.assertTrue(any(s in text for s in ("access_denied", "access denied", "logon_failure",
                                                 "logon failure", "0xc000006d", "invalid_checksum")),
                        f"unexpected refusal: {cm.exception!r}")
        self.assertTrue(self.ca.alive())

    def test_unknown_user_refused(self):
        port = self.dynamic_port()
        with self.assertRaises(Exception) as cm:
            dce = self.ca.connect(port, MGMT_UUID, level=RPC_C_AUTHN_LEVEL_PKT_INTEGRITY, user="mallory")
            try:
                mgmt.hinq_if_ids(dce)
            finally:
                dce.disconnect()
        self.assertIn("access", str(cm.exception).lower() + repr(cm.exception).lower())

    def test_unknown_opnum(self):
        cases = [("epm port, no auth", self.ca.epm_port, None),
                 ("dynamic port, PKT_PRIVACY", self.dynamic_port(), RPC_C_AUTHN_LEVEL_PKT_PRIVACY)]
        for name, port, level in cases:
            with self.subTest(case=name):
                dce = self.ca.connect(port, MGMT_UUID, level=level)
                try:
                    dce.call(200, b"")
                    with self.assertRaises(DCERPCException) as cm:
                        dce.recv()
                    if level is None:
                        # the connection survives a fault: a valid call still works
                        # (not checked when sealed: impacket skips a fault's verifier,
                        # so its RC4 state would no longer match the server's)
                        mgmt.hinq_if_ids(dce)
                finally:
                    dce.disconnect()
                # impacket 0.10 raises nca_s_op_rng_error by name from recv()
                err = cm.exception
                self.assertTrue(err.get_error_code() == 0x1C010002 or "nca_s_op_rng_error" in str(err),
                                repr(err))

    def test_unknown_interface_rejected(self):
        bogus = ("12345678-1234-abcd-ef00-0123456789ab", "1.0")
        with self.assertRaises(DCERPCException) as cm:
            dce = self.ca.connect(self.ca.epm_port, bogus)
            dce.disconnect()
        self.assertIn("abstract_syntax_not_supported", str(cm.exception))

    def test_icpr_not_on_epm_port(self):
        # ICPR is served on the dynamic port only, as on Windows
        with self.assertRaises(DCERPCException) as cm:
            dce = self.ca.connect(self.ca.epm_port, ICPR_UUID)
            dce.disconnect()
        self.assertIn("abstract_syntax_not_supported", str(cm.exception))


if __name__ == "__main__":
    harness.main()
