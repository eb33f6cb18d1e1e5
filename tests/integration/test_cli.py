#!/usr/bin/python3
"""test_cli.py - the programs as an administrator meets them: certad refuses a
bad configuration with file:line messages and exit 78 before touching the
state folder; prints its banner; survives SIGHUP; a user added while it runs
can log on at once; `certa` exit codes follow docs/errors.md."""

import os
import signal
import subprocess
import time
import unittest

from impacket.dcerpc.v5 import mgmt
from impacket.dcerpc.v5.rpcrt import RPC_C_AUTHN_LEVEL_PKT_PRIVACY

import harness
from harness import CERTA, CERTAD, MGMT_UUID

EX_USAGE, EX_DATAERR, EX_NOUSER, EX_CONFIG = 64, 65, 67, 78


def run(*args, stdin=None):
    return subprocess.run(list(args), input=stdin, capture_output=True, text=True, timeout=120)


class ConfigErrorTest(unittest.TestCase):
    def test_bad_config_refused_before_state(self):
        # appended to the harness's file: sections may repeat, typos may not
        ca = harness.Certad(extra_conf="[rpc]\nepm_prot = 1\n[ca]\nvalidity_years = 0\n")
        p = run(CERTAD, "--state", ca.state, "--config", ca.conf)
        self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
        self.assertRegex(p.stderr, r"certad\.conf:\d+: unknown key 'epm_prot' in \[rpc\] \(did you mean 'epm_port'\?\)")
        self.assertRegex(p.stderr, r"certad\.conf:\d+: validity_years: '0' is not a number from 1 to 50")
        self.assertEqual(sorted(os.listdir(ca.state)), ["certad.conf"], "nothing may be created on a bad config")

    def test_usage(self):
        self.assertEqual(run(CERTAD, "--bogus").returncode, EX_USAGE)
        self.assertEqual(run(CERTAD, "--log-level", "loud").returncode, EX_USAGE)
        self.assertEqual(run(CERTA).returncode, EX_USAGE)
        self.assertEqual(run(CERTA, "bogus").returncode, EX_USAGE)
        self.assertEqual(run(CERTA, "help").returncode, 0)
        self.assertEqual(run(CERTAD, "--help").returncode, 0)

    def test_errors_command(self):
        p = run(CERTA, "errors", "0x800706ba")
        self.assertEqual(p.returncode, 0)
        self.assertIn("RPC_S_SERVER_UNAVAILABLE", p.stdout)
        self.assertIn("The RPC server is unavailable.", p.stdout)
        p = run(CERTA, "errors", "0x1c010002", "-2147024891", "STATUS_LOGON_FAILURE")
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("nca_s_op_rng_error", p.stdout)
        self.assertIn("E_ACCESSDENIED", p.stdout)  # -2147024891 = 0x80070005
        self.assertIn("0xC000006D", p.stdout)
        self.assertEqual(run(CERTA, "errors", "0x12345678").returncode, 1)


class RunningDaemonTest(harness.CertadTestCase):
    def test_banner(self):
        err = self.ca.stderr()
        self.assertIn('CA "certa-test-CA"', err)
        self.assertIn(f"endpoint mapper port {self.ca.epm_port}", err)
        self.assertIn(f"req --ca 127.0.0.1 --port {self.ca.epm_port} --user alice --template User", err)

    def test_sighup_does_not_stop(self):
        self.ca.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        self.assertTrue(self.ca.alive(), "SIGHUP is reserved for reload and must not stop certad")

    def test_user_added_while_running_logs_on(self):
        self.ca.add_user("bob", "B0b-pass-word")
        port = self.ca.epm_resolve()
        dce = self.ca.connect(port, MGMT_UUID, level=RPC_C_AUTHN_LEVEL_PKT_PRIVACY, user="bob",
                              password="B0b-pass-word")
        try:
            mgmt.hinq_if_ids(dce)
        finally:
            dce.disconnect()
        # and a changed password applies at once too
        self.ca.certa("user", "passwd", "bob", "--password-stdin", stdin="N3w-pass-word\n")
        dce = self.ca.connect(port, MGMT_UUID, level=RPC_C_AUTHN_LEVEL_PKT_PRIVACY, user="bob",
                              password="N3w-pass-word")
        try:
            mgmt.hinq_if_ids(dce)
        finally:
            dce.disconnect()

    def test_certa_exit_codes(self):
        p = self.ca.certa("user", "add", "alice", "--password-stdin", stdin="x\n", check=False)
        self.assertEqual(p.returncode, EX_DATAERR, p.stderr)
        self.assertIn("already exists", p.stderr)
        p = self.ca.certa("user", "del", "nobody-here", check=False)
        self.assertEqual(p.returncode, EX_NOUSER, p.stderr)
        p = self.ca.certa("user", "add", "bad/name", "--password-stdin", stdin="x\n", check=False)
        self.assertEqual(p.returncode, EX_DATAERR, p.stderr)
        p = self.ca.certa("user", "add", "carol", check=False)  # no terminal, no --password-stdin
        self.assertEqual(p.returncode, EX_USAGE, p.stderr)

    def test_ca_show(self):
        p = self.ca.certa("ca", "show")
        self.assertIn("certa-test-CA", p.stdout)
        self.assertIn("thumbprint:", p.stdout)


if __name__ == "__main__":
    harness.main()
