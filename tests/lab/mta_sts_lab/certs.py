"""The lab CA and the certificates of lab servers.

trustme makes a fresh CA for every lab run (ECDSA, fast); leaves are issued
per server name.  Self-signed certificates are built with cryptography
directly because they must not chain to any CA.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .scenario import CertSpec


class CertStore:
    """Writes every certificate once, under DIRECTORY, and returns its paths."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA(organization_name="mta-sts lab", organization_unit_name="lab CA")
        self.ca_path = directory / "lab-ca.pem"
        self.ca_key_path = directory / "lab-ca.key"
        self.ca.cert_pem.write_to_path(str(self.ca_path))
        self.ca.private_key_pem.write_to_path(str(self.ca_key_path))
        self.ca_key_path.chmod(0o600)
        self._issued: dict[tuple, tuple[Path, Path]] = {}
        self._intermediate: trustme.CA | None = None

    def issue(self, spec: CertSpec) -> tuple[Path, Path]:
        """(certificate chain path, key path) for SPEC; the same spec is issued once."""
        key = (tuple(spec.names), spec.expired, spec.self_signed, spec.not_yet_valid, spec.cn_only,
               spec.missing_intermediate)
        if key in self._issued:
            return self._issued[key]
        stem = re.sub(r"[^a-z0-9.-]", "_", spec.names[0])
        if len(spec.names) > 1:
            stem += f"+{len(spec.names) - 1}"
        if spec.expired:
            stem += ".expired"
        if spec.self_signed:
            stem += ".self-signed"
        for flag in ("not_yet_valid", "cn_only", "missing_intermediate"):
            if getattr(spec, flag):
                stem += "." + flag.replace("_", "-")
        cert_path = self.directory / f"{stem}.crt"
        key_path = self.directory / f"{stem}.key"
        now = datetime.datetime.now(datetime.timezone.utc)
        window = {}
        if spec.expired:
            window = {"not_before": now - datetime.timedelta(days=90),
                      "not_after": now - datetime.timedelta(days=1)}
        elif spec.not_yet_valid:
            window = {"not_before": now + datetime.timedelta(days=2),
                      "not_after": now + datetime.timedelta(days=92)}
        if spec.self_signed:
            cert_pem, key_pem = _self_signed(spec.names)
        elif spec.cn_only:
            # trustme always writes a subjectAltName: build this one by hand.
            cert_pem, key_pem = _cn_only(self.ca, spec.names[0])
        else:
            issuer = self.ca
            if spec.missing_intermediate:
                if self._intermediate is None:
                    self._intermediate = self.ca.create_child_ca()
                issuer = self._intermediate
            leaf = issuer.issue_cert(*spec.names, **window)
            # cert_chain_pems: the leaf, then the intermediates; a server that
            # forgets the intermediate sends the leaf alone.
            pems = leaf.cert_chain_pems[:1] if spec.missing_intermediate else leaf.cert_chain_pems
            cert_pem = b"".join(blob.bytes() for blob in pems)
            key_pem = leaf.private_key_pem.bytes()
        cert_path.write_bytes(cert_pem)
        key_path.write_bytes(key_pem)
        key_path.chmod(0o600)
        self._issued[key] = (cert_path, key_path)
        return cert_path, key_path


def _cn_only(ca: trustme.CA, name: str) -> tuple[bytes, bytes]:
    """A leaf signed by the lab CA naming NAME in its subject CN only."""
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), None)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _self_signed(names: list[str]) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem
