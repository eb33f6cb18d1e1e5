"""kdc_common.py - what realm.py (an MIT KDC) and samba_dc.py (a Samba AD DC)
share: the client krb5.conf both write for the KDC they start, kinit + kvno
into a credential cache, stopping and removing the server, and the command
line that starts one and waits for ^C.
"""

import os
import shutil
import signal
import subprocess
import time

KINIT = "/usr/bin/kinit"
KVNO = "/usr/bin/kvno"


def write_krb5_conf(path, realm, kdc, extra_libdefaults=""):
    """A client krb5.conf for realm with its KDC at kdc ("host" or "host:port"):
    no DNS or reverse lookups, since nothing here resolves; extra_libdefaults
    (lines, each starting with a space) goes at the end of [libdefaults]."""
    with open(path, "w") as f:
        f.write(
            "[libdefaults]\n"
            f" default_realm = {realm}\n"
            " dns_lookup_kdc = false\n"
            " dns_lookup_realm = false\n"
            " rdns = false\n"
            " dns_canonicalize_hostname = false\n"
            f"{extra_libdefaults}"
            "[realms]\n"
            f" {realm} = {{\n"
            f"  kdc = {kdc}\n"
            " }\n"
            "[domain_realm]\n"
            f" .{realm.lower()} = {realm}\n"
            f" {realm.lower()} = {realm}\n"
        )


def kinit(env, ccache, principal, password, realm, services=(), kvno_tries=1):
    """A TGT for principal into ccache, then a ticket for each service principal
    (kvno), run with env. A service the KDC does not know yet is asked for again,
    up to kvno_tries times 0.25 s apart (an account just written can take a
    moment to reach a Samba KDC). Returns ccache."""
    env = dict(env)
    env["KRB5CCNAME"] = ccache
    p = subprocess.run([KINIT, principal], input=password + "\n", capture_output=True, text=True, env=env,
                       timeout=30)
    if p.returncode != 0:
        raise RuntimeError(f"kinit {principal} exited {p.returncode}: {p.stderr}")
    for svc in services:
        for attempt in range(kvno_tries):
            if attempt:
                time.sleep(0.25)
            p = subprocess.run([KVNO, f"{svc}@{realm}"], capture_output=True, text=True, env=env, timeout=30)
            if p.returncode == 0 or "not found in Kerberos database" not in p.stderr:
                break
        if p.returncode != 0:
            raise RuntimeError(f"kvno {svc} exited {p.returncode}: {p.stderr}")
    return ccache


class ThrowawayServer:
    """A server process (self.proc, started in its own session) with its files
    in self.dir: stop, cleanup, and use as a context manager (CERTA_IT_KEEP=1
    keeps the folder for a look afterwards)."""

    proc = None
    dir = None

    def stop(self, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
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


def serve(server, describe, prepare=None):
    """The command line of realm.py and samba_dc.py: start server, run
    prepare(server) if given, print describe(server, seconds that took) - a
    first line, then the environment to use the server, then the other lines -
    and wait for ^C; the folder is kept."""
    t = time.monotonic()
    server.start()
    if prepare:
        prepare(server)
    elapsed = time.monotonic() - t
    lines = describe(server, elapsed)
    print(lines[0])
    for k, v in server.env({}).items():
        print(f"export {k}={v}")
    for line in lines[1:]:
        print(line)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        server.cleanup(keep=True)
    return 0
