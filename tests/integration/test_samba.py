#!/usr/bin/python3
"""test_samba.py - certad as a member of a real Active Directory domain (a
Samba AD DC started by the test on 127.0.0.3, samba_dc.py; 127.0.0.2 is left
to test_kerberos.py so both can run at once), with [auth] ntlm_backend =
winbind: NTLM logons of domain users are validated by the DC through
winbindd (MS-APDS pass-through), the token carries the SIDs the DC reports
(user, Domain Users, the user's domain groups), and the user-rights policy
names a domain group ("CERTASMB\\CertRequesters", resolved through winbind).
A user outside the granted group gets the access-denied fault and 4625 with
0xc000015b; a wrong password is 4625 0xc000006d/0xc000006a as the DC said.
With Kerberos ([auth] kerberos, keytab), the same user's ticket from the
Samba KDC carries a PAC whose groups (in 4624) match the NTLM SIDs, and the
refused user's Kerberos logon is refused with 4625 0xc000015b and bind_nak
reason 9 in the bind, as Windows does: the token is made from the AP-REQ
(MS-KILE 3.4.5.1), though the client's AP-REP would still follow in an
alter_context (impacket's SPNEGO) or in AUTH3 (Samba's client); Samba's own
client drives Kerberos and SPNEGO, and impacket's SPNEGO enrolls. Adding a
group of the refused user to the policy and sending SIGHUP lets its next
Kerberos logon through, no restart.

libwbclient finds the test's winbindd only with nss_wrapper preloaded
(test-infrastructure.md); certad then runs with LD_PRELOAD, and under ASan
with NSS_WRAPPER_DISABLE_DEEPBIND and verify_asan_link_order=0."""

import json
import os
import signal
import subprocess
import time
import unittest

from impacket.dcerpc.v5 import transport
from impacket.dcerpc.v5.rpcrt import (RPC_C_AUTHN_GSS_NEGOTIATE, RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
                                      DCERPCException)
from impacket.uuid import uuidtup_to_bin

import harness
import icpr_ndr
import samba_dc
from harness import CERTA, ICPR_UUID
from test_icpr import CA_NAME, CR_DISP_ISSUED, make_csr
# Samba's own DCE/RPC client, and the marker for what impacket's SPNEGO still
# needs from the runtime (both from the Kerberos tests)
from test_kerberos import have_samba_client, samba_client

DC_IP = "127.0.0.3"
DAVE, DAVE_PW = "dave", "Samba-Dave-7!"      # in CertRequesters
ERIN, ERIN_PW = "erin", "Samba-Erin-7!"      # only in Domain Users
GROUP = "CertRequesters"
INF = ('[Unicode]\nUnicode=yes\n[Version]\nsignature="$CHICAGO$"\nRevision=1\n[Privilege Rights]\n'
       f"SeNetworkLogonRight = {samba_dc.DOMAIN}\\{GROUP}\n")
NSS_WRAPPER = "libnss_wrapper.so"


def events(ca, event_id):
    out = []
    with open(ca.events_path) as f:
        for line in f:
            rec = json.loads(line)
            if rec["id"] == event_id:
                out.append(rec["data"])
    return out


def domain_sids(groups_field, domain_sid):
    """The SIDs of the domain in a 4624 Groups field ("SID (name), ...")."""
    sids = set()
    for item in groups_field.split(", "):
        sid = item.split(" ", 1)[0]
        if sid.startswith(domain_sid + "-"):
            sids.add(sid)
    return sids


