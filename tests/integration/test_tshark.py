#!/usr/bin/python3
"""test_tshark.py - Wireshark as an independent judge of certad's wire format.
Captures on lo during an endpoint-mapper lookup and an NTLM PKT_PRIVACY
exchange, then reads the capture with the user's password
(-o ntlmssp.nt_password) and asserts, for every packet certad sent: no
warning- or error-level expert info (malformed packets, bad fields) at the
DCERPC, EPM, MGMT or NTLMSSP layers, every sealed response decrypted
(dcerpc.decrypted_stub_data present) and dissected, and an NTLMSSP verifier on every signed one. (The verifiers' values
are checked by harness.verify_server_verifiers in test_rpc.py.) Skipped, saying why, when this user
cannot capture."""

import os
import re
import shutil
import signal
import subprocess
import time
import unittest

from impacket.dcerpc.v5 import mgmt
from impacket.dcerpc.v5.rpcrt import RPC_C_AUTHN_LEVEL_PKT_PRIVACY, RPC_C_AUTHN_LEVEL_PKT_INTEGRITY

import harness
from harness import ICPR_UUID, MGMT_UUID

LAYERS = ("DCERPC", "EPM", "EPMv4", "MGMT", "NTLMSSP")


def capture_problem():
    """Why this user cannot capture on lo, or None."""
    if not shutil.which("tshark"):
        return "tshark is not installed (scripts/deps.sh test installs it)"
    if os.geteuid() != 0:
        return "capturing on lo needs root (run make test as root, as CI does)"
    p = subprocess.run(["tshark", "-D"], capture_output=True, text=True, timeout=30)
    if p.returncode != 0 or not re.search(r"\blo\b", p.stdout):
        return f"tshark cannot list the loopback interface: {p.stderr.strip()}"
    return None


class Capture:
    """tshark -i lo -w FILE for the given TCP ports, started before the exchange."""

    def __init__(self, path, ports):
        self.path = path
        filt = " or ".join(f"tcp port {p}" for p in ports)
        self.err_path = path + ".stderr"
        self.err = open(self.err_path, "w+")
        self.proc = subprocess.Popen(["tshark", "-n", "-i", "lo", "-f", filt, "-w", path],
                                     stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            self.err.seek(0)
            if "Capturing on" in self.err.read():
                break
            if self.proc.poll() is not None:
                self.err.seek(0)
                raise unittest.SkipTest(f"tshark cannot capture on lo: {self.err.read().strip()}")
            time.sleep(0.1)
        # tshark announces the capture ~1 s before dumpcap really sees packets
        time.sleep(1.5)

    def stop(self):
        time.sleep(1.0)  # let the last segments reach the file
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()


class TsharkTest(harness.CertadTestCase):
    @classmethod
    def setUpClass(cls):
        why = capture_problem()
        if why:
            raise unittest.SkipTest(why)
        super().setUpClass()

    def tshark(self, *args):
        ports = (self.ca.epm_port, self.ca.dynamic_port)
        cmd = ["tshark", "-n", "-r", self.pcap, "-o", f"ntlmssp.nt_password:{harness.PASSWORD}"]
        for p in ports:
            cmd += ["-d", f"tcp.port=={p},dcerpc"]
        p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, f"{' '.join(cmd + list(args))}:\n{p.stderr}")
        return p.stdout

    def test_privacy_exchange_dissects_cleanly(self):
        self.pcap = os.path.join(self.ca.dir, "exchange.pcapng")
        cap = Capture(self.pcap, (self.ca.epm_port, self.ca.dynamic_port))
        try:
            port = self.ca.epm_resolve(ICPR_UUID)
            for level in (RPC_C_AUTHN_LEVEL_PKT_INTEGRITY, RPC_C_AUTHN_LEVEL_PKT_PRIVACY):
                dce = self.ca.connect(port, MGMT_UUID, level=level)
                try:
                    mgmt.hinq_if_ids(dce)
                    mgmt.hinq_stats(dce)  # a request with a non-empty stub
                finally:
                    dce.disconnect()
        finally:
            cap.stop()

        summary = self.tshark()
        self.assertIn("bind_ack", summary.lower(), f"no bind_ack in the capture:\n{summary}")

        # What certad sent is judged, not impacket's requests: Wireshark 4.0
        # flags impacket's sealed request with an empty stub (inq_if_ids) as
        # malformed, since there is nothing to decrypt.
        from_server = f"(tcp.srcport == {self.ca.epm_port} || tcp.srcport == {self.ca.dynamic_port})"

        # 1. expert infos of severity warn or error, per protocol
        expert = self.tshark("-q", "-z", f"expert,warn,{from_server}")
        bad = []
        for line in expert.splitlines():
            m = re.match(r"\s*\d+\s+(\S+)\s+(\S+)\s+(.*)$", line)
            if m and (m.group(2) in LAYERS or m.group(1) == "Malformed"):
                bad.append(line.strip())
        self.assertEqual(bad, [], f"Wireshark expert warnings/errors on certad's packets:\n{expert}\n\n"
                                  f"frames:\n{summary}")

        # 2. certad's sealed responses decrypt with the password and dissect as mgmt
        sealed = self.tshark("-Y", f"{from_server} && dcerpc.auth_level == 6 && dcerpc.pkt_type == 2",
                             "-T", "fields", "-e", "frame.number", "-e", "dcerpc.decrypted_stub_data",
                             "-e", "mgmt.opnum")
        rows = [r.split("\t") for r in sealed.splitlines() if r.strip()]
        self.assertEqual(len(rows), 2, f"expected 2 sealed responses:\n{summary}")
        for r in rows:
            # (Wireshark shows the ciphertext as encrypted_stub_data as well)
            frame, dec, opnum = (r + ["", ""])[:3]
            self.assertTrue(dec and opnum,
                            f"frame {frame} was not decrypted with the password:\n"
                            + self.tshark("-V", "-Y", f"frame.number == {frame}"))

        # 3. the NTLM verifiers are where Wireshark expects them, on every signed PDU
        signed = self.tshark("-Y", f"{from_server} && dcerpc.auth_level >= 5 && dcerpc.pkt_type == 2",
                             "-T", "fields", "-e", "frame.number", "-e", "ntlmssp.verf.vers")
        for row in signed.splitlines():
            frame, _, vers = row.partition("\t")
            self.assertEqual(vers.strip(), "1", f"frame {frame}: no NTLMSSP verifier version 1")


if __name__ == "__main__":
    harness.main()
