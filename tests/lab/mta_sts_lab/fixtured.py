"""The lab helper daemon: aiosmtpd MX hosts and HTTP backends, in one asyncio loop.

Run as `python -m mta_sts_lab.fixtured CONFIG.json` by the lab.  It serves

* SMTP on port 25 of each aiosmtpd MX host address, with or without
  STARTTLS and with whatever certificate the scenario gives the host
  (valid, wrong name, expired, self-signed); accepted mail is discarded;
* plain HTTP backends that nginx proxies to for the fixtures nginx cannot
  play alone: a response delayed by N seconds, a response without a
  Content-Type header.

It prints "ready" on stdout once every listener is bound.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import ssl
import sys
from email.parser import BytesParser
from pathlib import Path

from aiosmtpd.smtp import SMTP


RECEIVED = logging.getLogger("lab.smtp")
RECEIVED.setLevel(logging.INFO)


class DiscardHandler:
    """Accepts every message and drops it: the lab tests TLS, not delivery.

    One log line per message says which host got it, over TLS or not, so
    that a test can show what an MX (or an attacker) received.
    """

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        message = BytesParser().parsebytes(envelope.original_content or b"", headersonly=True)
        RECEIVED.info("received host=%s tls=%s from=<%s> to=<%s> message_id=%s",
                      server.hostname, "yes" if session.ssl is not None else "no",
                      envelope.mail_from, ",".join(envelope.rcpt_tos),
                      message.get("Message-ID", "-").strip())
        return "250 2.0.0 Ok: discarded by the lab"


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


async def serve_http(spec: dict, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        # Read the request head; the body (if any) is irrelevant for a GET.
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=30)
        if spec["delay"]:
            await asyncio.sleep(spec["delay"])
        body = Path(spec["body"]).read_bytes()
        head = [f"HTTP/1.1 {spec['status']} Lab", f"Content-Length: {len(body)}",
                "Connection: close"]
        if spec["content_type"]:
            head.append(f"Content-Type: {spec['content_type']}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body)
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(config_path: str) -> None:
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(signum, stop.set)
    servers = []
    handler = DiscardHandler()
    for mx in config["smtp"]:
        context = tls_context(mx["cert"], mx["key"]) if mx["starttls"] else None

        def factory(hostname=mx["hostname"], context=context):
            return SMTP(handler, hostname=hostname, ident="lab aiosmtpd",
                        tls_context=context, require_starttls=False, timeout=60)

        servers.append(await loop.create_server(factory, mx["address"], 25))
    for spec in config["http"]:
        servers.append(await asyncio.start_server(
            lambda r, w, spec=spec: serve_http(spec, r, w), spec["address"], spec["port"]))
    print("ready", flush=True)
    await stop.wait()
    for server in servers:
        server.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(main(sys.argv[1]))
