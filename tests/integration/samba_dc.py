"""samba_dc.py - a throw-away Samba AD domain controller for tests (samba 4.17).

SambaDC() provisions a domain into a temporary folder and starts `samba` on
127.0.0.2 (any 127.x works; 127.0.0.1's ports 88/135/445 stay free for the
CA), as test-infrastructure.md measured: provision ~4.5 s, first start 2-4 s,
about 8 s from nothing to a DC with a user, a CA computer account and its
keytab. Nothing is written outside the folder: pid, ncalrpc, winbindd and
ntp_signd sockets and the log all live in it, and every tool gets the
folder's smb.conf (-s) and krb5.conf (KRB5_CONFIG; the system krb5.conf names
a foreign realm).

What a Kerberos test needs from it:
  dc.add_user(name, password)          a domain user
  dc.add_ca_account()                  CA1$ with SPNs HOST/ and RPCSS/ca1.<realm>,
                                       AES keys only (msDS-SupportedEncryptionTypes 24),
                                       exported to dc.keytab for certad
  dc.kinit(user, password, services)   TGT and service tickets into a cache
                                       (impacket then needs no KDC: it would dial port 88
                                       on the target address)
The Samba KDC puts a full PAC (logon info with group SIDs) in service tickets.

What it shares with realm.py (client krb5.conf, kinit, stop and cleanup) is
in kdc_common.py.

Command line:  /usr/bin/python3 samba_dc.py [DIR]   start, print the environment, wait for ^C
Needs root (port 88 on 127.0.0.2) and scripts/deps.sh test.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time

import kdc_common
from kdc_common import KINIT, KVNO

SAMBA = "/usr/sbin/samba"
SAMBA_TOOL = "/usr/bin/samba-tool"
LDBMODIFY = "/usr/bin/ldbmodify"

REALM = "CERTA.SAMBA"
DOMAIN = "CERTASMB"
ADMIN_PASSWORD = "Adm1n-Samba-Pass!"
IP = "127.0.0.2"


def available():
    """True when Samba's AD DC and the MIT client tools are installed and we are root."""
    tools = (SAMBA, SAMBA_TOOL, LDBMODIFY, KINIT, KVNO)
    return os.geteuid() == 0 and all(os.access(p, os.X_OK) for p in tools)


