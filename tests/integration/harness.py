"""harness.py - start a real certad for integration tests and talk to it.

Certad() makes a temporary state folder, writes certad.conf (127.0.0.1, the
endpoint mapper on a free high port, a dynamic port), creates the user alice
with `certa user add alice --password-stdin`, starts certad, waits until the
endpoint mapper accepts connections and stops it (SIGTERM; it must exit 0) at
the end. main() runs a test module with unittest, dumps certad's stderr and
event log when something failed, and exits 77 (Meson's "skipped") when every
test was skipped. CERTA_IT_KEEP=1 keeps the temporary folders (state, logs,
captures) for a look afterwards. Run with /usr/bin/python3: impacket comes from Debian.
"""

import atexit
import hmac
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

from impacket.dcerpc.v5 import epm, transport
from impacket.dcerpc.v5.rpcrt import RPC_C_AUTHN_WINNT
from impacket.uuid import uuidtup_to_bin
from impacket import ntlm

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("CERTA_SOURCE_ROOT", os.path.normpath(os.path.join(HERE, "..", "..")))


def _binary(env_name, rel):
    path = os.environ.get(env_name)
    if path:
        return path
    return os.path.join(SOURCE_ROOT, "build", "test", rel)


CERTAD = _binary("CERTAD", "src/cli/certad")
CERTA = _binary("CERTA", "src/cli/certa")

# Interfaces (protocol-facts.md; C706 App. Q for mgmt, MS-RPCE 2.2.1.2 for the EPM)
ICPR_UUID = ("91ae6020-9e3c-11cf-8d7c-00aa00c091be", "0.0")
MGMT_UUID = ("afa8bd80-7d8a-11c9-bef4-08002b102989", "1.0")
EPM_UUID = ("e1af8308-5d1f-11c9-91a4-08002b14a0fa", "3.0")

USER = "alice"
PASSWORD = "Corr3ct-Horse!"
DOMAIN = "CERTA"

_servers = []


def free_port():
    """A TCP port free on 127.0.0.1 right now (the kernel's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Certad:
    """One certad process with its own state folder."""

    def __init__(self, extra_conf="", key="p256", user=USER, password=PASSWORD, log_level="debug"):
        self.dir = tempfile.mkdtemp(prefix="certa-it-")
        self.state = os.path.join(self.dir, "state")
        os.mkdir(self.state)
        self.conf = os.path.join(self.state, "certad.conf")
        self.epm_port = free_port()
        self.dynamic_port = None
        self.stderr_path = os.path.join(self.dir, "certad.stderr")
        self.events_path = os.path.join(self.state, "events.jsonl")
        self.proc = None
        self.exit_code = None
        self.user, self.password = user, password
        with open(self.conf, "w") as f:
            f.write(
                "[ca]\n"
                "name = certa-test-CA\n"
                f"key = {key}\n"
                f"templates_dir = {os.path.join(SOURCE_ROOT, 'templates')}\n"
                "[rpc]\n"
                "listen = 127.0.0.1\n"
                f"epm_port = {self.epm_port}\n"
                "dynamic_port = 0\n"
                "workers = 2\n"
                "[auth]\n"
                f"netbios_domain = {DOMAIN}\n"
                "computer_name = CERTATEST\n"
                "[log]\n"
                f"level = {log_level}\n"
                "events_file = events.jsonl\n"
                + extra_conf
            )
        _servers.append(self)

    # -- lifecycle --

    def certa(self, *args, stdin=None, check=True):
        """Run `certa --state STATE args...`; returns the CompletedProcess."""
        cmd = [CERTA, "--state", self.state, "--config", self.conf, *args]
        p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}{p.stderr}")
        return p

    def add_user(self, name=None, password=None):
        self.certa("user", "add", name or self.user, "--password-stdin",
                   stdin=(password or self.password) + "\n")

    def start(self, add_user=True, timeout=60):
        if add_user:
            self.add_user()
        self._err = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(
            [CERTAD, "--state", self.state, "--config", self.conf],
            stdin=subprocess.DEVNULL, stdout=self._err, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"certad exited with {self.proc.returncode} while starting:\n{self.stderr()}")
            m = re.search(r"ready: .*dynamic_port=(\d+)", self.stderr())
            if m and self._listening(self.epm_port):
                self.dynamic_port = int(m.group(1))
                return self
            time.sleep(0.1)
        raise AssertionError(f"certad did not start listening on {self.epm_port} within {timeout}s:\n{self.stderr()}")

    @staticmethod
    def _listening(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=20):
        """SIGTERM, then wait; returns the exit code (SIGKILL after timeout)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.exit_code = "killed after SIGTERM timeout"
                self._err.close()
                return self.exit_code
        self.exit_code = self.proc.returncode
        self._err.close()
        return self.exit_code

    def assert_clean_exit(self):
        code = self.stop()
        if code != 0:
            raise AssertionError(f"certad did not stop cleanly on SIGTERM (exit {code}):\n{self.stderr()}")

    # -- diagnostics --

    def stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def events(self):
        try:
            with open(self.events_path, errors="replace") as f:
                return f.read()
        except OSError:
            return "(no event log)"

    def dump(self, out=sys.stdout):
        print(f"\n===== certad stderr ({self.stderr_path}) =====", file=out)
        print(self.stderr()[-20000:], file=out)
        print(f"===== events ({self.events_path}) =====", file=out)
        print(self.events()[-20000:], file=out)

    def cleanup(self):
        if self.alive():
            self.stop()
        if os.environ.get("CERTA_IT_KEEP"):
            print(f"(CERTA_IT_KEEP: left {self.dir})", file=sys.stderr)
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- clients --

    def epm_resolve(self, iface=ICPR_UUID):
        """ept_map through the endpoint mapper on its (non-135) port: the port
        impacket's hept_map reads from the returned tower."""
        dce = self.connect(self.epm_port, EPM_UUID, bind=False)
        try:
            binding = epm.hept_map("127.0.0.1", uuidtup_to_bin(iface), protocol="ncacn_ip_tcp", dce=dce)
        finally:
            dce.disconnect()
        m = re.match(r"ncacn_ip_tcp:.*\[(\d+)\]$", binding)
        if not m:
            raise AssertionError(f"unexpected string binding from the endpoint mapper: {binding}")
        return int(m.group(1))

    def connect(self, port, iface, level=None, user=None, password=None, domain=DOMAIN, bind=True,
                record=None):
        """An impacket DCE/RPC connection to port, bound to iface (a (uuid, ver) tuple)
        with NTLM at level (None = no authentication). record, a list, receives
        every byte string read from the socket (for verify_server_verifiers)."""
        t = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:127.0.0.1[{port}]")
        t.set_connect_timeout(15)
        if level is not None:
            t.set_credentials(user or self.user, self.password if password is None else password, domain)
        dce = t.get_dce_rpc()
        if level is not None:
            dce.set_auth_type(RPC_C_AUTHN_WINNT)
            dce.set_auth_level(level)
        dce.connect()
        if record is not None:
            orig = t.recv

            def recv(*a, **k):
                data = orig(*a, **k)
                record.append(data)
                return data
            t.recv = recv
        if bind:
            dce.bind(uuidtup_to_bin(iface))
        return dce


