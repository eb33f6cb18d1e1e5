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
environment for any process that should use this realm.

Command line (for poking by hand):
    /usr/bin/python3 realm.py [DIR]   start, print the environment, wait for ^C
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

KDB5_UTIL = "/usr/sbin/kdb5_util"
KADMIN_LOCAL = "/usr/sbin/kadmin.local"
KRB5KDC = "/usr/sbin/krb5kdc"
KINIT = "/usr/bin/kinit"
KVNO = "/usr/bin/kvno"
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


class Realm:
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
        with open(self.krb5_conf, "w") as f:
            f.write(
                "[libdefaults]\n"
                f" default_realm = {self.realm}\n"
                " dns_lookup_kdc = false\n"
                " dns_lookup_realm = false\n"
                " rdns = false\n"
                " dns_canonicalize_hostname = false\n"
                " udp_preference_limit = 1\n"
                f" default_keytab_name = FILE:{self.keytab}\n"
                "[realms]\n"
                f" {self.realm} = {{\n"
                f"  kdc = 127.0.0.1:{self.port}\n"
                " }\n"
                "[domain_realm]\n"
                f" .{self.realm.lower()} = {self.realm}\n"
                f" {self.realm.lower()} = {self.realm}\n"
            )
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
        cc = ccache or self.ccache
        env = self.env()
        env["KRB5CCNAME"] = cc
        p = subprocess.run([KINIT, self.principal(user)], input=(password or self.password) + "\n",
                           capture_output=True, text=True, env=env, timeout=30)
        if p.returncode != 0:
            raise RuntimeError(f"kinit exited {p.returncode}: {p.stderr}")
        for svc in services:
            p = subprocess.run([KVNO, f"{svc}@{self.realm}"], capture_output=True, text=True, env=env,
                               timeout=30)
            if p.returncode != 0:
                raise RuntimeError(f"kvno {svc} exited {p.returncode}: {p.stderr}")
        return cc

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self, keep=False):
        self.stop()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup(keep=os.environ.get("CERTA_IT_KEEP") == "1")


def main():
    if not available():
        print("MIT KDC tools missing: scripts/deps.sh test", file=sys.stderr)
        return 77
    r = Realm(base=sys.argv[1] if len(sys.argv) > 1 else None)
    t = time.monotonic()
    r.start()
    print(f"# realm {r.realm} up in {time.monotonic() - t:.2f} s (KDC 127.0.0.1:{r.port}, pid {r.proc.pid})")
    for k, v in r.env({}).items():
        print(f"export {k}={v}")
    print(f"# user {r.principal()} password {r.password}; keytab {r.keytab}")
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        r.cleanup(keep=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
