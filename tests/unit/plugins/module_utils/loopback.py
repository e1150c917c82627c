# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Loopback servers started inside the test process, for the unit tests of
the policy fetch and the STARTTLS probe (no root, no lab needed).

A :class:`LoopbackServer` listens on 127.0.0.1 on a free port and runs a
handler per connection in a thread. Handlers play a server, well behaved
or not; ``scripted`` turns a list of actions into such a handler. The
certificates come from a trustme CA made for the test session; the few
kinds trustme cannot issue (CN-only, not yet valid, under an intermediate
that the server leaves out) are built with cryptography here.
"""

from __future__ import annotations

import datetime
import select
import socket
import ssl
import struct
import threading
import time

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

POLICY = b'version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 86400\r\n'


class LoopbackServer:
    """Accepts connections on 127.0.0.1:<free port>; ``handler(sock)`` runs per
    connection in a daemon thread and the socket is closed after it."""

    def __init__(self, handler):
        self.handler = handler
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.port = self.listener.getsockname()[1]
        self.errors = []
        self._threads = []
        self._stopped = False
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def _accept(self):
        while not self._stopped:
            try:
                sock, _peer = self.listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock):
        sock.settimeout(10)  # a server thread never outlives a stuck test by much
        try:
            self.handler(sock)
        except (OSError, ValueError):
            pass  # the client went away: expected in most of these tests
        except Exception as exc:  # noqa: BLE001 - reported by the test through .errors
            self.errors.append(exc)
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def stop(self):
        self._stopped = True
        try:
            # Wakes the accepting thread: close() alone leaves it listening.
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def reset(sock):
    """Close with a TCP RST instead of a FIN."""
    raw = sock
    try:
        raw = socket.socket(fileno=sock.fileno()) if isinstance(sock, ssl.SSLSocket) else sock
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    except OSError:
        pass
    if raw is not sock:
        raw.detach()
    sock.close()


def idle(sock, seconds):
    """Wait SECONDS, or less if the client sends or closes meanwhile (so a
    test does not wait for a server thread that has nothing left to say).
    True when the client did something."""
    readable, _writable, _failed = select.select([sock], [], [], seconds)
    return bool(readable)


def read_request(sock, limit=65536):
    data = b''
    while b'\r\n\r\n' not in data and len(data) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def tls_handler(context, then):
    """Handshake as the server with CONTEXT, then run THEN(tls_socket)."""
    def handler(sock):
        tls = context.wrap_socket(sock, server_side=True)
        then(tls)
    return handler


def http_script(actions, read_first=True):
    """A handler for a TLS socket: read the request, then play ACTIONS:
    bytes (send), float (sleep), 'trickle:<bytes>' as ('trickle', data, gap),
    'reset' (RST) or 'close'."""
    def then(sock):
        if read_first:
            read_request(sock)
        for action in actions:
            if isinstance(action, bytes):
                sock.sendall(action)
            elif isinstance(action, float):
                idle(sock, action)
            elif isinstance(action, tuple) and action[0] == 'trickle':
                for byte in action[1]:
                    sock.sendall(bytes([byte]))
                    time.sleep(action[2])
            elif isinstance(action, tuple) and action[0] == 'forever':
                while True:
                    sock.sendall(action[1])
            elif action == 'reset':
                reset(sock)
                return
            elif action == 'close':
                break
        if isinstance(sock, ssl.SSLSocket):
            try:
                sock.unwrap()
            except (OSError, ValueError):
                pass
    return then


class Certificates:
    """A trustme CA plus the odd certificates trustme cannot issue."""

    def __init__(self, tmp_path):
        self.ca = trustme.CA()
        self.ca_file = tmp_path / 'ca.pem'
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.tmp_path = tmp_path
        self._ca_key = serialization.load_pem_private_key(self.ca.private_key_pem.bytes(), None)
        self._ca_cert = x509.load_pem_x509_certificate(self.ca.cert_pem.bytes())
        self._count = 0

    def server_context(self, *names, not_before=None, not_after=None, max_version=None, min_version=None):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        leaf = self.ca.issue_cert(*names, not_before=not_before, not_after=not_after)
        leaf.configure_cert(context)
        if max_version is not None:
            context.maximum_version = max_version
        if min_version is not None:
            context.minimum_version = min_version
        return context

    def _write(self, cert_pem, key_pem):
        self._count += 1
        cert_path = self.tmp_path / ('leaf%d.pem' % self._count)
        key_path = self.tmp_path / ('leaf%d.key' % self._count)
        cert_path.write_bytes(cert_pem)
        key_path.write_bytes(key_pem)
        return str(cert_path), str(key_path)

    def _leaf(self, issuer_cert, issuer_key, common_name, sans, not_before, not_after):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
                   .issuer_name(issuer_cert.subject)
                   .public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(not_before)
                   .not_valid_after(not_after)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in sans]),
                                            critical=False)
        cert = builder.sign(issuer_key, hashes.SHA256())
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        return cert.public_bytes(serialization.Encoding.PEM), key_pem

    def cn_only_context(self, name):
        """A certificate naming NAME only in its subject CN (no subjectAltName)."""
        now = datetime.datetime.now(datetime.timezone.utc)
        cert_pem, key_pem = self._leaf(self._ca_cert, self._ca_key, name, [],
                                       now - datetime.timedelta(days=1), now + datetime.timedelta(days=90))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*self._write(cert_pem, key_pem))
        return context

    def missing_intermediate_context(self, name):
        """A leaf under an intermediate CA, served without that intermediate."""
        child = self.ca.create_child_ca()
        leaf = child.issue_cert(name)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert_path, key_path = self._write(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes())
        context.load_cert_chain(cert_path, key_path)
        return context
