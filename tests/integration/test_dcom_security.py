#!/usr/bin/python3
"""test_dcom_security.py - Windows' DCOM security model in front of certad's
activator, driven by impacket's DCOMConnection (which dials port 135 whatever
we say, so certad's endpoint mapper listens on 127.0.0.1:135; root only, and
registered not to run in parallel with the other port-135 tests):

- an unauthenticated RemoteCreateInstance (a bind without auth) and one over
  an NTLM null session get the fault nca_s_fault_access_denied and System
  event 10027 for NT AUTHORITY\\ANONYMOUS LOGON (S-1-5-7, and nothing else in
  its token) from 127.0.0.1;
- a CONNECT-level activation gets E_ACCESSDENIED and event 10036
  (KB5004442); with [dcom] require_integrity_activation = off it activates;
- a network user at PKT_INTEGRITY activates, calls the object, and releases
  it through IRemUnknown on the same connection (impacket opens a second
  security context with alter_context for that);
- once the local group "Certificate Service DCOM Access" exists with alice
  alone, bob (no longer a member of S-1-5-32-574, not otherwise granted) is
  refused with 10027, and `certa diagnose` tells how to add him;
- the motivating chain: a caller refused SeNetworkLogonRight (4625,
  0xc000015b) falls back to an anonymous activation (10027), and `certa
  diagnose` names SeNetworkLogonRight as the fix;
- a [dcom] descriptor that does not parse stops certad with file:line and
  the offset;
- tshark dissects the activation, OXID resolver and IRemUnknown traffic with
  no malformed-packet or error-level expert info on certad's packets."""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import unittest

from impacket.dcerpc.v5 import transport
from impacket.dcerpc.v5.dcomrt import DCOMConnection, IObjectExporter, IRemoteSCMActivator
from impacket.dcerpc.v5.rpcrt import (RPC_C_AUTHN_LEVEL_CONNECT, RPC_C_AUTHN_LEVEL_PKT_INTEGRITY,
                                      RPC_C_AUTHN_LEVEL_PKT_PRIVACY, DCERPCException)

import harness
import wcce_ndr as w

EPM_PORT = 135
E_ACCESSDENIED = 0x80070005
EX_CONFIG = 78
EX_REFUSALS = 1
CD_GROUP = "Certificate Service DCOM Access"
INF_HEAD = '[Unicode]\nUnicode=yes\n[Version]\nsignature="$CHICAGO$"\nRevision=1\n[Privilege Rights]\n'
BOB, BOB_PW = "bob", "B0b-pass-word"
CAROL, CAROL_PW = "carol", "C4rol-pass-word"


def port_135_free():
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", EPM_PORT))
            return True
        except OSError:
            return False


def need_port_135():
    if os.geteuid() != 0:
        raise unittest.SkipTest("port 135 needs root")
    if not port_135_free():
        raise unittest.SkipTest("something already listens on 127.0.0.1:135")


def certad_on_135(extra_conf="", rights=None):
    """A certad whose endpoint mapper is on 127.0.0.1:135 (not started)."""
    c = harness.Certad(extra_conf=extra_conf)
    with open(c.conf) as f:
        conf = f.read()
    with open(c.conf, "w") as f:
        f.write(re.sub(r"(?m)^epm_port = \d+$", f"epm_port = {EPM_PORT}", conf))
    c.epm_port = EPM_PORT
    if rights is not None:
        with open(os.path.join(c.state, "secpol.inf"), "w") as f:
            f.write(INF_HEAD + rights)
    return c


def events(ca, event_id=None):
    out = []
    try:
        with open(ca.events_path) as f:
            for line in f:
                rec = json.loads(line)
                if event_id is None or rec["id"] == event_id:
                    out.append(rec["data"])
    except FileNotFoundError:
        pass
    return out


def disconnect(dcom):
    # impacket's DCOMConnection.disconnect trips over its own class-wide
    # table when this thread never opened an object connection
    try:
        dcom.disconnect()
    except KeyError:
        pass


def unauthenticated_activation():
    """RemoteCreateInstance over a bind without authentication, as Windows'
    DCOMSCM sends it after an authenticated attempt failed."""
    t = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:127.0.0.1[{EPM_PORT}]")
    t.set_connect_timeout(15)
    dce = t.get_dce_rpc()
    dce.connect()
    try:
        IRemoteSCMActivator(dce).RemoteCreateInstance(w.CLSID_CertSrvRequest, w.IID_ICertRequestD)
    finally:
        dce.disconnect()


