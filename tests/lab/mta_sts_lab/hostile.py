"""The lab's hostile server: policy hosts and MX hosts that misbehave on purpose.

Run as `python hostile.py CONFIG.json` by the lab (lab.py writes the config).  One asyncio loop serves

* HTTPS on port 443 of each hostile policy host address, playing one
  misbehaviour per address (scenario key `policy: {hostile: NAME}`); every
  domain whose policy host shares the address gets the same play, with a
  certificate naming all of them;
* SMTP on port 25 of each hostile MX address (`server: hostile`,
  `behaviour: NAME`).

The plays are the table of docs/lab.md ("Hostile fixtures").  Every play
ends by itself (a cap on what it sends, or the client leaving), so a test
that gives up early never leaves a busy server behind.  It prints "ready"
once every listener is bound.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import re
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import warnings
from pathlib import Path

READ_LIMIT = 30.0      # seconds to wait for a request or a command
TRICKLE_GAP = 0.25     # seconds between two bytes of a trickled body
SEND_CAP = 4 << 20     # bytes an endless play sends at most
# An HTTP/2 server preface (an empty SETTINGS frame) and a GOAWAY (PROTOCOL_ERROR).
H2_FRAMES = (b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
             b"\x00\x00\x08\x07\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01")


# --- HTTPS --------------------------------------------------------------------

def https_context(spec: dict) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(spec["cert"], spec["key"])
    behaviour = spec["behaviour"]
    if behaviour == "tls-old":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 refuses TLS < 1.2 at level 1+
    else:
        context.minimum_version = ssl.TLSVersion.TLSv1_2
    if behaviour == "tls-alert":
        # A fatal alert from inside the handshake (after the ClientHello).
        context.sni_callback = lambda sslobj, name, ctx: ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
    if behaviour == "h2-only":
        context.set_alpn_protocols(["h2"])
    return context


def head(status: str, *fields: str) -> bytes:
    return ("\r\n".join((f"HTTP/1.1 {status}",) + fields) + "\r\n\r\n").encode("latin-1")


async def client_left(reader: asyncio.StreamReader, seconds: float) -> bool:
    """Wait SECONDS; True as soon as the client closes (its side reads EOF)."""
    try:
        data = await asyncio.wait_for(reader.read(4096), timeout=seconds)
    except asyncio.TimeoutError:
        return False
    except (ConnectionError, ssl.SSLError):
        return True
    return not data


def body_for(spec: dict, request: bytes) -> bytes:
    """The policy of the domain the request names (Host), as domains of a
    generated group share one hostile address; the first one's otherwise."""
    match = re.search(rb"(?im)^host:[ \t]*([^\r\n:]+)", request)
    name = match.group(1).decode("latin-1").strip().lower() if match else ""
    return Path(spec["bodies"].get(name) or next(iter(spec["bodies"].values()))).read_bytes()


async def play_https(spec: dict, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    behaviour = spec["behaviour"]
    if behaviour == "tls-close":
        return  # the handshake is done; close at once
    if behaviour == "h2-only":
        writer.write(H2_FRAMES)
        await writer.drain()
        await client_left(reader, 2.0)
        return
    request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=READ_LIMIT)
    body = body_for(spec, request)
    plain = ("Content-Type: text/plain",)
    length = f"Content-Length: {len(body)}"
    if behaviour == "conn-close":
        writer.write(head("200 OK", *plain, "Connection: close") + body)
    elif behaviour == "close-500":
        writer.write(head("500 Internal Server Error", "Content-Type: text/html", "Connection: close")
                     + b"<html><body>500 Internal Server Error</body></html>\n")
    elif behaviour == "http10":
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + body)
    elif behaviour == "interim":
        writer.write(head("100 Continue") + head("103 Early Hints", "Link: </site.css>; rel=preload")
                     + head("200 OK", *plain, length) + body)
    elif behaviour == "garbage":
        writer.write(b"\x00\xff\xfeSSH-2.0-definitely-not-http\r\n\r\n" + bytes(range(256)))
    elif behaviour == "endless-headers":
        writer.write(b"HTTP/1.1 200 OK\r\n")
        sent = 0
        while sent < SEND_CAP and not writer.is_closing():
            line = b"X-Filler-%d: %s\r\n" % (sent, b"a" * 1000)
            writer.write(line)
            sent += len(line)
            await writer.drain()
    elif behaviour == "trickle":
        writer.write(head("200 OK", *plain, length))
        for byte in body:
            writer.write(bytes([byte]))
            await writer.drain()
            if await client_left(reader, TRICKLE_GAP):
                return
    elif behaviour == "short-body":
        writer.write(head("200 OK", *plain, f"Content-Length: {len(body) + 100}") + body)
    elif behaviour == "long-body":
        # Content-Length covers the first line only; the rest follows in the same write.
        first = body.split(b"\n", 1)[0] + b"\n"
        writer.write(head("200 OK", *plain, f"Content-Length: {len(first)}") + body)
    elif behaviour == "chunked":
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7]) for i in range(0, len(body), 7))
        writer.write(head("200 OK", *plain, "Transfer-Encoding: chunked") + chunks + b"0\r\n\r\n")
    elif behaviour == "chunked-huge":
        writer.write(head("200 OK", *plain, "Transfer-Encoding: chunked"))
        chunk = b"4000\r\n" + b"mx: pad.example.test\r\n"[:16] * 1024 + b"\r\n"
        sent = 0
        while sent < SEND_CAP and not writer.is_closing():
            writer.write(chunk)
            sent += len(chunk)
            await writer.drain()
    elif behaviour == "gzip":
        packed = gzip.compress(body)
        writer.write(head("200 OK", *plain, "Content-Encoding: gzip", f"Content-Length: {len(packed)}") + packed)
    elif behaviour == "two-content-types":
        writer.write(head("200 OK", *plain, "Content-Type: text/html", length) + body)
    await writer.drain()  # then close: the close ends close-delimited bodies


