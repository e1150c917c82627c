# Copyright: mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does cert_coverage's certificate check work with a managed host's own
cryptography (a distribution package, often older than PyPI's)?

    PYTHON check_certs.py COLLECTIONS_ROOT MINIMUM_VERSION [ANSIBLE_PARENT]

Run with the managed host's interpreter (tests/deps/run.sh uses the system
python3 and its python3-cryptography). It makes a key and a certificate for
mta-sts.example.com with that cryptography, then checks them with
web/_certs.py; it also checks the version against the documented minimum.
ANSIBLE_PARENT holds an ``ansible`` package (for ansible.module_utils, which
a module gets from Ansible rather than from the host).
"""

from __future__ import annotations

import datetime
import sys


def main(argv):
    sys.path[:0] = [argv[1]] + argv[3:4]
    minimum = tuple(int(part) for part in argv[2].split('.'))
    import cryptography
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._certs import inspect_certificate

    version = tuple(int(part) for part in cryptography.__version__.split('.')[:2])
    if version < minimum[:2]:
        print('cryptography %s is older than the documented minimum %s' % (cryptography.__version__, argv[2]))
        return 1
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'mta-sts.example.com')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName('mta-sts.example.com')]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    good = inspect_certificate(cert_pem, key_pem, ['mta-sts.example.com'])
    other = inspect_certificate(cert_pem, key_pem, ['mta-sts.example.org'])
    if not good['complete'] or good['problems'] or other['complete'] or not other['problems']:
        print('the certificate check is wrong with cryptography %s: %r / %r' % (cryptography.__version__, good, other))
        return 1
    if not cryptography.__file__.startswith(sys.base_prefix):
        print('cryptography came from %s, not from %s itself' % (cryptography.__file__, sys.executable))
        return 1
    print('cert_coverage works with %s and its cryptography %s' % (sys.executable, cryptography.__version__))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
