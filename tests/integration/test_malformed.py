#!/usr/bin/python3
"""test_malformed.py - garbage and truncated PDUs over a raw socket. For each,
certad must answer with a fault or bind_nak, or close the connection, within a
few seconds (never hang or crash), and a valid bind on a new connection must
still work afterwards (C706 12.6.4, MS-RPCE 3.3.1.5)."""

import random
import socket
import struct
import uuid

import harness
from harness import EPM_UUID

NDR20 = ("8a885d04-1ceb-11c9-9fe8-08002b104860", 2)
PTYPE = {0: "request", 2: "response", 3: "fault", 12: "bind_ack", 13: "bind_nak", 15: "alter_context_resp"}


def header(ptype, frag_len, flags=0x03, call_id=1, auth_len=0, vers=5, minor=0, drep=b"\x10\x00\x00\x00"):
    return struct.pack("<BBBB4sHHI", vers, minor, ptype, flags, drep, frag_len, auth_len, call_id)


def syntax(u, ver_major, ver_minor=0):
    return uuid.UUID(u).bytes_le + struct.pack("<HH", ver_major, ver_minor)


def bind_pdu(iface=EPM_UUID, call_id=1):
    major, minor = (int(x) for x in iface[1].split("."))
    body = struct.pack("<HHI", 5840, 5840, 0)
    body += struct.pack("<BBH", 1, 0, 0)  # one context, reserved
    body += struct.pack("<HBB", 0, 1, 0) + syntax(iface[0], major, minor) + syntax(NDR20[0], NDR20[1])
    return header(11, 16 + len(body), call_id=call_id) + body


def request_pdu(opnum=0, stub=b"", ctx=0, call_id=2):
    body = struct.pack("<IHH", len(stub), ctx, opnum) + stub
    return header(0, 16 + len(body), call_id=call_id) + body


def recv_pdu(sock):
    """One PDU, b'' on orderly close, or None if reset. Raises socket.timeout."""
    data = b""
    try:
        while len(data) < 16:
            chunk = sock.recv(16 - len(data))
            if not chunk:
                return b""
            data += chunk
        frag_len = struct.unpack_from("<H", data, 8)[0]
        while len(data) < frag_len:
            chunk = sock.recv(frag_len - len(data))
            if not chunk:
                return data
            data += chunk
    except ConnectionResetError:
        return None
    return data


