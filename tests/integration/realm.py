"""realm.py - a throw-away MIT Kerberos realm for tests (krb5 1.20, Debian 12).

Realm() writes krb5.conf and kdc.conf into a temporary folder, creates the
database (`kdb5_util create -s`), adds a user and the CA's service principals
(host/ and RPCSS/ on ca1.<realm>, random keys exported to a keytab with
kadmin.local), and starts `krb5kdc -n` on 127.0.0.1 with a free port: about
0.2 s from nothing to a KDC answering. Nothing outside the folder is touched:
every tool runs with KRB5_CONFIG and KRB5_KDC_PROFILE pointing into it (the
system /etc/krb5.conf names a foreign realm, test-infrastructure.md).

Clients: Realm.kinit() fills a credential cache with the user's TGT and, with
kvno, a service ticket; impacket can then use the cache (KRB5CCNAME) without
dialling the KDC, which it would do on port 88 only. Realm.env() is the
environment for any process that should use this realm. What it shares with
samba_dc.py (client krb5.conf, kinit, stop and cleanup) is in kdc_common.py.

Command line (for poking by hand):
    /usr/bin/python3 realm.py [DIR]   start, print the environment, wait for ^C
"""

import os
import socket
import subprocess
import sys
import tempfile
import time

import kdc_common
from kdc_common import KINIT, KVNO

KDB5_UTIL = "/usr/sbin/kdb5_util"
KADMIN_LOCAL = "/usr/sbin/kadmin.local"
KRB5KDC = "/usr/sbin/krb5kdc"
KDESTROY = "/usr/bin/kdestroy"

REALM = "CERTA.TEST"
HOST = "ca1.certa.test"
USER = "alice"
PASSWORD = "Kerb-Horse-7!"


def available():
    """True when the MIT KDC and client tools are installed (scripts/deps.sh test)."""
    return all(os.access(p, os.X_OK) for p in (KDB5_UTIL, KADMIN_LOCAL, KRB5KDC, KINIT, KVNO))


def free_port(addr="127.0.0.1"):
    """A port free for both TCP and UDP on addr right now."""
    for _ in range(50):
        with socket.socket() as t:
            t.bind((addr, 0))
            port = t.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                    u.bind((addr, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


class Realm(kdc_common.ThrowawayServer):
    """One MIT KDC with its database, config and keytab in a temporary folder."""

    def __init__(self, realm=REALM, host=HOST, user=USER, password=PASSWORD, base=None,
                 enctypes="aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal"):
        self.realm = realm
        self.host = host
        self.user = user
        self.password = password
        self.enctypes = enctypes
        self.dir = base or tempfile.mkdtemp(prefix="certa-krb5-")
        os.makedirs(self.dir, exist_ok=True)
        self.port = None
        self.proc = None
        self.krb5_conf = os.path.join(self.dir, "krb5.conf")
        self.kdc_conf = os.path.join(self.dir, "kdc.conf")
        self.keytab = os.path.join(self.dir, "ca1.keytab")
        self.ccache = os.path.join(self.dir, "ccache")
        self.log = os.path.join(self.dir, "kdc.log")
        self.services = [f"host/{host}", f"RPCSS/{host}"]

    # -- environment --

    def env(self, base=None):
        """os.environ (or base) plus the variables that select this realm."""
        e = dict(os.environ if base is None else base)
        e.update({
            "KRB5_CONFIG": self.krb5_conf,
            "KRB5_KDC_PROFILE": self.kdc_conf,
            "KRB5CCNAME": self.ccache,  # a plain path: impacket opens it as a file
            # an acceptor in a test has no business with the system replay cache dir
            "KRB5RCACHEDIR": self.dir,
            "KRB5_TRACE": os.path.join(self.dir, "trace.log"),
        })
        return e

    def principal(self, name=None):
        return f"{name or self.user}@{self.realm}"

    def _run(self, *cmd, stdin=None):
        p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=self.env(), timeout=60)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}{p.stderr}")
        return p.stdout

    def kadmin(self, query):
        return self._run(KADMIN_LOCAL, "-r", self.realm, "-q", query)

    # -- lifecycle --

    def _write_configs(self):
        db = os.path.join(self.dir, "principal")
        with open(self.kdc_conf, "w") as f:
            f.write(
                "[kdcdefaults]\n"
                f" kdc_listen = 127.0.0.1:{self.port}\n"
                f" kdc_tcp_listen = 127.0.0.1:{self.port}\n"
                "[realms]\n"
                f" {self.realm} = {{\n"
                f"  database_name = {db}\n"
                f"  key_stash_file = {os.path.join(self.dir, 'stash')}\n"
                f"  acl_file = {os.path.join(self.dir, 'kadm5.acl')}\n"
                f"  supported_enctypes = {self.enctypes}\n"
                "  max_life = 10h 0m 0s\n"
                "  max_renewable_life = 1d 0h 0m 0s\n"
                " }\n"
                "[logging]\n"
                f" kdc = FILE:{self.log}\n"
            )
        kdc_common.write_krb5_conf(self.krb5_conf, self.realm, f"127.0.0.1:{self.port}",
                                   " udp_preference_limit = 1\n"
                                   f" default_keytab_name = FILE:{self.keytab}\n")
        open(os.path.join(self.dir, "kadm5.acl"), "w").close()

    def start(self, timeout=10):
        """Create the realm and start the KDC; returns self."""
        self.port = free_port()
        self._write_configs()
        self._run(KDB5_UTIL, "-r", self.realm, "create", "-s", "-P", "master-" + self.password)
        self.kadmin(f"addprinc -pw {self.password} {self.principal()}")
        for svc in self.services:
            self.kadmin(f"addprinc -randkey {svc}@{self.realm}")
            self.kadmin(f"ktadd -k {self.keytab} {svc}@{self.realm}")
        self.proc = subprocess.Popen([KRB5KDC, "-n", "-r", self.realm], env=self.env(),
                                     stdout=subprocess.DEVNULL, stderr=open(self.log + ".stderr", "w"),
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"krb5kdc exited {self.proc.returncode}; see {self.log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("krb5kdc did not start listening")

    def add_user(self, name, password):
        self.kadmin(f"addprinc -pw {password} {name}@{self.realm}")

    def kinit(self, user=None, password=None, services=(), ccache=None):
        """TGT for user into the cache (default: self.ccache), then a ticket for
        each service principal (kvno). Returns the cache path."""
        return kdc_common.kinit(self.env(), ccache or self.ccache, self.principal(user),
                                password or self.password, self.realm, services)

    def stop(self, timeout=5):
        super().stop(timeout)


def main():
    if not available():
        print("MIT KDC tools missing: scripts/deps.sh test", file=sys.stderr)
        return 77
    r = Realm(base=sys.argv[1] if len(sys.argv) > 1 else None)
    return kdc_common.serve(r, lambda r, s: [
        f"# realm {r.realm} up in {s:.2f} s (KDC 127.0.0.1:{r.port}, pid {r.proc.pid})",
        f"# user {r.principal()} password {r.password}; keytab {r.keytab}"])


if __name__ == "__main__":
    sys.exit(main())