def object_exporter(fn):
    """fn(IObjectExporter) on a fresh NTLM connection to 135 (impacket's
    IObjectExporter binds on each call, and a connection binds once)."""
    t = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:127.0.0.1[{EPM_PORT}]")
    t.set_connect_timeout(15)
    t.set_credentials(harness.USER, harness.PASSWORD, harness.DOMAIN)
    dce = t.get_dce_rpc()
    dce.set_auth_level(RPC_C_AUTHN_LEVEL_PKT_INTEGRITY)
    dce.connect()
    try:
        return fn(IObjectExporter(dce))
    finally:
        dce.disconnect()


def ping(iface):
    """ICertRequestD::Ping on the object (opnum 5): its HRESULT (the CA
    answers E_ACCESSDENIED below PKT_PRIVACY: IF_ENFORCEENCRYPTICERTREQUEST;
    either way the call got through DCOM's checks)."""
    req = w.Ping()
    req["ORPCthis"] = iface.get_cinstance().get_ORPCthis()
    req["ORPCthis"]["flags"] = 0
    req["pwszAuthority"] = "certa-test-CA\0"
    iface.connect(w.IID_ICertRequestD)
    resp = iface.get_dce_rpc().request(req, iface.get_iPid(), checkError=False)
    return resp["ErrorCode"]