class MalformedTest(harness.CertadTestCase):
    def exchange(self, payload, half_close=True, port=None):
        """Send payload on a fresh connection; return what came back within 10 s."""
        with socket.create_connection(("127.0.0.1", port or self.ca.epm_port), timeout=10) as s:
            try:
                s.sendall(payload)
                if half_close:
                    s.shutdown(socket.SHUT_WR)
            except OSError:  # reset, broken pipe, or already closed by the server
                return None
            try:
                return recv_pdu(s)
            except socket.timeout:
                self.fail(f"no answer and no close within 10 s after {payload[:32].hex()}...")

    def assert_refused(self, name, payload, **kw):
        reply = self.exchange(payload, **kw)
        if reply:  # b'' / None: the server closed the connection, also correct
            self.assertGreaterEqual(len(reply), 16, f"{name}: short reply {reply.hex()}")
            ptype = reply[2]
            self.assertIn(ptype, (3, 13), f"{name}: answered with {PTYPE.get(ptype, ptype)}, "
                                          "expected fault or bind_nak")
        self.assertTrue(self.ca.alive(), f"certad died after {name}:\n{self.ca.stderr()}")
        self.assert_valid_bind()

    def assert_valid_bind(self):
        with socket.create_connection(("127.0.0.1", self.ca.epm_port), timeout=10) as s:
            s.sendall(bind_pdu())
            reply = recv_pdu(s)
        self.assertTrue(reply and len(reply) >= 16 and reply[2] == 12,
                        f"a valid bind after malformed input did not get a bind_ack: {reply!r}")

    def test_garbage(self):
        rnd = random.Random(1234)
        cases = {
            "zeros": bytes(64),
            "http": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            "tls hello": bytes.fromhex("160301002a0100002603030000000000"),
            "random 16": bytes(rnd.randrange(256) for _ in range(16)),
            "random 300": bytes(rnd.randrange(256) for _ in range(300)),
        }
        for name, payload in cases.items():
            with self.subTest(case=name):
                self.assert_refused(name, payload)

    def test_bad_headers(self):
        good = bind_pdu()
        cases = {
            "rpc_vers 4": header(11, 16, vers=4),
            "unknown ptype 99": header(99, 16),
            "frag_length below header": header(11, 10),
            "frag_length zero": header(11, 0),
            "auth_length beyond frag": good[:10] + struct.pack("<H", 200) + good[12:],
            "big-endian drep, garbage body": header(11, 40, drep=b"\x00\x00\x00\x00") + bytes(24),
            "request before bind": request_pdu(),
            "response from client": header(2, 24) + bytes(8),
            "bind with zero contexts": header(11, 28) + struct.pack("<HHIBBH", 5840, 5840, 0, 0, 0, 0),
            "bind claiming 255 contexts": header(11, 28) + struct.pack("<HHIBBH", 5840, 5840, 0, 255, 0, 0),
            "bind with 0 transfer syntaxes": header(11, 48) + struct.pack("<HHIBBH", 5840, 5840, 0, 1, 0, 0)
            + struct.pack("<HBB", 0, 0, 0) + syntax(EPM_UUID[0], 3),
            "huge frag_length": header(0, 0xFFFF) + bytes(100),
        }
        for name, payload in cases.items():
            with self.subTest(case=name):
                self.assert_refused(name, payload)

    def test_truncated_bind(self):
        good = bind_pdu()
        for cut in (1, 8, 15, 16, 20, 25, 40, len(good) - 1):
            with self.subTest(cut=cut):
                self.assert_refused(f"bind cut at {cut}", good[:cut])

    def test_truncated_after_bind(self):
        # a good bind, then a request cut short: the bind is acknowledged,
        # the rest refused or the connection closed
        with socket.create_connection(("127.0.0.1", self.ca.epm_port), timeout=10) as s:
            s.sendall(bind_pdu())
            ack = recv_pdu(s)
            self.assertTrue(ack and ack[2] == 12, f"no bind_ack: {ack!r}")
            req = request_pdu(opnum=3, stub=bytes(40))
            s.sendall(req[:30])
            s.shutdown(socket.SHUT_WR)
            try:
                reply = recv_pdu(s)
            except socket.timeout:
                self.fail("no answer and no close after a truncated request")
            if reply:
                self.assertEqual(reply[2], 3, f"expected a fault, got {PTYPE.get(reply[2], reply[2])}")
        self.assertTrue(self.ca.alive())
        self.assert_valid_bind()

    def test_stub_garbage_to_epm(self):
        # a bound context, then ept_map (opnum 3) with a random stub: fault, never a crash
        rnd = random.Random(99)
        for i in range(20):
            with self.subTest(i=i):
                with socket.create_connection(("127.0.0.1", self.ca.epm_port), timeout=10) as s:
                    s.sendall(bind_pdu())
                    ack = recv_pdu(s)
                    self.assertTrue(ack and ack[2] == 12)
                    stub = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 200)))
                    s.sendall(request_pdu(opnum=rnd.choice([0, 1, 2, 3, 4, 5, 6, 7]), stub=stub))
                    reply = recv_pdu(s)
                    if reply:
                        self.assertIn(reply[2], (2, 3), f"expected response or fault, got {reply[2]}")
                self.assertTrue(self.ca.alive(), f"certad died on stub {stub.hex()}")
        self.assert_valid_bind()

    def test_dynamic_port_too(self):
        for name, payload in {"zeros": bytes(32), "request before bind": request_pdu(),
                              "truncated bind": bind_pdu()[:30]}.items():
            with self.subTest(case=name):
                self.assert_refused(name, payload, port=self.ca.dynamic_port)


if __name__ == "__main__":
    harness.main()