async def serve_https(spec: dict, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await play_https(spec, reader, writer)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError,
            ConnectionError, ssl.SSLError):
        pass
    finally:
        if not writer.is_closing():
            writer.close()


# Plays that fail inside the handshake, and the reset, run on blocking
# sockets: OpenSSL then writes its alert to the socket before the close, and
# SO_LINGER 0 really ends in a RST; asyncio's TLS transport guarantees
# neither when it aborts.
BLOCKING_PLAYS = ("tls-alert", "tls-old", "reset")


def reset_play(tls: ssl.SSLSocket, spec: dict) -> None:
    tls.settimeout(READ_LIMIT)
    request = b""
    while b"\r\n\r\n" not in request:
        chunk = tls.recv(4096)
        if not chunk:
            return
        request += chunk
    body = body_for(spec, request)
    tls.sendall(head("200 OK", "Content-Type: text/plain", f"Content-Length: {len(body) + 500}") + body[:10])
    time.sleep(0.1)
    tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def serve_blocking(spec: dict, context: ssl.SSLContext) -> socket.socket:
    listener = socket.create_server((spec["address"], 443))

    def one(conn: socket.socket) -> None:
        conn.settimeout(READ_LIMIT)
        try:
            with context.wrap_socket(conn, server_side=True) as tls:
                # Only the reset gets here: the other plays fail the handshake.
                reset_play(tls, spec)
        except (ssl.SSLError, OSError):
            pass
        finally:
            conn.close()

    def accept() -> None:
        while True:
            try:
                conn, _peer = listener.accept()
            except OSError:
                return
            threading.Thread(target=one, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener


# --- SMTP ---------------------------------------------------------------------

async def serve_smtp(spec: dict, context: ssl.SSLContext | None, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
    behaviour = spec["behaviour"]
    name = spec["hostname"].encode("ascii")
    try:
        if behaviour == "no-banner":
            await client_left(reader, 60.0)
            return
        if behaviour == "banner-421":
            writer.write(b"421 4.3.2 %s Service not available, closing transmission channel\r\n" % name)
            await writer.drain()
            return
        writer.write(b"220 %s ESMTP lab hostile\r\n" % name)
        while True:
            line = (await asyncio.wait_for(reader.readline(), timeout=READ_LIMIT)).strip().upper()
            if not line:
                return
            if line.startswith((b"EHLO", b"HELO")):
                if behaviour == "garbage-reply":
                    # A continuation line without its code: not an SMTP reply.
                    writer.write(b"250-%s\r\n250-PIPELINING\r\nSTARTTLS\r\n250 8BITMIME\r\n" % name)
                else:
                    writer.write(b"250-%s\r\n250-PIPELINING\r\n250 STARTTLS\r\n" % name)
            elif line == b"STARTTLS":
                if behaviour == "starttls-454" or context is None:
                    writer.write(b"454 4.7.0 TLS not available due to temporary reason\r\n")
                else:
                    writer.write(b"220 2.0.0 Ready to start TLS\r\n")
                    await writer.drain()
                    await writer.start_tls(context)
                    return  # drop-after-tls: the handshake is done, close at once
            elif line == b"QUIT":
                writer.write(b"221 2.0.0 Bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"502 5.5.2 Error: command not recognized\r\n")
            await writer.drain()
    except (asyncio.TimeoutError, ConnectionError, ssl.SSLError, OSError):
        pass
    finally:
        if not writer.is_closing():
            writer.close()


def smtp_context(spec: dict) -> ssl.SSLContext | None:
    if "cert" not in spec:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(spec["cert"], spec["key"])
    return context


async def main(config_path: str) -> None:
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(signum, stop.set)
    servers = []
    for spec in config["https"]:
        if spec["behaviour"] in BLOCKING_PLAYS:
            serve_blocking(spec, https_context(spec))
            continue
        servers.append(await asyncio.start_server(
            lambda r, w, spec=spec: serve_https(spec, r, w), spec["address"], 443,
            ssl=https_context(spec), ssl_handshake_timeout=READ_LIMIT))
    for spec in config["smtp"]:
        context = smtp_context(spec)
        servers.append(await asyncio.start_server(
            lambda r, w, spec=spec, context=context: serve_smtp(spec, context, r, w), spec["address"], 25))
    print("ready", flush=True)
    await stop.wait()
    for server in servers:
        server.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(main(sys.argv[1]))
