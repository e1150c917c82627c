"""Runs inside the lab and answers the host-side tests, one JSON line per request.

The tests (tests/lab/tests/*.py, running on the host) start
`tests/lab/run -- python lab_agent.py` once per session.  The agent first
prints a hello line (the facts and the lab's namespace ids, so the host can
later prove that nothing of the lab is left), then serves requests:

    {"call": "https_get", "args": [...]}  ->  {"result": ...} or {"error": "..."}
    {"argv": [...], "env": {...}, "timeout": 60}  ->  {"rc": N, "stdout": "", "stderr": ""}

Every check goes through the system resolver (the lab's resolv.conf) and
real sockets: no mocks.  It stops at end of input.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import http.server
import json
import os
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.resolver
import dns.tsig
import dns.tsigkeyring
import dns.update
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store

FACTS = json.loads(Path("/run/mta-sts-lab/facts.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------- DNS ------

def resolve(names: list[str]) -> dict[str, list[str] | str]:
    """Addresses of each name through the system resolver (getaddrinfo)."""
    result: dict[str, list[str] | str] = {}
    for name in names:
        try:
            infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
            result[name] = sorted({info[4][0] for info in infos})
        except socket.gaierror as exc:
            result[name] = f"error: {exc}"
    return result


def lookup(name: str, rdtype: str) -> list[str]:
    """Records through dnspython's stub resolver reading /etc/resolv.conf."""
    try:
        answer = dns.resolver.resolve(name, rdtype)
    except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
        return []
    if rdtype == "TXT":
        return sorted(b"".join(r.strings).decode() for r in answer)
    return sorted(r.to_text() for r in answer)


def update_txt(zone: str, name: str, text: str, key: str) -> str:
    """Add a TXT record by RFC 2136; KEY is 'lab', 'none' or 'wrong'. Returns the rcode."""
    keyring = None
    if key != "none":
        secret = FACTS["tsig_key_secret"]
        if key == "wrong":
            secret = base64.b64encode(b"not the lab key, not the lab key").decode()
        keyring = dns.tsigkeyring.from_text({FACTS["tsig_key_name"]: secret})
    update = dns.update.UpdateMessage(zone, keyring=keyring,
                                      keyalgorithm=dns.tsig.HMAC_SHA256 if keyring else None)
    update.add(dns.name.from_text(name), 60, "TXT", f'"{text}"')
    try:
        response = dns.query.tcp(update, FACTS["dns_server"], port=FACTS["dns_port"], timeout=5)
    except dns.tsig.PeerError as exc:  # the server refused our signature (BADKEY/BADSIG)
        return f"tsig error: {type(exc).__name__}"
    return dns.rcode.to_text(response.rcode())


# ------------------------------------------------------------- HTTPS ------

def https_get(host: str, path: str = "/.well-known/mta-sts.txt", cafile: str | None = None,
              timeout: float = 5.0) -> dict:
    """GET over HTTPS by name (SNI and name check = HOST); no redirects followed."""
    context = ssl.create_default_context(cafile=cafile)
    connection = http.client.HTTPSConnection(host, 443, context=context, timeout=timeout)
    started = time.monotonic()
    try:
        connection.request("GET", path, headers={"Connection": "close"})
        response = connection.getresponse()
        body = response.read()
    except ssl.SSLCertVerificationError as exc:
        return {"ok": False, "error": "certificate", "detail": exc.verify_message or str(exc)}
    except (TimeoutError, socket.timeout):
        return {"ok": False, "error": "timeout", "seconds": round(time.monotonic() - started, 1)}
    except (OSError, http.client.HTTPException) as exc:
        return {"ok": False, "error": type(exc).__name__, "detail": str(exc)}
    finally:
        connection.close()
    return {"ok": True, "status": response.status,
            "content_type": response.getheader("Content-Type"),
            "location": response.getheader("Location"),
            "length": len(body), "head": body[:128].decode("latin-1")}