class SambaTest(unittest.TestCase):
    dc = None
    ca = None

    @classmethod
    def setUpClass(cls):
        if not samba_dc.available():
            raise unittest.SkipTest("Samba AD DC tools missing or not root (scripts/deps.sh test)")
        cls.dc = samba_dc.SambaDC(ip=DC_IP)
        try:
            cls.dc.start()
            cls.dc.add_user(DAVE, DAVE_PW)
            cls.dc.add_user(ERIN, ERIN_PW)
            cls.dc.tool("group", "add", GROUP)
            cls.dc.tool("group", "addmembers", GROUP, DAVE)
            cls.keytab = cls.dc.add_ca_account()
            cls.wb_env = cls.winbind_env()
            cls.wait_winbind()
            cls.start_certad()
        except Exception:
            cls.tearDownClass()
            raise
        cls.port = cls.ca.epm_resolve(ICPR_UUID)

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.ca is not None:
                cls.ca.assert_clean_exit()
        finally:
            # the DC must go even when certad did not stop cleanly
            if cls.dc is not None:
                cls.dc.cleanup(keep=bool(os.environ.get("CERTA_IT_KEEP")))

    # -- set-up helpers --

    @classmethod
    def winbind_env(cls):
        passwd = os.path.join(cls.dc.dir, "nss_passwd")
        group = os.path.join(cls.dc.dir, "nss_group")
        with open(passwd, "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\n")
        with open(group, "w") as f:
            f.write("root:x:0:\n")
        return {
            "LD_PRELOAD": NSS_WRAPPER,
            "NSS_WRAPPER_PASSWD": passwd,
            "NSS_WRAPPER_GROUP": group,
            "NSS_WRAPPER_DISABLE_DEEPBIND": "1",  # ASan cannot live with RTLD_DEEPBIND
            "SELFTEST_WINBINDD_SOCKET_DIR": os.path.join(cls.dc.run_dir, "winbindd"),
            "ASAN_OPTIONS": "verify_asan_link_order=0:" + os.environ.get("ASAN_OPTIONS", ""),
            "KRB5_CONFIG": cls.dc.krb5_conf,
        }

    @classmethod
    def wbinfo(cls, *args):
        env = dict(os.environ)
        env.update(cls.wb_env)
        env.pop("ASAN_OPTIONS")
        return subprocess.run(["wbinfo", *args], env=env, capture_output=True, text=True, timeout=30)

    @classmethod
    def wait_winbind(cls, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cls.wbinfo("-p").returncode == 0:
                return
            time.sleep(0.2)
        raise AssertionError("winbindd of the test DC does not answer (wbinfo -p)")

    @classmethod
    def sid_of(cls, name):
        p = cls.wbinfo("-n", f"{samba_dc.DOMAIN}\\{name}")
        if p.returncode != 0:
            raise AssertionError(f"wbinfo -n {name}: {p.stdout}{p.stderr}")
        return p.stdout.split()[0]

    @classmethod
    def kerberos_conf(cls):
        """certad's Kerberos settings, if this certad has them (else None)."""
        conf = f"[auth]\nkerberos = on\nkeytab = {cls.keytab}\n"
        probe = harness.Certad(extra_conf=conf)
        p = subprocess.run([CERTA, "--state", probe.state, "--config", probe.conf, "diagnose"],
                           capture_output=True, text=True, timeout=60)
        probe.cleanup()
        return conf if p.returncode != 78 else None

    @classmethod
    def start_certad(cls):
        os.environ.update(cls.wb_env)  # certad and certa inherit them
        cls.krb_conf = cls.kerberos_conf()
        extra = "[auth]\nntlm_backend = winbind\n" + (cls.krb_conf or "").replace("[auth]\n", "") + \
            "[log]\nauth_trace = on\n"
        ca = harness.Certad(extra_conf=extra)
        with open(ca.conf) as f:
            text = f.read().replace("netbios_domain = CERTA\n", f"netbios_domain = {samba_dc.DOMAIN}\n")
        with open(ca.conf, "w") as f:
            f.write(text)
        with open(os.path.join(ca.state, "secpol.inf"), "w") as f:
            f.write(INF)
        cls.ca = ca
        ca.start(add_user=False)

    # -- clients --

    def ntlm(self, user, password):
        return self.ca.connect(self.port, ICPR_UUID, level=RPC_C_AUTHN_LEVEL_PKT_PRIVACY, user=user,
                               password=password, domain=samba_dc.DOMAIN)

    def enroll_on(self, dce, cn):
        resp = dce.request(icpr_ndr.build_request(CA_NAME, 0, "CertificateTemplate:User", make_csr(cn=cn)),
                           checkError=False)
        return resp["ErrorCode"], resp["pdwDisposition"]

    def last(self, event_id, user):
        recs = [d for d in events(self.ca, event_id) if d.get("TargetUserName", "").lower() == user]
        self.assertTrue(recs, f"no {event_id} for {user}:\n{self.ca.events()}")
        return recs[-1]

    # -- NTLM through winbind --

    def test_ntlm_domain_user_gets_the_dc_sids(self):
        dce = self.ntlm(DAVE, DAVE_PW)
        try:
            self.assertEqual(self.enroll_on(dce, DAVE), (0, CR_DISP_ISSUED))
        finally:
            dce.disconnect()
        d = self.last(4624, DAVE)
        user_sid = self.sid_of(DAVE)
        domain_sid = user_sid.rsplit("-", 1)[0]
        self.assertEqual(d["TargetUserSid"], user_sid)
        self.assertEqual(d["TargetDomainName"].upper(), samba_dc.DOMAIN)
        self.assertEqual(d["AuthenticationPackageName"], "NTLM")
        self.assertIn(f"{domain_sid}-513 ({samba_dc.DOMAIN}\\Domain Users)", d["Groups"])
        # the domain group, named through winbind (which may lower-case names)
        self.assertIn(f"{self.sid_of(GROUP)} ({samba_dc.DOMAIN}\\{GROUP})".lower(), d["Groups"].lower())
        self.assertIn("S-1-5-32-545 (BUILTIN\\Users)", d["Groups"])

    def test_ntlm_user_outside_the_granted_domain_group_is_refused(self):
        dce = self.ntlm(ERIN, ERIN_PW)
        try:
            with self.assertRaises(DCERPCException) as cm:
                self.enroll_on(dce, ERIN)
            self.assertEqual(str(cm.exception), "rpc_s_access_denied")
        finally:
            dce.disconnect()
        d = self.last(4625, ERIN)
        self.assertEqual(d["Status"], "0xc000015b")
        self.assertEqual(d["TargetUserSid"], self.sid_of(ERIN))
        self.assertIn(self.sid_of(GROUP), d["Granted"])
        p = self.ca.certa("diagnose", check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(f"{samba_dc.DOMAIN}\\{ERIN}", p.stdout)

    def test_ntlm_wrong_password_is_the_dc_status(self):
        dce = self.ntlm(ERIN, "not-her-password")
        try:
            with self.assertRaises(DCERPCException):
                self.enroll_on(dce, ERIN)
        finally:
            dce.disconnect()
        recs = [d for d in events(self.ca, 4625) if d.get("TargetUserName", "").lower() == ERIN
                and d["Status"] == "0xc000006d"]
        self.assertTrue(recs, self.ca.events())
        self.assertEqual(recs[-1]["SubStatus"], "0xc000006a")

    # -- Kerberos with the Samba KDC's PAC: Samba's client --

    def samba_kerberos(self, user, password, options):
        if not self.krb_conf:
            self.skipTest("certad has no Kerberos configuration yet ([auth] kerberos, keytab)")
        if not have_samba_client:
            self.skipTest("python3-samba is not installed")
        cc = self.dc.kinit(user, password, services=[f"HOST/{self.dc.host}"],
                           ccache=os.path.join(self.dc.dir, f"ccache-{user}"))
        return samba_client(self.port, self.dc.host, self.dc.realm, samba_dc.DOMAIN, cc, options)

    def test_samba_client_kerberos_pac_groups_match_ntlm(self):
        self.test_ntlm_domain_user_gets_the_dc_sids()
        ntlm = self.last(4624, DAVE)
        user_sid = self.sid_of(DAVE)
        domain_sid = user_sid.rsplit("-", 1)[0]
        for options in ("krb5,seal", "spnego,seal"):
            self.assertGreaterEqual(self.samba_kerberos(DAVE, DAVE_PW, options), 1)
            krb = [d for d in events(self.ca, 4624)
                   if d.get("TargetUserName", "").lower() == DAVE and d["AuthenticationPackageName"] == "Kerberos"]
            self.assertTrue(krb, self.ca.events())
            d = krb[-1]
            self.assertEqual(d["TargetUserSid"], user_sid)
            self.assertEqual(d["LogonProcessName"], "Kerberos")
            self.assertIn(f"{self.sid_of(GROUP)} ({samba_dc.DOMAIN}\\{GROUP})".lower(), d["Groups"].lower())
            # the KDC asserted the identity (PAC ExtraSids), as Windows shows it
            self.assertIn("S-1-18-1 (Authentication authority asserted identity)", d["Groups"])
            self.assertEqual(domain_sids(d["Groups"], domain_sid), domain_sids(ntlm["Groups"], domain_sid))

    def test_samba_client_kerberos_refused_user(self):
        """Auth type 16 from a Windows-like client (its AP-REP would come in
        AUTH3): refused in the bind with bind_nak reason 9 all the same."""
        naks = self.ca.stderr().count("bind_nak reason 9")
        with self.assertRaises(AssertionError) as cm:
            self.samba_kerberos(ERIN, ERIN_PW, "krb5,seal")
        self.assertEqual(self.ca.stderr().count("bind_nak reason 9"), naks + 1, str(cm.exception))
        self.assertIn(f"{ERIN} at the first leg but refused: STATUS_LOGON_TYPE_NOT_GRANTED", self.ca.stderr())
        d = self.last(4625, ERIN)
        self.assertEqual(d["Status"], "0xc000015b", str(cm.exception))
        self.assertEqual(d["AuthenticationPackageName"], "Kerberos")
        self.assertEqual(d["TargetUserSid"], self.sid_of(ERIN))

    def test_samba_client_kerberos_policy_change_with_sighup(self):
        """The refused user's group added to the policy + SIGHUP: its next
        Kerberos logon succeeds, with no restart."""
        with self.assertRaises(AssertionError):
            self.samba_kerberos(ERIN, ERIN_PW, "spnego,seal")
        pid = self.ca.proc.pid
        inf = os.path.join(self.ca.state, "secpol.inf")
        before = self.ca.stderr().count("SIGHUP:")
        with open(inf, "w") as f:
            f.write(INF.replace(f"\\{GROUP}\n", f"\\{GROUP},{samba_dc.DOMAIN}\\Domain Users\n"))
        try:
            self.ca.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while self.ca.stderr().count("SIGHUP:") == before and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertIn("reloaded", self.ca.stderr().rsplit("SIGHUP:", 1)[-1].splitlines()[0])
            self.assertGreaterEqual(self.samba_kerberos(ERIN, ERIN_PW, "spnego,seal"), 1)
            self.assertEqual(self.ca.proc.pid, pid)
        finally:
            with open(inf, "w") as f:
                f.write(INF)
            self.ca.proc.send_signal(signal.SIGHUP)
            time.sleep(0.5)

    # -- Kerberos with the Samba KDC's PAC: impacket (SPNEGO, enrollment) --

    def kerberos(self, user, password):
        if not self.krb_conf:
            self.skipTest("certad has no Kerberos configuration yet ([auth] kerberos, keytab)")
        host = self.dc.host
        cc = self.dc.kinit(user, password, services=[f"HOST/{host}"],
                           ccache=os.path.join(self.dc.dir, f"ccache-{user}"))
        os.environ["KRB5CCNAME"] = cc
        t = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:{host}[{self.port}]")
        t.setRemoteHost("127.0.0.1")
        t.set_credentials(user, "", self.dc.realm)  # the authenticator names the realm
        t.set_kerberos(True, kdcHost=DC_IP)
        dce = t.get_dce_rpc()
        dce.set_auth_type(RPC_C_AUTHN_GSS_NEGOTIATE)
        dce.set_auth_level(RPC_C_AUTHN_LEVEL_PKT_PRIVACY)
        dce.connect()
        return dce

    def test_kerberos_pac_groups_match_ntlm(self):
        dce = self.kerberos(DAVE, DAVE_PW)
        try:
            dce.bind(uuidtup_to_bin(ICPR_UUID))
            self.assertEqual(self.enroll_on(dce, DAVE), (0, CR_DISP_ISSUED))
        finally:
            dce.disconnect()
        krb = [d for d in events(self.ca, 4624)
               if d.get("TargetUserName", "").lower() == DAVE and d["AuthenticationPackageName"] == "Kerberos"]
        self.assertTrue(krb, self.ca.events())
        user_sid = self.sid_of(DAVE)
        domain_sid = user_sid.rsplit("-", 1)[0]
        self.assertEqual(krb[-1]["TargetUserSid"], user_sid)
        self.assertIn(self.sid_of(GROUP), krb[-1]["Groups"])
        # NTLM through winbind gives the same domain SIDs
        self.test_ntlm_domain_user_gets_the_dc_sids()
        ntlm = [d for d in events(self.ca, 4624)
                if d.get("TargetUserName", "").lower() == DAVE and d["AuthenticationPackageName"] == "NTLM"]
        self.assertEqual(domain_sids(krb[-1]["Groups"], domain_sid), domain_sids(ntlm[-1]["Groups"], domain_sid))

    def sighup_policy(self, text):
        """Write the policy and SIGHUP; returns once certad says it reloaded."""
        before = self.ca.stderr().count("SIGHUP:")
        with open(os.path.join(self.ca.state, "secpol.inf"), "w") as f:
            f.write(text)
        self.ca.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while self.ca.stderr().count("SIGHUP:") == before and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("reloaded", self.ca.stderr().rsplit("SIGHUP:", 1)[-1].splitlines()[0])

    def test_kerberos_refused_user_gets_bind_nak_9(self):
        """issue 4: erin's SPNEGO bind is refused in the bind with bind_nak
        reason 9 (impacket: "Bind context rejected: invalid_checksum"), not
        at the alter_context impacket would send with her AP-REP: Windows
        makes the token from the AP-REQ (MS-KILE 3.4.5.1) and a failure there
        fails the bind (MS-RPCE 3.3.1.5.2). 4625 0xc000015b with the PAC's SID.
        Domain Users granted + SIGHUP: her next bind enrolls, no restart."""
        naks = self.ca.stderr().count("bind_nak reason 9")
        dce = self.kerberos(ERIN, ERIN_PW)
        try:
            with self.assertRaises(DCERPCException) as cm:
                dce.bind(uuidtup_to_bin(ICPR_UUID))
            self.assertEqual(str(cm.exception), "Bind context rejected: invalid_checksum")
        finally:
            dce.disconnect()
        self.assertEqual(self.ca.stderr().count("bind_nak reason 9"), naks + 1)
        d = self.last(4625, ERIN)
        self.assertEqual(d["Status"], "0xc000015b")
        self.assertEqual(d["AuthenticationPackageName"], "Kerberos")
        self.assertEqual(d["TargetUserSid"], self.sid_of(ERIN))
        self.assertIn(self.sid_of(GROUP), d["Granted"])

        pid = self.ca.proc.pid
        try:
            self.sighup_policy(INF.replace(f"\\{GROUP}\n", f"\\{GROUP},{samba_dc.DOMAIN}\\Domain Users\n"))
            before = len([e for e in events(self.ca, 4624) if e.get("TargetUserName", "").lower() == ERIN])
            dce = self.kerberos(ERIN, ERIN_PW)
            try:
                dce.bind(uuidtup_to_bin(ICPR_UUID))
                self.assertEqual(self.enroll_on(dce, ERIN), (0, CR_DISP_ISSUED))
            finally:
                dce.disconnect()
            # one logon for the connection: made at the AP-REQ, kept at completion
            after = [e for e in events(self.ca, 4624) if e.get("TargetUserName", "").lower() == ERIN]
            self.assertEqual(len(after), before + 1)
            self.assertEqual(after[-1]["TargetUserSid"], self.sid_of(ERIN))
            self.assertEqual(self.ca.proc.pid, pid)
        finally:
            self.sighup_policy(INF)


if __name__ == "__main__":
    harness.main()
