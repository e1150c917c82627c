# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The STARTTLS probe against SMTP servers started in this process on
loopback: good ones, and each way an MX can misbehave, classified within
the probe's one deadline and never raised."""

from __future__ import annotations

import datetime
import socket
import ssl

import pytest

from ansible_collections.mailsec.mta_sts.plugins.module_utils.smtp._probe import MxProber, probe_mx
from ansible_collections.mailsec.mta_sts.tests.unit.plugins.module_utils.loopback import (
    LoopbackServer,
    idle,
)

HOST = 'mx1.example.test'
TIMEOUT = 2.0


@pytest.fixture(scope='module')
def good_tls(certs):
    return certs.server_context(HOST)


class Session:
    """A line-based SMTP conversation on one socket (plain, then TLS)."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b''

    def send(self, data):
        self.sock.sendall(data)

    def command(self):
        while b'\r\n' not in self.buffer:
            data = self.sock.recv(4096)
            if not data:
                raise ConnectionError('client left')
            self.buffer += data
        line, self.buffer = self.buffer.split(b'\r\n', 1)
        return line.upper()


def smtp_server(tls=None, banner=b'220 mx1.example.test ESMTP\r\n', ehlo=None, starttls=b'220 go ahead\r\n',
                after_tls=None):
    """A small SMTP server; each argument replaces one of its answers.
    ``after_tls(session)`` runs once TLS is up (default: answer EHLO, QUIT)."""
    ehlo = ehlo if ehlo is not None else b'250-mx1.example.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n'

    def handler(sock):
        session = Session(sock)
        if banner is None:
            idle(sock, 5.0)
            return
        session.send(banner)
        while True:
            line = session.command()
            if line.startswith(b'EHLO'):
                session.send(ehlo)
            elif line == b'STARTTLS':
                session.send(starttls)
                if not starttls.startswith(b'220'):
                    continue
                session.sock = tls.wrap_socket(sock, server_side=True)
                if after_tls is not None:
                    after_tls(session)
                    return
                while True:
                    line = session.command()
                    if line.startswith(b'EHLO'):
                        session.send(b'250-mx1.example.test\r\n250 PIPELINING\r\n')
                    elif line == b'QUIT':
                        session.send(b'221 bye\r\n')
                        return
            elif line == b'QUIT':
                session.send(b'221 bye\r\n')
                return
            else:
                session.send(b'502 no\r\n')
    return handler


def probe(handler, client, timeout=TIMEOUT, host=HOST):
    with LoopbackServer(handler) as server:
        result = probe_mx(host, '127.0.0.1', client, timeout, port=server.port)
    assert not server.errors, server.errors
    return result


def test_good_mx(good_tls, client):
    result = probe(smtp_server(good_tls), client)
    assert result['stage'] == 'done' and result['error_kind'] is None, result
    assert result['starttls'] is True and result['tls_version'] in ('TLSv1.2', 'TLSv1.3')
    assert result['certificate']['sans'] == [HOST] and not result['cn_only']
    assert result['banner'] == 'mx1.example.test ESMTP'


def test_no_starttls(client):
    result = probe(smtp_server(ehlo=b'250-mx1.example.test\r\n250 PIPELINING\r\n'), client)
    assert (result['stage'], result['starttls'], result['error_kind']) == ('ehlo', False, None)


def test_no_banner_ends_within_the_timeout(client):
    result = probe(smtp_server(banner=None), client, timeout=0.5)
    assert (result['stage'], result['error_kind']) == ('connect', 'timeout')
    assert 'no greeting' in result['error']


def test_421_banner(client):
    result = probe(smtp_server(banner=b'421 4.3.2 too busy, try later\r\n'), client)
    assert (result['stage'], result['error_kind']) == ('connect', 'smtp')
    assert '421' in result['error']


def test_starttls_advertised_then_refused(good_tls, client):
    result = probe(smtp_server(good_tls, starttls=b'454 4.7.0 TLS not available\r\n'), client)
    assert (result['stage'], result['error_kind']) == ('starttls', 'smtp')
    assert 'STARTTLS answered 454' in result['error']


@pytest.mark.parametrize(('ehlo', 'detail'), [
    (b'250-mx1.example.test\r\nSTARTTLS\r\n250 OK\r\n', 'not an SMTP reply line'),
    (b'250-mx1.example.test\r\n220-PIPELINING\r\n250 STARTTLS\r\n', 'changes its code'),
    (b'250-mx1.example.test\r\n' + b'250-' + b'x' * 9000 + b'\r\n', 'longer than'),
    (b'250-x\r\n' * 150, 'longer than 100 lines'),
    (b'\x00\xff\xfe garbage\r\n', 'not an SMTP reply line'),
])
def test_garbled_replies(client, ehlo, detail):
    result = probe(smtp_server(ehlo=ehlo), client)
    assert (result['stage'], result['error_kind']) == ('ehlo', 'garbled'), result
    assert detail in result['error']


def test_endless_trickled_multiline_reply_hits_the_deadline(client):
    def handler(sock):
        sock.sendall(b'220 mx ESMTP\r\n')
        sock.recv(4096)
        for _line in range(100):  # each line well inside a per-read timeout
            sock.sendall(b'250-more\r\n')
            if idle(sock, 0.05):
                return
    result = probe(handler, client, timeout=0.6)
    assert (result['stage'], result['error_kind']) == ('ehlo', 'timeout'), result


def test_drop_right_after_tls(good_tls, client):
    result = probe(smtp_server(good_tls, after_tls=lambda session: None), client)
    assert (result['stage'], result['error_kind']) == ('starttls', 'closed_after_tls'), result
    assert result['tls_version'] is not None


def test_server_closes_before_the_banner(client):
    result = probe(lambda sock: None, client)
    assert (result['stage'], result['error_kind']) == ('connect', 'closed')


def test_connection_refused(client):
    with socket.socket() as bound:
        bound.bind(('127.0.0.1', 0))
        result = probe_mx(HOST, '127.0.0.1', client, TIMEOUT, port=bound.getsockname()[1])
    assert (result['stage'], result['error_kind']) == ('connect', 'connect')


def test_ehlo_refused(client):
    result = probe(smtp_server(ehlo=b'554 5.7.1 go away\r\n'), client)
    assert (result['stage'], result['error_kind']) == ('ehlo', 'smtp')


@pytest.mark.parametrize('kind', ['expired', 'not_yet_valid', 'name_mismatch', 'untrusted', 'handshake'])
def test_tls_failures(certs, client, kind):
    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)
    context = {
        'expired': lambda: certs.server_context(HOST, not_before=now - 90 * day, not_after=now - day),
        'not_yet_valid': lambda: certs.server_context(HOST, not_before=now + 2 * day, not_after=now + 90 * day),
        'name_mismatch': lambda: certs.server_context('mail.other.test'),
        'untrusted': lambda: certs.missing_intermediate_context(HOST),
        'handshake': lambda: _alerting(certs),
    }[kind]()
    result = probe(smtp_server(context), client)
    assert (result['stage'], result['error_kind']) == ('starttls', kind), result


def _alerting(certs):
    context = certs.server_context(HOST)
    context.sni_callback = lambda sock, name, ctx: ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
    return context


def test_cn_only_mx_certificate_is_reported(certs, client):
    result = probe(smtp_server(certs.cn_only_context(HOST)), client)
    assert result['stage'] == 'done' and result['cn_only'] is True


def test_prober_probes_each_address_once(good_tls, client):
    with LoopbackServer(smtp_server(good_tls)) as server:
        prober = MxProber(client, TIMEOUT, port=server.port)
        first = prober.probe(HOST, '127.0.0.1')
        again = prober.probe(HOST.upper(), '127.0.0.1')
    assert first is again and prober.probes == 1 and first['stage'] == 'done'