def peer_certificate(address: str, port: int, server_name: str | None) -> dict:
    """The certificate a server presents, unverified; SERVER_NAME None = no SNI."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((address, port), timeout=5) as sock:
        with context.wrap_socket(sock, server_hostname=server_name) as tls:
            der = tls.getpeercert(binary_form=True)
    cert = x509.load_der_x509_certificate(der)
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = sans.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    return {"names": names, "not_after": cert.not_valid_after_utc.isoformat(),
            "self_signed": cert.issuer == cert.subject}


# -------------------------------------------------------------- SMTP ------

def starttls(host: str, cafile: str | None) -> dict:
    """Connect to HOST:25 by name, EHLO, STARTTLS with verification for HOST."""
    try:
        with smtplib.SMTP(host, 25, timeout=10) as smtp:
            smtp.ehlo("client.lab.test")
            if not smtp.has_extn("starttls"):
                return {"ok": False, "error": "no STARTTLS offered", "banner_host": host}
            context = ssl.create_default_context(cafile=cafile)
            smtp.starttls(context=context)
            smtp.ehlo("client.lab.test")
            version = smtp.sock.version()
            names = [v for k, v in smtp.sock.getpeercert().get("subjectAltName", ()) if k == "DNS"]
            return {"ok": True, "tls_version": version, "names": names}
    except ssl.SSLCertVerificationError as exc:
        return {"ok": False, "error": "certificate", "detail": exc.verify_message or str(exc)}
    except (OSError, smtplib.SMTPException) as exc:
        return {"ok": False, "error": type(exc).__name__, "detail": str(exc)}


# -------------------------------------------------------------- ACME ------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class AcmeClient:
    """Just enough RFC 8555 for one HTTP-01 issuance against pebble."""

    def __init__(self, directory: str, cafile: str) -> None:
        self.session = requests.Session()
        self.session.verify = cafile
        self.session.trust_env = False  # no proxies: only the lab exists in here
        self.directory = self.session.get(directory, timeout=10).json()
        self.key = ec.generate_private_key(ec.SECP256R1())
        numbers = self.key.public_key().public_numbers()
        self.jwk = {"crv": "P-256", "kty": "EC",
                    "x": _b64(numbers.x.to_bytes(32, "big")),
                    "y": _b64(numbers.y.to_bytes(32, "big"))}
        thumbprint = json.dumps(self.jwk, sort_keys=True, separators=(",", ":")).encode()
        self.thumbprint = _b64(hashlib.sha256(thumbprint).digest())
        self.kid: str | None = None
        self.nonce = self.session.head(self.directory["newNonce"], timeout=10).headers["Replay-Nonce"]

    def post(self, url: str, payload: dict | None) -> requests.Response:
        protected = {"alg": "ES256", "nonce": self.nonce, "url": url}
        if self.kid:
            protected["kid"] = self.kid
        else:
            protected["jwk"] = self.jwk
        body = "" if payload is None else _b64(json.dumps(payload).encode())
        signing_input = f"{_b64(json.dumps(protected).encode())}.{body}".encode()
        r, s = decode_dss_signature(self.key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        jws = {"protected": _b64(json.dumps(protected).encode()), "payload": body,
               "signature": _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))}
        response = self.session.post(url, json=jws, timeout=10,
                                     headers={"Content-Type": "application/jose+json"})
        self.nonce = response.headers.get("Replay-Nonce", self.nonce)
        if response.status_code >= 400:
            raise RuntimeError(f"ACME {url}: {response.status_code} {response.text}")
        return response

    def poll(self, url: str, until: str, timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            state = self.post(url, None).json()
            if state["status"] == until:
                return state
            if state["status"] == "invalid" or time.monotonic() > deadline:
                raise RuntimeError(f"ACME {url}: {state}")
            time.sleep(0.1)


def acme_http01(name: str, address: str) -> dict:
    """Issue a certificate for NAME from pebble, answering HTTP-01 on ADDRESS:80."""
    client = AcmeClient(FACTS["acme_directory"], FACTS["ca_bundle"])
    account = client.post(client.directory["newAccount"], {"termsOfServiceAgreed": True})
    client.kid = account.headers["Location"]
    order_response = client.post(client.directory["newOrder"],
                                 {"identifiers": [{"type": "dns", "value": name}]})
    order_url, order = order_response.headers["Location"], order_response.json()
    authz = client.post(order["authorizations"][0], None).json()
    challenge = next(c for c in authz["challenges"] if c["type"] == "http-01")
    token = challenge["token"]
    key_authorization = f"{token}.{client.thumbprint}".encode()
    served: list[str] = []

    class Responder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server API)
            served.append(self.path)
            if self.path == f"/.well-known/acme-challenge/{token}":
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                self.wfile.write(key_authorization)
            else:
                self.send_error(404)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((address, 80), Responder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        if authz["status"] != "valid":
            client.post(challenge["url"], {})
            client.poll(order["authorizations"][0], "valid")
        cert_key = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
               .sign(cert_key, hashes.SHA256()))
        client.post(order["finalize"], {"csr": _b64(csr.public_bytes(serialization.Encoding.DER))})
        order = client.poll(order_url, "valid")
        pem = client.post(order["certificate"], None).content
    finally:
        server.shutdown()
        server.server_close()
    chain = x509.load_pem_x509_certificates(pem)
    roots = x509.load_pem_x509_certificates(Path(FACTS["acme_root_ca"]).read_bytes())
    verifier = PolicyBuilder().store(Store(roots)).build_server_verifier(x509.DNSName(name))
    verifier.verify(chain[0], chain[1:])  # raises if the chain does not lead to pebble's root
    sans = chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {"names": sans.get_values_for_type(x509.DNSName), "chain_length": len(chain),
            "validated_paths": served}


# -------------------------------------------------------------- loop ------

CALLS = {f.__name__: f for f in (resolve, lookup, update_txt, https_get, peer_certificate,
                                 starttls, acme_http01)}


def namespaces() -> dict[str, str]:
    return {ns: os.readlink(f"/proc/self/ns/{ns}") for ns in ("net", "mnt", "pid")}


def handle(request: dict) -> dict:
    if "argv" in request:
        env = dict(os.environ, **request.get("env", {}))
        try:
            done = subprocess.run(request["argv"], env=env, capture_output=True, text=True, check=False,
                                  timeout=request.get("timeout", 60), input=request.get("input"))
        except subprocess.TimeoutExpired as exc:
            return {"rc": None, "stdout": exc.stdout or "", "stderr": f"timeout: {exc}"}
        return {"rc": done.returncode, "stdout": done.stdout, "stderr": done.stderr}
    try:
        return {"result": CALLS[request["call"]](*request.get("args", []))}
    except Exception as exc:  # noqa: BLE001 - reported to the test, which decides
        return {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}


def main() -> None:
    out = sys.stdout
    sys.stdout = sys.stderr  # anything else printed must not break the protocol
    out.write(json.dumps({"facts": FACTS, "namespaces": namespaces(), "env": {
        k: v for k, v in os.environ.items() if k.startswith("MTA_STS_LAB_")}}) + "\n")
    out.flush()
    for line in sys.stdin:
        if line.strip():
            out.write(json.dumps(handle(json.loads(line))) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
