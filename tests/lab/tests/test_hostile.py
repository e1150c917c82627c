"""Each hostile fixture plays exactly its misbehaviour, seen with raw sockets
(hostile_probe.py, independent of the collection's fetch and probe)."""

from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).resolve().with_name("hostile_probe.py")


def look(lab, mode: str, name: str, variant: str = "") -> dict:
    domain = f"{name}.fixture.test"
    host = f"mx.{domain}" if mode == "smtp" else f"mta-sts.{domain}"
    argv = [sys.executable, str(PROBE), mode, host, lab.facts["ca_bundle"]] + ([variant] if variant else [])
    done = lab.run(argv, timeout=30)
    assert done["rc"] == 0, done
    return json.loads(done["stdout"])


def header(seen: dict, name: str) -> list[str]:
    return re.findall(rf"(?im)^{name}: *([^\r\n]*)", seen["head"][:max(seen["header_end"], 0)])


def body(seen: dict) -> bytes:
    return bytes.fromhex(seen["body"])


def test_connection_close_without_length(lab):
    seen = look(lab, "https", "policy-conn-close")
    assert seen["head"].startswith("HTTP/1.1 200 ")
    assert header(seen, "Connection") == ["close"] and header(seen, "Content-Length") == []
    assert seen["ended"] == "eof" and body(seen).startswith(b"version: STSv1")


def test_500_with_connection_close(lab):
    seen = look(lab, "https", "policy-close-500")
    assert seen["head"].startswith("HTTP/1.1 500 ") and header(seen, "Connection") == ["close"]
    assert seen["ended"] == "eof"


def test_http_1_0(lab):
    seen = look(lab, "https", "policy-http10")
    assert seen["head"].startswith("HTTP/1.0 200 ") and seen["ended"] == "eof"


def test_interim_answers(lab):
    seen = look(lab, "https", "policy-interim")
    assert seen["head"].startswith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n")
    assert "\r\n\r\nHTTP/1.1 200 OK\r\n" in seen["head"]


def test_garbage_instead_of_a_status_line(lab):
    seen = look(lab, "https", "policy-garbage")
    assert seen["total"] > 0 and not seen["head"].startswith("HTTP/")


def test_header_section_without_end(lab):
    seen = look(lab, "https", "policy-endless-headers")
    assert seen["head"].startswith("HTTP/1.1 200 OK\r\nX-Filler-")
    assert seen["header_end"] == -1 and seen["total"] > 65536


def test_trickled_body(lab):
    seen = look(lab, "https", "policy-trickle")
    length = int(header(seen, "Content-Length")[0])
    # Bytes keep coming, never 1 s apart: only the reader's total cap ends it.
    assert seen["ended"] == "deadline" and 0 < len(body(seen)) < length


def test_reset_after_the_headers(lab):
    seen = look(lab, "tcp-end", "policy-reset")
    assert seen["tcp_end"] == "reset" and seen["received"] > 0


@pytest.mark.parametrize(("name", "relation"), [("policy-short-body", "short"), ("policy-long-body", "long")])
def test_content_length_that_does_not_match(lab, name, relation):
    seen = look(lab, "https", name)
    length = int(header(seen, "Content-Length")[0])
    sent = seen["total"] - seen["header_end"] - 4
    assert (sent < length) if relation == "short" else (sent > length)
    assert seen["ended"] == "eof"


def test_chunked(lab):
    seen = look(lab, "https", "policy-chunked")
    assert header(seen, "Transfer-Encoding") == ["chunked"] and body(seen).endswith(b"0\r\n\r\n")


def test_chunked_without_end(lab):
    seen = look(lab, "https", "policy-chunked-huge")
    assert header(seen, "Transfer-Encoding") == ["chunked"] and seen["total"] > 65536


def test_gzip_unasked(lab):
    seen = look(lab, "https", "policy-gzip")
    assert header(seen, "Content-Encoding") == ["gzip"]
    assert gzip.decompress(body(seen)).startswith(b"version: STSv1")


def test_two_content_types(lab):
    seen = look(lab, "https", "policy-two-content-types")
    assert header(seen, "Content-Type") == ["text/plain", "text/html"]


def test_http2_only(lab):
    plain = look(lab, "https", "policy-h2-only")
    assert plain["alpn"] is None and plain["head"].encode("latin-1")[3] == 4  # a SETTINGS frame
    assert look(lab, "https", "policy-h2-only", "h2")["alpn"] == "h2"


def test_alert_inside_the_handshake(lab):
    assert "HANDSHAKE_FAILURE" in look(lab, "https", "tls-alert")["tls_error"]


def test_close_right_after_the_handshake(lab):
    seen = look(lab, "https", "tls-close")
    assert seen["tls"] and seen["total"] == 0 and seen["ended"] in ("eof", "reset")


def test_tls_1_1_only(lab):
    assert "PROTOCOL_VERSION" in look(lab, "https", "tls-old")["tls_error"]
    assert look(lab, "https", "tls-old", "old")["tls"] in ("TLSv1", "TLSv1.1")


def test_mx_without_banner(lab):
    assert look(lab, "smtp", "mx-no-banner")["banner"] == ["<timeout>"]


def test_mx_421(lab):
    assert look(lab, "smtp", "mx-banner-421")["banner"][0].startswith("421 ")


def test_mx_starttls_refused(lab):
    seen = look(lab, "smtp", "mx-starttls-454")
    assert seen["ehlo"][-1] == "250 STARTTLS" and seen["starttls"][0].startswith("454 ")


def test_mx_garbled_reply(lab):
    seen = look(lab, "smtp", "mx-garbage-reply")
    assert any(not re.match(r"\d{3}[ -]", line) for line in seen["ehlo"])


def test_mx_drops_after_tls(lab):
    seen = look(lab, "smtp", "mx-drop-after-tls")
    assert seen["tls"] and seen["after_tls"] in ("eof", "reset", "BrokenPipeError", "ConnectionResetError")