class DcomSecurity(unittest.TestCase):
    """One certad: alice and bob may log on (CertUsers), carol may not."""

    @classmethod
    def setUpClass(cls):
        need_port_135()
        cls.ca = certad_on_135(rights="SeNetworkLogonRight = CertUsers\n")
        cls.ca.add_user()  # alice
        cls.ca.add_user(BOB, BOB_PW)
        cls.ca.add_user(CAROL, CAROL_PW)
        cls.ca.certa("group", "add", "CertUsers")
        cls.ca.certa("group", "addmember", "CertUsers", "alice")
        cls.ca.certa("group", "addmember", "CertUsers", BOB)
        cls.ca.start(add_user=False)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "ca", None):
            cls.ca.assert_clean_exit()

    def dcom(self, user=harness.USER, password=harness.PASSWORD, level=RPC_C_AUTHN_LEVEL_PKT_INTEGRITY):
        d = DCOMConnection("127.0.0.1", user, password, harness.DOMAIN if user else "", authLevel=level)
        self.addCleanup(disconnect, d)
        return d

    def activate(self, **kw):
        return self.dcom(**kw).CoCreateInstanceEx(w.CLSID_CertSrvRequest, w.IID_ICertRequestD)

    def assert_access_denied_fault(self, fn, *args, **kw):
        with self.assertRaises(DCERPCException) as cm:
            fn(*args, **kw)
        # impacket names the fault status: 5 is nca_s_fault_access_denied
        self.assertIn("rpc_s_access_denied", str(cm.exception))

    def last(self, event_id, **match):
        recs = [r for r in events(self.ca, event_id) if all(r.get(k) == v for k, v in match.items())]
        self.assertTrue(recs, f"no event {event_id} with {match}:\n{self.ca.events()[-4000:]}")
        return recs[-1]

    def diagnose(self):
        p = self.ca.certa("diagnose", check=False)
        self.assertEqual(p.returncode, EX_REFUSALS, p.stdout + p.stderr)
        return p.stdout

    # -- in name order --

    def test_1_unauthenticated_activation_is_10027(self):
        n = len(events(self.ca, 10027))
        self.assert_access_denied_fault(unauthenticated_activation)
        recs = events(self.ca, 10027)
        self.assertEqual(len(recs), n + 1, self.ca.events()[-4000:])
        d = recs[-1]
        self.assertEqual(d["TargetUserSid"], "S-1-5-7")
        self.assertEqual(d["TargetUserName"], "ANONYMOUS LOGON")
        self.assertEqual(d["TargetDomainName"], "NT AUTHORITY")
        self.assertEqual(d["IpAddress"], "127.0.0.1")
        self.assertEqual(d["Permission"], "Remote Activation")
        self.assertEqual(d["Clsid"], "{D99E6E74-FC88-11D0-B498-00A0C90312F3}")
        self.assertEqual(d["Status"], "0x00000005")
        self.assertEqual(d["Groups"], "")  # S-1-5-7 alone: no Everyone
        self.assertTrue(d["Message"].startswith(
            "The machine wide limit settings do not grant Remote Activation permission for COM Server "
            "applications to the user NT AUTHORITY\\ANONYMOUS LOGON SID (S-1-5-7) from address 127.0.0.1 "
            "running in the application container Unavailable SID (Unavailable)."), d["Message"])

    def test_2_null_session_activation_is_10027(self):
        # [auth] anonymous is off: the null session completes on the
        # endpoint mapper only, logs 4624 ANONYMOUS LOGON, and the limits refuse it
        self.assert_access_denied_fault(self.activate, user="", password="")
        d = self.last(10027, TargetUserSid="S-1-5-7", AuthenticationPackageName="NTLM")
        self.assertEqual(d["AuthenticationLevel"], RPC_C_AUTHN_LEVEL_PKT_INTEGRITY)
        self.last(4624, TargetUserSid="S-1-5-7")

    def test_3_connect_level_is_10036(self):
        with self.assertRaises(DCERPCException) as cm:
            self.activate(level=RPC_C_AUTHN_LEVEL_CONNECT)
        self.assertEqual(cm.exception.get_error_code(), E_ACCESSDENIED, str(cm.exception))
        d = self.last(10036, TargetUserName=harness.USER)
        self.assertEqual(d["AuthenticationLevel"], RPC_C_AUTHN_LEVEL_CONNECT)
        self.assertEqual(d["Status"], "0x80070005")
        self.assertIn("Please raise the activation authentication level at least to "
                      "RPC_C_AUTHN_LEVEL_PKT_INTEGRITY in client application.", d["Message"])
        out = self.diagnose()
        self.assertIn("require_integrity_activation", out)
        self.assertIn("RPC_C_AUTHN_LEVEL_PKT_INTEGRITY", out)

    def test_4_integrity_activates_calls_and_releases(self):
        for level in (RPC_C_AUTHN_LEVEL_PKT_INTEGRITY, RPC_C_AUTHN_LEVEL_PKT_PRIVACY):
            # one DCOMConnection per level: impacket keeps one object
            # connection per OXID and thread, at the level it was opened with
            d = DCOMConnection("127.0.0.1", harness.USER, harness.PASSWORD, harness.DOMAIN, authLevel=level)
            try:
                iface = d.CoCreateInstanceEx(w.CLSID_CertSrvRequest, w.IID_ICertRequestD)
                iface.get_cinstance().set_auth_level(level)
                self.assertEqual(ping(iface), 0 if level == RPC_C_AUTHN_LEVEL_PKT_PRIVACY else E_ACCESSDENIED)
                # RemRelease goes through IRemUnknown: impacket switches
                # interface on the object connection with an alter_context
                # that starts a new security context (auth_context_id + 1)
                iface.RemRelease()
            finally:
                disconnect(d)
        self.assertIn("an added security context", self.ca.stderr())

    def test_5_removed_from_cd_group_is_10027(self):
        self.ca.certa("group", "add", CD_GROUP)
        self.addCleanup(self.ca.certa, "group", "del", CD_GROUP)
        self.ca.certa("group", "addmember", CD_GROUP, "alice")
        # alice, a member, still activates
        iface = self.activate(level=RPC_C_AUTHN_LEVEL_PKT_PRIVACY)
        self.assertEqual(ping(iface), 0)
        # bob is not, and nothing else grants him remote activation
        self.assert_access_denied_fault(self.activate, user=BOB, password=BOB_PW)
        d = self.last(10027, TargetUserName=BOB)
        self.assertEqual(d["TargetDomainName"], harness.DOMAIN)
        self.assertNotIn("S-1-5-32-574", d["Groups"])
        self.assertIn("no DACL entry grants", d["Reason"])
        self.assertIn(f"to the user {harness.DOMAIN}\\{BOB} SID (S-1-5-21-", d["Message"])
        out = self.diagnose()
        self.assertIn(f'certa group addmember "{CD_GROUP}" {BOB}', out)
        self.assertIn("machine_launch_restriction", out)

    def test_6_refused_logon_then_anonymous_fallback(self):
        # the motivating chain: carol's logon is refused (no
        # SeNetworkLogonRight), the client falls back to an anonymous
        # activation, which the machine-wide limits refuse
        self.assert_access_denied_fault(self.activate, user=CAROL, password=CAROL_PW)
        d4625 = self.last(4625, TargetUserName=CAROL)
        self.assertEqual(d4625["Status"], "0xc000015b")
        self.assert_access_denied_fault(unauthenticated_activation)
        self.last(10027, TargetUserSid="S-1-5-7")
        out = self.diagnose()
        self.assertIn("fell back to anonymous because its logon was refused", out)
        self.assertIn(f"{harness.DOMAIN}\\{CAROL}", out)
        self.assertIn("SeNetworkLogonRight", out)


