# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""UPDATE contents (RFC 2136 prerequisites and updates) built from plans,
and the messages for every class of server error. No network: answers are
built as wire data and handed to the parser."""

from __future__ import annotations

import pytest

dns = pytest.importorskip('dns')

import dns.flags  # noqa: E402  pylint: disable=wrong-import-position
import dns.message  # noqa: E402  pylint: disable=wrong-import-position
import dns.name  # noqa: E402  pylint: disable=wrong-import-position
import dns.rcode  # noqa: E402  pylint: disable=wrong-import-position
import dns.rdataclass  # noqa: E402  pylint: disable=wrong-import-position
import dns.rdatatype  # noqa: E402  pylint: disable=wrong-import-position
import dns.rrset  # noqa: E402  pylint: disable=wrong-import-position
import dns.tsig  # noqa: E402  pylint: disable=wrong-import-position
import dns.update  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._rfc2136 import (  # noqa: E402  pylint: disable=wrong-import-position
    DnsUpdateError,
    Primary,
    build_updates,
    make_key,
    zone_of_negative_answer,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._txt_change import plan_txt  # noqa: E402  pylint: disable=wrong-import-position

SECRET = 'bGFiLXNlY3JldC1sYWItc2VjcmV0LWxhYi1zZWNyZXQ='
KEY = make_key('update-key', SECRET, 'hmac-sha256')


def rec(text):
    return (text.encode('ascii'),)


def section(update, which):
    """A section as the server reads it (the message is sent through wire
    form), as sorted (name, ttl, class, type, values) tuples."""
    message = dns.message.from_wire(update.to_wire(), keyring=KEY)
    rows = {}
    for rrset in getattr(message, which):
        rdclass = rrset.deleting if rrset.deleting is not None else rrset.rdclass
        key = (rrset.name.to_text(), rrset.ttl, dns.rdataclass.to_text(rdclass), dns.rdatatype.to_text(rrset.rdtype))
        values = rows.setdefault(key, [])
        if rrset.rdtype == dns.rdatatype.TXT:
            values.extend(b''.join(rd.strings).decode() for rd in rrset)
    return sorted(key + (tuple(sorted(values)),) for key, values in rows.items())


def additions(update):
    return [rrset for rrset in update.update if rrset.deleting is None]


def only(messages):
    assert len(messages) == 1
    return messages[0]


def test_create_has_nxrrset_prerequisites_and_one_add():
    plan = plan_txt('_mta-sts.example.com', 'sts', 'v=STSv1', [], None, 'v=STSv1; id=new', 300)
    update = only(build_updates('example.com', [[plan]], KEY))
    assert update.zone[0].name.to_text() == 'example.com.'
    # RFC 2136 2.4.3: class NONE, TTL 0, no rdata = "RRset does not exist".
    assert section(update, 'prerequisite') == [
        ('_mta-sts.example.com.', 0, 'NONE', 'CNAME', ()),
        ('_mta-sts.example.com.', 0, 'NONE', 'TXT', ()),
    ]
    assert section(update, 'update') == [('_mta-sts.example.com.', 300, 'IN', 'TXT', ('v=STSv1; id=new',))]
    assert update.keyname == dns.name.from_text('update-key')


def test_replace_has_value_dependent_prerequisite_delete_and_add():
    current = [rec('v=STSv1; id=old'), rec('v=STSv1; id=older'), rec('keep me')]
    plan = plan_txt('_mta-sts.example.com', 'sts', 'v=STSv1', current, 300, 'v=STSv1; id=new', 300)
    update = only(build_updates('example.com', [[plan]], KEY))
    # RFC 2136 2.4.2: class IN, TTL 0, the whole RRset as read.
    assert section(update, 'prerequisite') == [
        ('_mta-sts.example.com.', 0, 'IN', 'TXT', ('keep me', 'v=STSv1; id=old', 'v=STSv1; id=older')),
        ('_mta-sts.example.com.', 0, 'NONE', 'CNAME', ()),
    ]
    # 2.5.4: class NONE deletes those RRs only; "keep me" is not touched.
    assert section(update, 'update') == [
        ('_mta-sts.example.com.', 0, 'NONE', 'TXT', ('v=STSv1; id=old', 'v=STSv1; id=older')),
        ('_mta-sts.example.com.', 300, 'IN', 'TXT', ('v=STSv1; id=new',)),
    ]


def test_retime_replaces_the_rrset():
    current = [rec('keep me'), rec('v=STSv1; id=x')]
    plan = plan_txt('_mta-sts.example.com', 'sts', 'v=STSv1', current, 3600, 'v=STSv1; id=x', 300)
    update = only(build_updates('example.com', [[plan]], KEY))
    assert section(update, 'update') == [
        ('_mta-sts.example.com.', 0, 'ANY', 'TXT', ()),  # 2.5.2: delete the RRset
        ('_mta-sts.example.com.', 300, 'IN', 'TXT', ('keep me', 'v=STSv1; id=x')),
    ]


def test_nothing_to_change_means_no_message():
    plan = plan_txt('_mta-sts.example.com', 'sts', 'v=STSv1', [rec('v=STSv1; id=x')], 300, 'v=STSv1; id=x', 300)
    assert build_updates('example.com', [[plan]], KEY) == []


def test_long_value_goes_out_as_several_strings_and_round_trips():
    value = 'v=TLSRPTv1; rua=' + ','.join('mailto:tlsrpt%d@example.com' % i for i in range(20))
    assert len(value) > 255
    plan = plan_txt('_smtp._tls.example.com', 'tlsrpt', 'v=TLSRPTv1', [], None, value, 300)
    update = only(build_updates('example.com', [[plan]], KEY))
    wire = update.to_wire()
    back = dns.message.from_wire(wire, keyring=KEY)
    strings = additions(back)[0][0].strings
    assert [len(s) for s in strings] == [255] * (len(strings) - 1) + [len(value) - 255 * (len(strings) - 1)]
    assert len(strings) >= 2
    assert b''.join(strings).decode() == value


def test_batch_in_one_zone_is_one_message_with_every_domain():
    groups = []
    for i in range(50):
        domain = 'd%d.example.com' % i
        groups.append([
            plan_txt('_mta-sts.' + domain, 'sts', 'v=STSv1', [], None, 'v=STSv1; id=a%d' % i, 300),
            plan_txt('_smtp._tls.' + domain, 'tlsrpt', 'v=TLSRPTv1', [], None, 'v=TLSRPTv1; rua=mailto:r@example.com', 300),
        ])
    update = only(build_updates('example.com', groups, KEY))
    assert len(additions(update)) == 100


def test_huge_batch_is_split_between_domains_below_64k():
    groups = []
    for i in range(1000):
        domain = 'domain-number-%04d.example.com' % i
        groups.append([
            plan_txt('_mta-sts.' + domain, 'sts', 'v=STSv1', [rec('v=STSv1; id=old')], 300, 'v=STSv1; id=' + 'a' * 32, 300),
            plan_txt('_smtp._tls.' + domain, 'tlsrpt', 'v=TLSRPTv1', [], None, 'v=TLSRPTv1; rua=mailto:r@example.com', 300),
        ])
    messages = build_updates('example.com', groups, KEY)
    assert len(messages) > 1
    names = []
    for update in messages:
        assert len(update.to_wire()) < 65535
        adds = [r.name.to_text() for r in additions(update)]
        names.extend(adds)
        # Both records of a domain are in the same message (atomic per domain).
        domains = {n.split('.', 2)[-1] if n.startswith('_smtp') else n.split('.', 1)[1] for n in adds}
        assert len(adds) == 2 * len(domains)
    assert len(names) == 2000


# ---------------------------------------------------------------------------
# Answers and errors


class FakePrimary(Primary):
    """A Primary whose transport returns answers built by ``respond``."""

    def __init__(self, respond, key=KEY):
        super().__init__('192.0.2.53', 53, key, 1.0)
        self.respond = respond
        self.sent = []

    def _exchange(self, message, doing, reuse=True):
        wire = message.to_wire()  # signs with the key, as on the wire
        request = dns.message.from_wire(wire, keyring=self.key) if self.key else dns.message.from_wire(wire)
        self.sent.append(request)
        return self.respond(request)

    def _exchange_many(self, data, count, doing):
        answers = []
        while data:
            length = int.from_bytes(data[:2], 'big')
            request = dns.message.from_wire(data[2:2 + length], keyring=self.key) if self.key else dns.message.from_wire(data[2:2 + length])
            self.sent.append(request)
            answers.append(self.respond(request))
            data = data[2 + length:]
        assert len(answers) == count
        return answers[::-1]  # out of order, as a server may answer


def answer_for(request, rcode=dns.rcode.NOERROR, aa=True, answer=(), authority=(), tsig_error=None, sign=True):
    response = dns.message.make_response(request)
    response.set_rcode(rcode)
    if aa:
        response.flags |= dns.flags.AA
    response.answer.extend(answer)
    response.authority.extend(authority)
    if tsig_error is not None:
        response.use_tsig(KEY, tsig_error=tsig_error)
    elif not sign:
        response.tsig = None
        response.keyring = None
    return response.to_wire()


def soa(zone):
    return dns.rrset.from_text(zone, 300, 'IN', 'SOA', 'ns.%s hostmaster.%s 7 3600 600 86400 300' % (zone, zone))


@pytest.mark.parametrize('tsig_error, words', [
    (dns.rcode.BADKEY, ['BADKEY', 'does not know this key', 'key update-key (hmac-sha256)']),
    (dns.rcode.BADSIG, ['BADSIG', 'key_secret', 'key update-key (hmac-sha256)']),
    (dns.rcode.BADTIME, ['BADTIME', 'clocks', 'NTP']),
])
def test_tsig_errors_name_server_zone_key_and_fix(tsig_error, words):
    def respond(request):
        return answer_for(request, rcode=dns.rcode.NOTAUTH, tsig_error=tsig_error)
    primary = FakePrimary(respond)
    update = dns.update.UpdateMessage('example.com', keyring=KEY)
    update.add('_mta-sts.example.com', 300, 'TXT', '"v=STSv1; id=x"')
    with pytest.raises(DnsUpdateError) as err:
        primary.send_update(update, 'example.com')
    message = err.value.message
    assert 'server 192.0.2.53 port 53' in message
    assert 'zone example.com' in message
    for word in words:
        assert word in message


@pytest.mark.parametrize('rcode, words', [
    (dns.rcode.REFUSED, ['REFUSED', 'does not allow this key', 'grant the key']),
    (dns.rcode.NOTAUTH, ['NOTAUTH', 'not authoritative for zone example.com']),
    (dns.rcode.NOTZONE, ['NOTZONE', 'not inside zone example.com']),
    (dns.rcode.NXRRSET, ['NXRRSET', 'changed between', 'nothing in the zone was changed', 'again']),
    (dns.rcode.YXRRSET, ['YXRRSET', 'changed between']),
    (dns.rcode.SERVFAIL, ['SERVFAIL', 'not applied', 'server log']),
    (dns.rcode.NOTIMP, ['NOTIMP', 'does not implement dynamic update']),
])
def test_update_rcodes(rcode, words):
    primary = FakePrimary(lambda request: answer_for(request, rcode=rcode))
    update = dns.update.UpdateMessage('example.com', keyring=KEY)
    update.add('_mta-sts.example.com', 300, 'TXT', '"v=STSv1; id=x"')
    with pytest.raises(DnsUpdateError) as err:
        primary.send_update(update, 'example.com')
    message = err.value.message
    assert 'server 192.0.2.53 port 53' in message and 'key update-key (hmac-sha256)' in message
    for word in words:
        assert word in message


def test_unsigned_notauth_to_a_signed_update_is_reported_not_crashed():
    # A server that does not host the zone answers NOTAUTH without TSIG.
    def respond(request):
        response = dns.message.make_response(request)
        response.set_rcode(dns.rcode.NOTAUTH)
        response.tsig = None
        return response.to_wire()
    primary = FakePrimary(respond)
    update = dns.update.UpdateMessage('example.com', keyring=KEY)
    update.add('_mta-sts.example.com', 300, 'TXT', '"v=STSv1; id=x"')
    with pytest.raises(DnsUpdateError, match='NOTAUTH'):
        primary.send_update(update, 'example.com')


def test_noerror_update_passes():
    primary = FakePrimary(answer_for)
    update = dns.update.UpdateMessage('example.com', keyring=KEY)
    update.add('_mta-sts.example.com', 300, 'TXT', '"v=STSv1; id=x"')
    primary.send_update(update, 'example.com')
    assert primary.updates == 1


def test_find_zone_from_the_authority_soa_of_a_negative_answer():
    def respond(request):
        return answer_for(request, rcode=dns.rcode.NXDOMAIN, authority=[soa('example.com.')])
    primary = FakePrimary(respond)
    assert primary.find_zone('_mta-sts.mail.example.com') == 'example.com'
    assert len(primary.sent) == 1


def test_find_zone_walks_up_past_refusals():
    def respond(request):
        qname = request.question[0].name.to_text()
        if qname == 'example.com.':
            return answer_for(request, answer=[soa('example.com.')])
        return answer_for(request, rcode=dns.rcode.REFUSED, aa=False)
    primary = FakePrimary(respond)
    assert primary.find_zone('_mta-sts.a.example.com') == 'example.com'
    assert [r.question[0].name.to_text() for r in primary.sent] == [
        '_mta-sts.a.example.com.', 'a.example.com.', 'example.com.']


def test_no_soa_anywhere_is_a_clear_error():
    primary = FakePrimary(lambda request: answer_for(request, rcode=dns.rcode.REFUSED, aa=False))
    with pytest.raises(DnsUpdateError) as err:
        primary.find_zone('_mta-sts.example.org')
    assert 'no SOA found for _mta-sts.example.org on server 192.0.2.53 port 53' in err.value.message
    assert 'REFUSED' in err.value.message


def test_delegated_name_is_refused_with_the_name_servers():
    def respond(request):
        ns = dns.rrset.from_text('sub.example.com.', 300, 'IN', 'NS', 'ns1.elsewhere.example.')
        return answer_for(request, aa=False, authority=[ns])
    primary = FakePrimary(respond)
    with pytest.raises(DnsUpdateError, match='delegates to ns1.elsewhere.example'):
        primary.find_zone('_mta-sts.sub.example.com')


def test_explicit_zone_must_contain_the_name():
    primary = FakePrimary(answer_for)
    with pytest.raises(DnsUpdateError, match='not inside zone example.org'):
        primary.find_zone('_mta-sts.example.com', 'example.org')


def test_read_txt_reports_a_cname_target():
    def respond(request):
        cname = dns.rrset.from_text('_mta-sts.example.com.', 300, 'IN', 'CNAME', '_mta-sts.provider.example.')
        return answer_for(request, answer=[cname])
    records, ttl, target = FakePrimary(respond).read_txt('_mta-sts.example.com', 'example.com')
    assert (records, ttl, target) == ([], None, '_mta-sts.provider.example')


def test_read_txt_needs_an_authoritative_answer():
    primary = FakePrimary(lambda request: answer_for(request, aa=False))
    with pytest.raises(DnsUpdateError, match='not authoritative for _mta-sts.example.com'):
        primary.read_txt('_mta-sts.example.com', 'example.com')


def test_read_txt_returns_records_and_ttl():
    def respond(request):
        txt = dns.rrset.from_text('_mta-sts.example.com.', 120, 'IN', 'TXT', '"v=STSv1; id=x"', '"a" "b"')
        return answer_for(request, answer=[txt])
    records, ttl, target = FakePrimary(respond).read_txt('_mta-sts.example.com', 'example.com')
    assert records == [(b'a', b'b'), (b'v=STSv1; id=x',)]
    assert ttl == 120 and target is None


def test_bad_secret_is_reported_before_any_network():
    with pytest.raises(DnsUpdateError, match='key_secret is not valid base64'):
        make_key('k', 'not base64!', 'hmac-sha256')


def test_pipelined_queries_come_back_in_question_order_with_unique_ids():
    def respond(request):
        qname = request.question[0].name
        txt = dns.rrset.from_text(qname, 60, 'IN', 'TXT', '"%s"' % qname.to_text())
        return answer_for(request, answer=[txt])
    primary = FakePrimary(respond)
    questions = [('_mta-sts.d%d.example.com' % i, 'TXT') for i in range(300)]
    answers = primary.query_many(questions, 'reading', window=128)
    assert [a.question[0].name.to_text() for a in answers] == [q[0] + '.' for q in questions]
    for start in range(0, 300, 128):
        ids = [r.id for r in primary.sent[start:start + 128]]
        assert len(set(ids)) == len(ids)
    assert primary.queries == 300


@pytest.mark.parametrize('rcode, aa, answer, authority, expected', [
    (dns.rcode.NXDOMAIN, True, [], [soa('example.com.')], 'example.com'),
    (dns.rcode.NOERROR, True, [], [soa('example.com.')], 'example.com'),
    (dns.rcode.NOERROR, True, [soa('_mta-sts.example.com.')], [], '_mta-sts.example.com'),
    (dns.rcode.NOERROR, True, [dns.rrset.from_text('_mta-sts.example.com.', 60, 'IN', 'TXT', '"x"')], [], None),
    (dns.rcode.NXDOMAIN, False, [], [soa('example.com.')], None),
    (dns.rcode.REFUSED, False, [], [], None),
    (dns.rcode.NXDOMAIN, True, [], [soa('other.example.')], None),
])
def test_zone_of_negative_answer(rcode, aa, answer, authority, expected):
    request = dns.message.make_query('_mta-sts.example.com', 'TXT')
    wire = answer_for(request, rcode=rcode, aa=aa, answer=answer, authority=authority)
    assert zone_of_negative_answer(dns.message.from_wire(wire), '_mta-sts.example.com') == expected
