# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Property test of the policy fetch: whatever HTTP answer a server sends
(status line, header fields, framing, body bytes, and how it ends the
connection), served on loopback over TLS in this process, the fetch returns
a classified result and never raises.

CI runs a fixed, small sequence of examples (derandomized, a few seconds);
``FETCH_EXAMPLES=2000`` explores more.
"""

from __future__ import annotations

import os
import threading

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._fetch import (
    HTTP_ERROR_KINDS,
    MAX_POLICY_BYTES,
    fetch_address,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._tls import trust_context
from ansible_collections.mailsec.mta_sts.tests.unit.plugins.module_utils.loopback import (
    Certificates,
    LoopbackServer,
    idle,
    read_request,
    reset,
)

HOST = 'mta-sts.example.test'
EXAMPLES = int(os.environ.get('FETCH_EXAMPLES', '60'))
TIMEOUT = 1.0
RESULT_KEYS = {
    'address', 'stage', 'error_kind', 'error', 'tls_version', 'alpn', 'certificate', 'cn_only', 'http_version',
    'interim', 'status', 'reason', 'location', 'content_type', 'content_types', 'content_encoding', 'framing',
    'content_length', 'excess', 'size', 'too_large', 'timed_out', 'elapsed', 'body',
}

# --- what a server may answer -------------------------------------------------

tokens = st.sampled_from([b'OK', b'Not Found', b'', b'x' * 300, b'\xff\xfe', b'Early Hints'])
status_lines = st.one_of(
    st.builds(lambda minor, code, reason: b'HTTP/1.%d %d %s\r\n' % (minor, code, reason),
              st.sampled_from([0, 1]), st.sampled_from([100, 101, 103, 200, 204, 301, 304, 404, 500]) |
              st.integers(100, 999), tokens),
    st.builds(lambda code: b'HTTP/1.1 %d\n' % code, st.integers(0, 999)),
    st.binary(max_size=40),
)
header_values = st.one_of(
    st.sampled_from([b'text/plain', b'text/html', b'close', b'keep-alive', b'chunked', b'gzip', b'identity',
                     b'chunked, gzip', b'0', b'5', b'-1', b'12, 12', b'12, 13', b'999999999999999999999',
                     b'\xb2', b'1\xb9', b'+5', b' 7 ']),
    st.integers(0, 100000).map(lambda n: b'%d' % n),
    st.binary(max_size=30).filter(lambda v: b'\r' not in v and b'\n' not in v),
)
header_names = st.sampled_from([b'Content-Type', b'Content-Length', b'Transfer-Encoding', b'Connection',
                                b'Content-Encoding', b'Location', b'X-Other', b' folded', b'no colon', b''])
headers = st.lists(st.tuples(header_names, header_values), max_size=6)


@st.composite
def bodies(draw):
    """A body as sent: raw bytes, a chunked encoding (maybe broken), or a big blob."""
    kind = draw(st.sampled_from(['raw', 'chunked', 'broken-chunked', 'big']))
    data = draw(st.binary(max_size=300))
    if kind == 'chunked':
        parts = [data[i:i + 50] for i in range(0, len(data), 50)]
        return b''.join(b'%x\r\n%s\r\n' % (len(p), p) for p in parts) + b'0\r\n\r\n'
    if kind == 'broken-chunked':
        return b'%x\r\n%s' % (draw(st.integers(0, 1 << 20)), data)
    if kind == 'big':
        return b'p' * draw(st.sampled_from([MAX_POLICY_BYTES - 1, MAX_POLICY_BYTES + 1, 3 * MAX_POLICY_BYTES]))
    return data


responses = st.fixed_dictionaries({
    'interim': st.lists(st.sampled_from([b'HTTP/1.1 100 Continue\r\n\r\n', b'HTTP/1.1 103 Early\r\nLink: x\r\n\r\n']),
                        max_size=2),
    'status': status_lines,
    'headers': headers,
    'end_of_head': st.sampled_from([b'\r\n', b'\n', b'']),
    'body': bodies(),
    # How the server ends: close, reset, cut the bytes short, or stay open a while.
    'ending': st.sampled_from(['close', 'reset', 'cut', 'linger']),
    'cut_at': st.integers(0, 400),
})


def render(response):
    head = b''.join(response['interim']) + response['status']
    head += b''.join(name + b': ' + value + b'\r\n' for name, value in response['headers'])
    data = head + response['end_of_head'] + response['body']
    if response['ending'] == 'cut':
        data = data[:response['cut_at']]
    return data


# --- one server for all examples ------------------------------------------------

class Stage:
    """The answer the loopback server plays for the current example."""

    def __init__(self):
        self.lock = threading.Lock()
        self.response = None


@pytest.fixture(scope='module')
def loopback(tmp_path_factory):
    certs = Certificates(tmp_path_factory.mktemp('certs'))
    server_context = certs.server_context(HOST)
    stage = Stage()

    def handler(sock):
        tls = server_context.wrap_socket(sock, server_side=True)
        read_request(tls)
        with stage.lock:
            response = stage.response
        tls.sendall(render(response))
        if response['ending'] == 'reset':
            reset(tls)
        elif response['ending'] == 'linger':
            idle(tls, 0.2)

    server = LoopbackServer(handler)
    yield server, stage, trust_context(str(certs.ca_file), 'replace')
    server.stop()


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(response=responses)
def test_any_answer_gives_a_classified_result(loopback, response):
    server, stage, client = loopback
    with stage.lock:
        stage.response = response
    result = fetch_address(HOST, '127.0.0.1', client, TIMEOUT, port=server.port)

    assert set(result) == RESULT_KEYS
    assert result['stage'] in ('http', 'done'), result  # TCP and TLS always work here
    if result['stage'] == 'done':
        assert result['error_kind'] is None and isinstance(result['body'], bytes)
        assert 100 <= result['status'] <= 999 and not 100 <= result['status'] < 200
        assert len(result['body']) == result['size'] <= MAX_POLICY_BYTES
        assert result['framing'] in ('content-length', 'chunked', 'close', 'none')
        if result['framing'] == 'content-length' and not result['too_large']:
            # A body cut short of its Content-Length is never handed on as complete.
            assert len(result['body']) == result['content_length']
    else:
        assert result['error_kind'] in HTTP_ERROR_KINDS and result['error']
        assert result['body'] is None
        assert result['timed_out'] == (result['error_kind'] == 'timeout')
    assert not server.errors, server.errors