class SambaDC(kdc_common.ThrowawayServer):
    """One Samba AD DC (single process model) with its own folder."""

    def __init__(self, realm=REALM, domain=DOMAIN, ip=IP, adminpass=ADMIN_PASSWORD, base=None):
        self.realm = realm.upper()
        self.domain = domain.upper()
        self.ip = ip
        self.adminpass = adminpass
        self.dir = base or tempfile.mkdtemp(prefix="certa-samba-")
        os.makedirs(self.dir, exist_ok=True)
        self.smb_conf = os.path.join(self.dir, "etc", "smb.conf")
        self.krb5_conf = os.path.join(self.dir, "krb5.conf")
        self.sam_ldb = os.path.join(self.dir, "private", "sam.ldb")
        self.keytab = os.path.join(self.dir, "ca1.keytab")
        self.ccache = os.path.join(self.dir, "ccache")
        self.log = os.path.join(self.dir, "samba.log")
        self.run_dir = os.path.join(self.dir, "run")
        self.host = f"ca1.{self.realm.lower()}"
        self.ca_password = None
        self.proc = None
        base_dn = ",".join("DC=" + p for p in self.realm.lower().split("."))
        self.base_dn = base_dn

    # -- environment --

    def env(self, base=None):
        e = dict(os.environ if base is None else base)
        e.update({
            "KRB5_CONFIG": self.krb5_conf,
            "KRB5CCNAME": self.ccache,  # a plain path: impacket opens it as a file
            # an acceptor (certad) started with this environment keeps its replay cache here
            "KRB5RCACHEDIR": self.dir,
        })
        return e

    def principal(self, name):
        return f"{name}@{self.realm}"

    def _run(self, *cmd, stdin=None, timeout=120):
        p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=self.env(), timeout=timeout,
                           cwd=self.dir)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}{p.stderr}")
        return p.stdout

    def tool(self, *args, **kw):
        """samba-tool with this DC's smb.conf (works on sam.ldb directly)."""
        return self._run(SAMBA_TOOL, *args, "-s", self.smb_conf, **kw)

    # -- lifecycle --

    def provision(self):
        self.run_dir = os.path.join(self.dir, "run")
        os.makedirs(self.run_dir, exist_ok=True)
        opts = {
            "interfaces": f"{self.ip}/8",
            "bind interfaces only": "yes",
            "pid directory": self.run_dir,
            "ncalrpc dir": os.path.join(self.run_dir, "ncalrpc"),
            "winbindd socket directory": os.path.join(self.run_dir, "winbindd"),
            "ntp signd socket directory": os.path.join(self.run_dir, "ntp_signd"),
            "log file": self.log,
            "log level": "1",
        }
        cmd = [SAMBA_TOOL, "domain", "provision", f"--targetdir={self.dir}", f"--realm={self.realm}",
               f"--domain={self.domain}", "--server-role=dc", "--dns-backend=NONE", "--use-rfc2307",
               f"--adminpass={self.adminpass}", "--host-name=dc1", f"--host-ip={self.ip}"]
        cmd += [f"--option={k}={v}" for k, v in opts.items()]
        self._run(*cmd, timeout=300)
        # the KDC address for clients: the DC's own krb5.conf names it by
        # host name, which does not resolve here
        kdc_common.write_krb5_conf(self.krb5_conf, self.realm, self.ip)

    def start(self, timeout=60):
        """Provision (unless done) and start the DC; returns self once its KDC answers."""
        if not os.path.exists(self.smb_conf):
            self.provision()
        self._err = open(self.log + ".stderr", "w")
        self.proc = subprocess.Popen([SAMBA, "-M", "single", "-s", self.smb_conf, "-F"], cwd=self.dir,
                                     env=self.env(), stdout=self._err, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"samba exited {self.proc.returncode}; see {self.log}")
            if self._listening(88) and self._listening(389):
                return self
            time.sleep(0.1)
        raise RuntimeError("samba did not start its KDC and LDAP server in time")

    def _listening(self, port):
        try:
            with socket.create_connection((self.ip, port), timeout=0.2):
                return True
        except OSError:
            return False

    # -- accounts --

    def add_user(self, name, password):
        self.tool("user", "create", name, password)

    def _ldbmodify(self, ldif):
        return self._run(LDBMODIFY, "-H", self.sam_ldb, stdin=ldif)

    def add_ca_account(self, name="CA1", password="Ca1-Machine-Pass!"):
        """The CA's computer account with its SPNs and AES keys, exported to
        self.keytab. --prepare-oldjoin makes it enabled (else the export is
        silently empty); exporting by SPN alone gives only RC4."""
        self.ca_password = password
        self.tool("computer", "create", name, "--prepare-oldjoin",
                  f"--service-principal-name=HOST/{self.host}",
                  f"--service-principal-name=RPCSS/{self.host}")
        self.tool("user", "setpassword", f"{name}$", f"--newpassword={password}")
        dn = f"CN={name},CN=Computers,{self.base_dn}"
        self._ldbmodify(
            f"dn: {dn}\nchangetype: modify\nreplace: msDS-SupportedEncryptionTypes\n"
            "msDS-SupportedEncryptionTypes: 24\n")
        if os.path.exists(self.keytab):
            os.unlink(self.keytab)
        self.tool("domain", "exportkeytab", self.keytab, f"--principal={name}$")
        if not os.path.exists(self.keytab) or os.path.getsize(self.keytab) == 0:
            raise RuntimeError("exportkeytab wrote no keys for the CA account")
        return self.keytab

    def kinit(self, user, password, services=(), ccache=None):
        """TGT for user, then a ticket for each service principal; returns the cache path."""
        # an account samba-tool just wrote can take a moment to reach the KDC: 20 tries
        return kdc_common.kinit(self.env(), ccache or self.ccache, self.principal(user), password, self.realm,
                                services, kvno_tries=20)


def main():
    if not available():
        print("Samba AD DC tools missing or not root: scripts/deps.sh test", file=sys.stderr)
        return 77
    dc = SambaDC(base=sys.argv[1] if len(sys.argv) > 1 else None)

    def prepare(dc):
        dc.add_user("alice", "Samba-Horse-7!")
        dc.add_ca_account()

    return kdc_common.serve(dc, lambda dc, s: [
        f"# Samba DC {dc.realm} ({dc.domain}) on {dc.ip} up in {s:.1f} s, pid {dc.proc.pid}",
        f"# user alice@{dc.realm} password Samba-Horse-7!; CA keytab {dc.keytab} (HOST/{dc.host})"], prepare)


if __name__ == "__main__":
    sys.exit(main())
