#!/usr/bin/python3
"""test_rights.py - "Access this computer from the network" over NTLM with
local accounts, as Windows enforces it at token creation: with a policy that
grants SeNetworkLogonRight only to the group CertUsers, a caller outside it
binds (NTLM finishes in AUTH3) but its first request gets a fault with access
denied, and event 4625 says STATUS_LOGON_TYPE_NOT_GRANTED (0xc000015b);
`certa diagnose` names the cause and the fix; `certa group addmember`, or
adding the user's group to the INF and sending SIGHUP, lets the next
enrollment through without a restart and without dropping connections;
SeDenyNetworkLogonRight beats a granted group; a broken policy file keeps the
policy in force; a wrong password is 4625 with 0xc000006d/0xc000006a; 4624
lists the caller's groups; the auth trace shows each step."""

import json
import os
import re
import signal
import time
import unittest

from impacket.dcerpc.v5.rpcrt import RPC_C_AUTHN_LEVEL_PKT_PRIVACY, DCERPCException

import harness
import icpr_ndr
from harness import ICPR_UUID
from test_icpr import CA_NAME, CR_DISP_ISSUED, make_csr

INF_HEAD = '[Unicode]\nUnicode=yes\n[Version]\nsignature="$CHICAGO$"\nRevision=1\n[Privilege Rights]\n'
EX_REFUSALS = 1


def events(ca, event_id=None):
    out = []
    try:
        with open(ca.events_path) as f:
            for line in f:
                rec = json.loads(line)
                if event_id is None or rec["id"] == event_id:
                    out.append(rec)
    except FileNotFoundError:
        pass
    return out


class RightsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ca = harness.Certad(extra_conf="[log]\nauth_trace = on\n")
        cls.inf = os.path.join(cls.ca.state, "secpol.inf")
        cls.write_policy("SeNetworkLogonRight = CertUsers\n")
        cls.ca.add_user()  # alice
        cls.ca.add_user("bob", "B0b-pass-word")
        cls.ca.add_user("carol", "C4rol-pass-word")
        cls.ca.certa("group", "add", "CertUsers")
        cls.ca.certa("group", "add", "Auditors")
        cls.ca.certa("group", "addmember", "CertUsers", "alice")
        cls.ca.certa("group", "addmember", "Auditors", "carol")
        cls.ca.start(add_user=False)
        cls.port = cls.ca.epm_resolve(ICPR_UUID)

    @classmethod
    def tearDownClass(cls):
        cls.ca.assert_clean_exit()

    @classmethod
    def write_policy(cls, rights):
        with open(cls.inf, "w") as f:
            f.write(INF_HEAD + rights)

    def sighup(self, expect="reloaded"):
        """SIGHUP and wait for certad to say it reloaded (or refused to)."""
        before = self.ca.stderr().count("SIGHUP:")
        self.ca.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            err = self.ca.stderr()
            if err.count("SIGHUP:") > before:
                last = err[err.rfind("SIGHUP:"):].splitlines()[0]
                self.assertIn(expect, last)
                return last
            time.sleep(0.05)
        self.fail("certad did not react to SIGHUP")

    def connect(self, user, password):
        return self.ca.connect(self.port, ICPR_UUID, level=RPC_C_AUTHN_LEVEL_PKT_PRIVACY, user=user,
                               password=password)

    def enroll_on(self, dce, cn):
        resp = dce.request(icpr_ndr.build_request(CA_NAME, 0, "CertificateTemplate:User", make_csr(cn=cn)),
                           checkError=False)
        return resp["ErrorCode"], resp["pdwDisposition"]

    def enroll(self, user, password):
        dce = self.connect(user, password)
        try:
            return self.enroll_on(dce, user)
        finally:
            dce.disconnect()

    def assert_enrolls(self, user, password):
        self.assertEqual(self.enroll(user, password), (0, CR_DISP_ISSUED))

    def assert_refused(self, user, password):
        """NTLM completes in AUTH3: the bind succeeds, the first request faults."""
        dce = self.connect(user, password)
        try:
            with self.assertRaises(DCERPCException) as cm:
                self.enroll_on(dce, user)
            # impacket names the fault status: 5 is nca_s_fault_access_denied
            self.assertEqual(str(cm.exception), "rpc_s_access_denied")
        finally:
            dce.disconnect()

    def last_4625(self, user):
        recs = [r for r in events(self.ca, 4625) if r["data"].get("TargetUserName") == user]
        self.assertTrue(recs, f"no 4625 for {user}:\n{self.ca.events()}")
        return recs[-1]["data"]

    # -- the tests run in name order; each leaves the policy it found --

    def test_1_member_enrolls_with_groups_in_4624(self):
        self.assert_enrolls("alice", harness.PASSWORD)
        recs = [r["data"] for r in events(self.ca, 4624) if r["data"].get("TargetUserName") == "alice"]
        self.assertTrue(recs)
        d = recs[-1]
        self.assertEqual(d["LogonType"], 3)
        self.assertEqual(d["AuthenticationPackageName"], "NTLM")
        self.assertEqual(d["IpAddress"], "127.0.0.1")
        self.assertIn("(CERTA\\CertUsers)", d["Groups"])
        self.assertIn("S-1-5-32-545 (BUILTIN\\Users)", d["Groups"])
        self.assertIn("S-1-5-2 (NT AUTHORITY\\NETWORK)", d["Groups"])

    def test_2_non_member_gets_access_denied_and_4625(self):
        self.assert_refused("bob", "B0b-pass-word")
        d = self.last_4625("bob")
        self.assertEqual(d["Status"], "0xc000015b")
        self.assertEqual(d["SubStatus"], "0x00000000")
        self.assertEqual(d["LogonType"], 3)
        self.assertEqual(d["TargetDomainName"], "CERTA")
        self.assertEqual(d["IpAddress"], "127.0.0.1")
        self.assertEqual(d["AuthenticationPackageName"], "NTLM")
        self.assertEqual(d["LogonProcessName"], "NtLmSsp ")
        self.assertEqual(d["FailureReason"],
                         "The user has not been granted the requested logon type at this machine.")
        self.assertRegex(d["TargetUserSid"], r"^S-1-5-21-\d+-\d+-\d+-\d+$")
        self.assertIn("CERTA\\CertUsers", d["Granted"])
        # the trace shows the token-creation failure step by step
        with open(os.path.join(self.ca.state, "auth-trace.jsonl")) as f:
            trace = [json.loads(line)["data"] for line in f]
        steps = [t for t in trace if t["LogonId"] == d["LogonId"]]
        self.assertEqual([t["Step"] for t in steps], ["context", "token-source", "token", "rights", "result"])
        self.assertEqual(steps[3]["StatusName"], "STATUS_LOGON_TYPE_NOT_GRANTED")
        self.assertIn("none of its SIDs holds SeNetworkLogonRight", steps[3]["Detail"])
        self.assertIn("bind_nak", steps[4]["Detail"])

    def test_3_diagnose_names_cause_and_fix(self):
        self.assert_refused("bob", "B0b-pass-word")
        p = self.ca.certa("diagnose", check=False)
        self.assertEqual(p.returncode, EX_REFUSALS, p.stdout + p.stderr)
        out = p.stdout
        self.assertIn("CERTA\\bob", out)
        self.assertIn("STATUS_LOGON_TYPE_NOT_GRANTED", out)
        self.assertIn("Access this computer from the network", out)
        self.assertIn("CERTA\\CertUsers", out)  # what is granted
        self.assertIn("SIGHUP", out)
        self.assertIn(self.inf, out)

    def test_4_addmember_lets_the_next_enrollment_through(self):
        self.assert_refused("bob", "B0b-pass-word")
        pid_before = self.ca.proc.pid
        self.ca.certa("group", "addmember", "CertUsers", "bob")
        try:
            self.assert_enrolls("bob", "B0b-pass-word")
        finally:
            self.ca.certa("group", "delmember", "CertUsers", "bob")
        self.assertEqual(self.ca.proc.pid, pid_before)
        self.assert_refused("bob", "B0b-pass-word")

    def test_5_policy_change_and_sighup_without_restart(self):
        self.assert_refused("carol", "C4rol-pass-word")
        d = self.last_4625("carol")
        self.assertEqual(d["Status"], "0xc000015b")
        # a connection made before the reload stays up and keeps working
        held = self.connect("alice", harness.PASSWORD)
        try:
            self.assertEqual(self.enroll_on(held, "alice"), (0, CR_DISP_ISSUED))
            self.write_policy("SeNetworkLogonRight = CertUsers,CERTA\\Auditors\n")
            self.sighup()
            self.assertEqual(self.enroll_on(held, "alice"), (0, CR_DISP_ISSUED))
        finally:
            held.disconnect()
        self.assert_enrolls("carol", "C4rol-pass-word")
        self.assertTrue(self.ca.alive())
        self.write_policy("SeNetworkLogonRight = CertUsers\n")
        self.sighup()
        self.assert_refused("carol", "C4rol-pass-word")

    def test_6_deny_beats_a_granted_group(self):
        self.write_policy("SeNetworkLogonRight = CertUsers\nSeDenyNetworkLogonRight = alice\n")
        self.sighup()
        try:
            self.assert_refused("alice", harness.PASSWORD)
            d = self.last_4625("alice")
            self.assertEqual(d["Status"], "0xc000015b")
            self.assertIn("SeDenyNetworkLogonRight", d["Reason"])
            p = self.ca.certa("diagnose", check=False)
            self.assertEqual(p.returncode, EX_REFUSALS)
            self.assertIn("Deny access to this computer from the network", p.stdout)
        finally:
            self.write_policy("SeNetworkLogonRight = CertUsers\n")
            self.sighup()
        self.assert_enrolls("alice", harness.PASSWORD)

    def test_7_broken_policy_keeps_the_one_in_force(self):
        self.write_policy("SeNetworkLogonRight = CertUsers,NoSuchGroup\n")
        try:
            line = self.sighup(expect="not reloaded")
            self.assertIn("secpol.inf:7", line)
            self.assertIn("NoSuchGroup", line)
            self.assert_enrolls("alice", harness.PASSWORD)
            self.assert_refused("bob", "B0b-pass-word")
        finally:
            self.write_policy("SeNetworkLogonRight = CertUsers\n")
            self.sighup()

    def test_8_wrong_password_is_4625_logon_failure(self):
        dce = self.connect("alice", "not-the-password")
        try:
            with self.assertRaises(DCERPCException) as cm:
                self.enroll_on(dce, "alice")
            self.assertEqual(str(cm.exception), "rpc_s_access_denied")
        finally:
            dce.disconnect()
        d = self.last_4625("alice")
        self.assertEqual(d["Status"], "0xc000006d")
        self.assertEqual(d["SubStatus"], "0xc000006a")
        self.assertEqual(d["FailureReason"], "Unknown user name or bad password.")
        self.assertEqual(d["TargetUserSid"], "S-1-0-0")


if __name__ == "__main__":
    harness.main()
