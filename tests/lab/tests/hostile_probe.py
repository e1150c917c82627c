"""Look at what a hostile lab server sends, with raw sockets (run inside the lab).

    python hostile_probe.py https HOST CAFILE [old|h2]
    python hostile_probe.py tcp-end HOST CAFILE
    python hostile_probe.py smtp HOST CAFILE

prints one JSON object. Independent of the collection's own fetch and
probe on purpose: test_hostile.py uses it to show that each hostile
fixture plays exactly its misbehaviour.
"""

from __future__ import annotations

import json
import socket
import ssl
import sys
import time
import warnings

WAIT = 1.0        # seconds without a byte before we stop reading
TOTAL = 1.5       # seconds of reading at most (a trickle never goes quiet)
CAP = 1 << 20     # bytes read at most


def read_all(sock) -> dict:
    data = bytearray()
    sock.settimeout(WAIT)
    ended = "cap"
    deadline = time.monotonic() + TOTAL
    while len(data) < CAP:
        if time.monotonic() > deadline:
            ended = "deadline"
            break
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, TimeoutError):
            ended = "timeout"
            break
        except ConnectionResetError:
            ended = "reset"
            break
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            chunk = b""
        if not chunk:
            ended = "eof"
            break
        data.extend(chunk)
    end = data.find(b"\r\n\r\n")
    return {"head": bytes(data[:600]).decode("latin-1"), "total": len(data), "ended": ended,
            "header_end": end, "body": bytes(data[end + 4:end + 4 + 2000]).hex() if end >= 0 else ""}


def https(host: str, cafile: str, variant: str = "") -> dict:
    context = ssl.create_default_context(cafile=cafile)
    if variant == "old":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    if variant == "h2":
        context.set_alpn_protocols(["h2", "http/1.1"])
    started = time.monotonic()
    with socket.create_connection((host, 443), timeout=5) as raw:
        try:
            tls = context.wrap_socket(raw, server_hostname=host)
        except ssl.SSLError as exc:
            return {"tls_error": f"{exc.reason} {exc}"}
        with tls:
            out = {"tls": tls.version(), "alpn": tls.selected_alpn_protocol()}
            try:
                tls.sendall(f"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            except OSError as exc:
                out["send_error"] = type(exc).__name__
            out.update(read_all(tls))
    out["seconds"] = round(time.monotonic() - started, 2)
    return out


def tcp_end(host: str, cafile: str) -> dict:
    """TLS over memory BIOs, so that the kernel's view of how the TCP
    connection ended (FIN or RST) reaches us unfiltered by OpenSSL."""
    context = ssl.create_default_context(cafile=cafile)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=host)
    with socket.create_connection((host, 443), timeout=5) as sock:
        def pump() -> str | None:
            if outgoing.pending > 0:
                sock.sendall(outgoing.read())
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                return "reset"
            if not data:
                return "eof"
            incoming.write(data)
            return None

        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                if pump():
                    return {"tcp_end": "during handshake"}
        tls.write(f"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        received = 0
        while True:
            ended = pump()
            if ended:
                return {"tcp_end": ended, "received": received}
            try:
                received += len(tls.read(65536))
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError:
                pass


def smtp(host: str, cafile: str) -> dict:
    out = {}
    with socket.create_connection((host, 25), timeout=5) as sock:
        sock.settimeout(WAIT)
        reader = sock.makefile("rb")

        def reply() -> list[str]:
            lines = []
            while True:
                try:
                    line = reader.readline(1000)
                except (socket.timeout, TimeoutError):
                    lines.append("<timeout>")
                    return lines
                if not line:
                    lines.append("<eof>")
                    return lines
                lines.append(line.decode("latin-1").rstrip("\r\n"))
                if line[3:4] != b"-" and line[:3].isdigit():
                    return lines

        out["banner"] = reply()
        if not out["banner"][0][:3] == "220":
            return out
        sock.sendall(b"EHLO probe.lab.test\r\n")
        out["ehlo"] = reply()
        if not any("STARTTLS" in line for line in out["ehlo"]):
            return out
        sock.sendall(b"STARTTLS\r\n")
        out["starttls"] = reply()
        if out["starttls"][-1][:3] != "220":
            return out
        context = ssl.create_default_context(cafile=cafile)
        try:
            tls = context.wrap_socket(sock, server_hostname=host)
        except ssl.SSLError as exc:
            out["tls_error"] = str(exc)
            return out
        out["tls"] = tls.version()
        try:
            tls.sendall(b"EHLO probe.lab.test\r\n")
            out["after_tls"] = read_all(tls)["ended"]
        except OSError as exc:
            out["after_tls"] = type(exc).__name__
    return out


if __name__ == "__main__":
    mode, target, ca = sys.argv[1:4]
    extra = sys.argv[4] if len(sys.argv) > 4 else ""
    print(json.dumps({"https": lambda: https(target, ca, extra), "tcp-end": lambda: tcp_end(target, ca),
                      "smtp": lambda: smtp(target, ca)}[mode]()))