class CertadTestCase(unittest.TestCase):
    """A TestCase whose tests share one certad with the default configuration
    (cls.ca), started before the first test; after the last it must exit
    cleanly."""

    @classmethod
    def setUpClass(cls):
        cls.ca = Certad().start()

    @classmethod
    def tearDownClass(cls):
        cls.ca.assert_clean_exit()


def split_pdus(chunks):
    """Cut the recorded byte stream into whole PDUs by frag_length (C706 12.6.4)."""
    data = b"".join(chunks)
    pdus = []
    while len(data) >= 16:
        frag_len = struct.unpack_from("<H", data, 8)[0]
        if frag_len < 16 or frag_len > len(data):
            break
        pdus.append(data[:frag_len])
        data = data[frag_len:]
    return pdus


def verify_server_verifiers(dce, chunks):
    """Check the NTLM verifier of every authenticated response PDU the server
    sent, as a Windows client would (impacket 0.10 computes but never compares
    them). MS-NLMP 3.4.4.2 with extended session security: checksum =
    HMAC_MD5(SigningKey, SeqNum || message)[0..7], RC4-encrypted with the
    sealing handle when KEY_EXCH was negotiated; one RC4 state per direction,
    used first to seal the stub (3.4.3), then for the checksum. For DCE/RPC the
    message is the whole PDU up to the verifier, with the stub in clear
    (MS-RPCE 3.3.1.5.2.2). Returns the number of verifiers checked."""
    from Cryptodome.Cipher import ARC4

    flags = dce._DCERPC_v5__flags
    if not flags & ntlm.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY:
        raise AssertionError("server did not negotiate NTLM extended session security")
    sign_key = dce._DCERPC_v5__serverSigningKey
    rc4 = ARC4.new(dce._DCERPC_v5__serverSealingKey)
    seq = 0
    checked = 0
    for pdu in split_pdus(chunks):
        ptype = pdu[2]
        auth_len = struct.unpack_from("<H", pdu, 10)[0]
        if ptype != 2 or auth_len == 0:  # responses only; bind_ack carries the challenge
            continue
        if auth_len != 16:
            raise AssertionError(f"response auth_length {auth_len}, expected 16 for NTLM")
        trailer = pdu[-24:-16]
        level = trailer[1]
        body = pdu[24:-24]  # stub + auth padding
        if level == 6:
            body = rc4.decrypt(body)
        signed = pdu[:24] + body + trailer
        version, checksum, got_seq = struct.unpack("<I8sI", pdu[-16:])
        expect = hmac.new(sign_key, struct.pack("<I", seq) + signed, "md5").digest()[:8]
        if flags & ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH:
            expect = rc4.encrypt(expect)
        if version != 1 or got_seq != seq or checksum != expect:
            raise AssertionError(
                f"bad NTLM verifier on response seq {seq}: version {version}, seq {got_seq}, "
                f"checksum {checksum.hex()} expected {expect.hex()}")
        seq += 1
        checked += 1
    return checked


def main():
    """Run the calling module's tests; exit 0, 1, or 77 when all were skipped."""
    module = sys.modules["__main__"]
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    if not result.wasSuccessful():
        for s in _servers:
            s.dump()
    for s in _servers:
        s.cleanup()
    # a class skipped in setUpClass counts one skip and no test run
    if result.wasSuccessful() and result.skipped and len(result.skipped) >= result.testsRun:
        sys.exit(77)
    sys.exit(0 if result.wasSuccessful() else 1)


atexit.register(lambda: [s.cleanup() for s in _servers])
