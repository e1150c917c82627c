# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The policy fetch against servers started in this process on loopback:
every answer a policy host can give ends in a classified result, within
the fetch's one deadline, and never in an exception."""

from __future__ import annotations

import datetime
import gzip
import socket
import ssl

import pytest

from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._fetch import (
    MAX_POLICY_BYTES,
    fetch_address,
    fetch_policy,
)
from ansible_collections.mailsec.mta_sts.tests.unit.plugins.module_utils.loopback import (
    POLICY,
    LoopbackServer,
    http_script,
    idle,
    tls_handler,
)

HOST = 'mta-sts.example.test'
TIMEOUT = 2.0


@pytest.fixture(scope='module')
def good_tls(certs):
    return certs.server_context(HOST)


def fetch(handler, client, timeout=TIMEOUT, **kwargs):
    with LoopbackServer(handler) as server:
        result = fetch_address(HOST, '127.0.0.1', client, timeout, port=server.port, **kwargs)
    assert not server.errors, server.errors
    return result


def served(good_tls, client, *actions, **kwargs):
    return fetch(tls_handler(good_tls, http_script(list(actions))), client, **kwargs)


def ok_head(extra=b'', length=len(POLICY)):
    return (b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n' % length) + extra + b'\r\n'


# --- answers a sender takes ---------------------------------------------------

def test_a_plain_answer(good_tls, client):
    result = served(good_tls, client, ok_head() + POLICY)
    assert result['stage'] == 'done' and result['error_kind'] is None
    assert (result['status'], result['content_type'], result['body']) == (200, 'text/plain', POLICY)
    assert result['framing'] == 'content-length' and not result['excess'] and not result['too_large']
    assert result['http_version'] == 'HTTP/1.1' and result['tls_version'] in ('TLSv1.2', 'TLSv1.3')
    assert result['certificate']['sans'] == [HOST] and not result['cn_only']
    assert result['size'] == len(POLICY)


@pytest.mark.parametrize('status', [200, 404, 500, 503])
def test_connection_close_after_any_status(good_tls, client, status):
    # http.client closed its connection object here and the old code then
    # crashed on conn.sock.settimeout (NoneType).
    head = b'HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n' % status
    result = served(good_tls, client, head + POLICY, 'close')
    assert result['stage'] == 'done' and result['status'] == status
    assert result['framing'] == 'close' and result['body'] == POLICY


def test_http_1_0_answer(good_tls, client):
    result = served(good_tls, client, b'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n' + POLICY, 'close')
    assert (result['stage'], result['http_version'], result['body']) == ('done', 'HTTP/1.0', POLICY)


def test_interim_answers_before_the_final_one(good_tls, client):
    result = served(good_tls, client, b'HTTP/1.1 100 Continue\r\n\r\n',
                    b'HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n', ok_head() + POLICY)
    assert result['stage'] == 'done' and result['interim'] == [100, 103]
    assert result['status'] == 200 and result['body'] == POLICY


def test_chunked_body(good_tls, client):
    chunks = b''.join(b'%x;ext=1\r\n%s\r\n' % (len(POLICY[i:i + 7]), POLICY[i:i + 7]) for i in range(0, len(POLICY), 7))
    head = b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n'
    result = served(good_tls, client, head + chunks + b'0\r\nX-Trailer: 1\r\n\r\n')
    assert (result['stage'], result['framing'], result['body']) == ('done', 'chunked', POLICY)


def test_obs_fold_header_is_joined(good_tls, client):
    head = b'HTTP/1.1 200 OK\r\nContent-Type: text/plain;\r\n charset=utf-8\r\nContent-Length: %d\r\n\r\n' % len(POLICY)
    result = served(good_tls, client, head + POLICY)
    assert result['content_type'] == 'text/plain; charset=utf-8'


def test_no_body_statuses(good_tls, client):
    result = served(good_tls, client, b'HTTP/1.1 204 No Content\r\n\r\n')
    assert (result['stage'], result['status'], result['body'], result['framing']) == ('done', 204, b'', 'none')


# --- facts the judge turns into findings ------------------------------------

def test_body_longer_than_content_length(good_tls, client):
    result = served(good_tls, client, ok_head(length=20) + POLICY)
    assert result['stage'] == 'done' and result['body'] == POLICY[:20] and result['excess']


def test_gzip_sent_unasked(good_tls, client):
    body = gzip.compress(POLICY)
    result = served(good_tls, client, ok_head(b'Content-Encoding: gzip\r\n', len(body)) + body)
    assert result['stage'] == 'done' and result['content_encoding'] == 'gzip' and result['body'] == body


def test_duplicate_content_types(good_tls, client):
    result = served(good_tls, client, ok_head(b'Content-Type: text/html\r\n') + POLICY)
    assert result['content_types'] == ['text/plain', 'text/html']
    assert result['content_type'] == 'text/plain'


def test_oversize_content_length(good_tls, client):
    body = b'x' * (MAX_POLICY_BYTES + 10)
    result = served(good_tls, client, ok_head(length=len(body)) + body)
    assert result['stage'] == 'done' and result['too_large'] and result['size'] == MAX_POLICY_BYTES


def test_chunked_body_of_any_size_is_capped(good_tls, client):
    head = b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n'
    result = served(good_tls, client, head, ('forever', b'4000\r\n' + b'y' * 0x4000 + b'\r\n'))
    assert result['stage'] == 'done' and result['too_large'] and result['size'] == MAX_POLICY_BYTES


def test_close_delimited_body_is_capped(good_tls, client):
    result = served(good_tls, client, b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n',
                    ('forever', b'z' * 8192))
    assert result['stage'] == 'done' and result['too_large'] and result['size'] == MAX_POLICY_BYTES


# --- failures: each one classified, no body -----------------------------------

@pytest.mark.parametrize(('actions', 'kind'), [
    ([ok_head(length=500) + POLICY, 'close'], 'truncated'),
    ([b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc', 'close'], 'truncated'),
    ([b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'], 'bad_chunk'),
    ([b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n'], 'bad_chunk'),
    ([b'HTTP/1.1 200 OK\r\nContent-Length: 5, 7\r\n\r\nabcde'], 'bad_length'),
    ([b'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'], 'bad_length'),
    ([b'HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\n'], 'bad_length'),  # latin-1 superscript two
    ([b'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n'], 'bad_length'),
    ([b'<html>hello</html>\r\n', 'close'], 'bad_status'),
    ([b'\x16\x03\x01garbage without a line end', 'close'], 'bad_status'),
    ([b'HTTP/2.0 200 OK\r\n\r\n'], 'bad_status'),
    ([b'HTTP/1.1 200 OK\r\nthis is not a header\r\n\r\n'], 'bad_header'),
    ([b'HTTP/1.1 200 OK\r\n folded first\r\n\r\n'], 'bad_header'),
    ([b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n'], 'upgrade'),
    ([b'HTTP/1.1 100 Continue\r\n\r\n' * 9], 'bad_status'),
    ([b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n', 'close'], 'truncated'),
    (['close'], 'closed'),
    # An HTTP/2 server preface (SETTINGS) and a GOAWAY where a status line belongs.
    ([b'\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64'
      b'\x00\x00\x08\x07\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01'], 'http2'),
])
def test_classified_failures(good_tls, client, actions, kind):
    result = served(good_tls, client, *actions)
    assert result['stage'] == 'http', result
    assert result['error_kind'] == kind, result
    assert result['body'] is None and result['error']


def test_header_section_that_never_ends(good_tls, client):
    result = served(good_tls, client, b'HTTP/1.1 200 OK\r\n', ('forever', b'X-Filler: ' + b'a' * 1000 + b'\r\n'))
    assert (result['stage'], result['error_kind'], result['body']) == ('http', 'headers_too_large', None)


def test_one_huge_header_line(good_tls, client):
    result = served(good_tls, client, b'HTTP/1.1 200 OK\r\nX-Big: ' + b'a' * 70000 + b'\r\n\r\n')
    assert (result['stage'], result['error_kind']) == ('http', 'headers_too_large')


def test_reset_after_the_headers(good_tls, client):
    result = served(good_tls, client, ok_head(length=500), 0.2, 'reset')
    assert result['stage'] == 'http' and result['body'] is None
    # Linux may hand over the header bytes before the reset or drop them.
    assert result['error_kind'] in ('reset', 'truncated', 'closed'), result


def test_trickled_body_hits_the_total_time_cap(good_tls, client):
    # One byte every 50 ms never trips a per-read timeout; only the total cap ends it.
    result = served(good_tls, client, ok_head(length=len(POLICY)), ('trickle', POLICY, 0.05), timeout=0.6)
    assert (result['stage'], result['error_kind'], result['timed_out']) == ('http', 'timeout', True)
    assert result['body'] is None


def test_silent_server_after_the_handshake(good_tls, client):
    result = served(good_tls, client, 5.0, timeout=0.5)
    assert (result['stage'], result['error_kind']) == ('http', 'timeout')


def test_peer_closes_right_after_the_handshake(good_tls, client):
    result = fetch(tls_handler(good_tls, lambda sock: None), client)
    assert result['stage'] == 'http' and result['body'] is None
    assert result['error_kind'] in ('closed', 'reset'), result


# --- connection and TLS -------------------------------------------------------

def test_connection_refused(client):
    with socket.socket() as bound:  # bound, never listening: the port refuses
        bound.bind(('127.0.0.1', 0))
        result = fetch_address(HOST, '127.0.0.1', client, TIMEOUT, port=bound.getsockname()[1])
    assert (result['stage'], result['error_kind']) == ('connect', 'connect')


def test_no_tls_handshake_in_time(client):
    result = fetch(lambda sock: (sock.recv(4096), idle(sock, 3.0)), client, timeout=0.5)
    assert (result['stage'], result['error_kind'], result['timed_out']) == ('tls', 'timeout', True)


def test_plain_http_on_port_443(client):
    result = fetch(http_script([b'HTTP/1.1 400 Bad Request\r\n\r\n'], read_first=False), client)
    assert result['stage'] == 'tls' and result['error_kind'] == 'handshake'


def test_alert_in_the_middle_of_the_handshake(certs, client):
    context = certs.server_context(HOST)
    context.sni_callback = lambda sock, name, ctx: ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
    result = fetch(tls_handler(context, lambda sock: None), client)
    assert (result['stage'], result['error_kind']) == ('tls', 'handshake')
    assert 'internal error' in result['error'].lower()


def test_sni_refused(certs, client):
    context = certs.server_context(HOST)
    context.sni_callback = lambda sock, name, ctx: ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
    result = fetch(tls_handler(context, lambda sock: None), client)
    assert (result['stage'], result['error_kind']) == ('tls', 'sni_refused')


@pytest.mark.filterwarnings('ignore:ssl.TLSVersion.TLSv1')
def test_tls_1_1_only(certs, client):
    context = certs.server_context(HOST, max_version=ssl.TLSVersion.TLSv1_1, min_version=ssl.TLSVersion.TLSv1)
    try:
        context.set_ciphers('DEFAULT:@SECLEVEL=0')
    except ssl.SSLError:
        pytest.skip('this OpenSSL cannot serve TLS 1.1')
    result = fetch(tls_handler(context, lambda sock: None), client)
    assert (result['stage'], result['error_kind']) == ('tls', 'old_tls'), result


def test_missing_intermediate(certs, client):
    result = fetch(tls_handler(certs.missing_intermediate_context(HOST), lambda sock: None), client)
    assert (result['stage'], result['error_kind']) == ('tls', 'untrusted'), result


def test_not_yet_valid(certs, client):
    now = datetime.datetime.now(datetime.timezone.utc)
    context = certs.server_context(HOST, not_before=now + datetime.timedelta(days=2),
                                   not_after=now + datetime.timedelta(days=90))
    result = fetch(tls_handler(context, lambda sock: None), client)
    assert (result['stage'], result['error_kind']) == ('tls', 'not_yet_valid'), result


def test_expired(certs, client):
    now = datetime.datetime.now(datetime.timezone.utc)
    context = certs.server_context(HOST, not_before=now - datetime.timedelta(days=90),
                                   not_after=now - datetime.timedelta(days=1))
    result = fetch(tls_handler(context, lambda sock: None), client)
    assert (result['stage'], result['error_kind']) == ('tls', 'expired'), result


def test_wrong_name(certs, client):
    context = certs.server_context('www.example.test')
    result = fetch(tls_handler(context, lambda sock: None), client)
    assert (result['stage'], result['error_kind']) == ('tls', 'name_mismatch'), result


def test_cn_only_certificate_is_accepted_by_python_but_reported(certs, client):
    # Python's ssl falls back to the subject CN when there is no SAN: the
    # handshake passes, the fact must say so.
    context = certs.cn_only_context(HOST)
    result = served(context, client, ok_head() + POLICY)
    assert result['stage'] == 'done' and result['cn_only'] is True
    assert result['certificate']['sans'] == []


def test_fetch_policy_fetches_every_address(good_tls, client):
    class Resolver:
        def addresses(self, host):
            assert host == HOST
            return ['127.0.0.1', '127.0.0.1'], []

    with LoopbackServer(tls_handler(good_tls, http_script([ok_head() + POLICY]))) as server:
        fetched = fetch_policy('example.test', Resolver(), client, TIMEOUT, port=server.port)
    assert fetched['url'] == 'https://mta-sts.example.test/.well-known/mta-sts.txt'
    assert [r['body'] for r in fetched['results']] == [POLICY, POLICY]