class DcomIntegrityOff(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        need_port_135()
        cls.ca = certad_on_135("[dcom]\nrequire_integrity_activation = off\n").start()

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "ca", None):
            cls.ca.assert_clean_exit()

    def test_connect_level_activates(self):
        d = DCOMConnection("127.0.0.1", harness.USER, harness.PASSWORD, harness.DOMAIN,
                           authLevel=RPC_C_AUTHN_LEVEL_CONNECT)
        try:
            iface = d.CoCreateInstanceEx(w.CLSID_CertSrvRequest, w.IID_ICertRequestD)
            self.assertIsNotNone(iface)
        finally:
            disconnect(d)
        self.assertEqual(events(self.ca, 10036), [])


class DcomBadSddl(unittest.TestCase):
    def test_bad_sddl_stops_certad(self):
        c = harness.Certad(extra_conf="[dcom]\nmachine_launch_restriction = O:BAG:BAD:(X;;CC;;;WD)\n")
        try:
            with open(c.conf) as f:
                line = f.read().splitlines().index("machine_launch_restriction = O:BAG:BAD:(X;;CC;;;WD)") + 1
            c.add_user()
            p = subprocess.run([harness.CERTAD, "--state", c.state, "--config", c.conf], capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(p.returncode, EX_CONFIG, p.stdout + p.stderr)
            self.assertRegex(p.stderr, re.escape(f"{c.conf}:{line}: machine_launch_restriction: at offset ")
                             + r"\d+: ")
        finally:
            c.cleanup()


LAYERS = ("DCERPC", "ISystemActivator", "REMACT", "OXID", "IOXIDResolver", "REMUNK", "REMUNK2", "DCOM",
          "NTLMSSP")


class DcomTshark(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        need_port_135()
        import test_tshark
        why = test_tshark.capture_problem()
        if why:
            raise unittest.SkipTest(why)
        cls.Capture = test_tshark.Capture
        cls.ca = certad_on_135().start()

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "ca", None):
            cls.ca.assert_clean_exit()

    def tshark(self, *args):
        cmd = ["tshark", "-n", "-r", self.pcap, "-o", f"ntlmssp.nt_password:{harness.PASSWORD}",
               "-d", f"tcp.port=={self.ca.dynamic_port},dcerpc"]
        p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, f"{' '.join(cmd + list(args))}:\n{p.stderr}")
        return p.stdout

    def test_activation_oxid_remunknown_dissect_cleanly(self):
        self.pcap = os.path.join(self.ca.dir, "dcom.pcapng")
        cap = self.Capture(self.pcap, (EPM_PORT, self.ca.dynamic_port))
        try:
            d = DCOMConnection("127.0.0.1", harness.USER, harness.PASSWORD, harness.DOMAIN,
                               authLevel=RPC_C_AUTHN_LEVEL_PKT_INTEGRITY)
            try:
                iface = d.CoCreateInstanceEx(w.CLSID_CertSrvRequest, w.IID_ICertRequestD)
                iface.get_cinstance().set_auth_level(RPC_C_AUTHN_LEVEL_PKT_INTEGRITY)
                self.assertEqual(ping(iface), E_ACCESSDENIED)  # an HRESULT, not a fault
                # the OXID resolver: ServerAlive, ResolveOxid2 of our OXID
                object_exporter(lambda x: x.ServerAlive())
                object_exporter(lambda x: x.ResolveOxid2(iface.get_oxid(), (7,)))
                iface.RemRelease()
            finally:
                disconnect(d)
            # and a refused (anonymous) activation
            with self.assertRaises(DCERPCException):
                unauthenticated_activation()
        finally:
            cap.stop()

        summary = self.tshark()
        low = summary.lower()
        for what in ("remotecreateinstance", "remrelease", "serveralive", "resolveoxid2"):
            self.assertIn(what, low, f"no {what} in the capture:\n{summary}")
        from_server = f"(tcp.srcport == {EPM_PORT} || tcp.srcport == {self.ca.dynamic_port})"
        expert = self.tshark("-q", "-z", f"expert,warn,{from_server}")
        bad = []
        for line in expert.splitlines():
            m = re.match(r"\s*\d+\s+(\S+)\s+(\S+)\s+(.*)$", line)
            if m and (m.group(2) in LAYERS or m.group(1) == "Malformed"):
                bad.append(line.strip())
        self.assertEqual(bad, [], f"Wireshark expert warnings/errors on certad's packets:\n{expert}\n\n"
                                  f"frames:\n{summary}")
        # the refused activation is a fault with status nca_s_fault_access_denied
        faults = self.tshark("-Y", f"{from_server} && dcerpc.pkt_type == 3", "-T", "fields", "-e",
                             "dcerpc.cn_status")
        self.assertIn("0x00000005", faults, summary)


if __name__ == "__main__":
    harness.main()
