# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one inventory shape (model/_inventory.py): every consumer takes the
same domain item, reads its own keys, passes over the others', refuses a
typo naming the closest key; docs/inventory.md and ansible-doc say the same."""

from __future__ import annotations

import os
import re

import pytest

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model import _inventory as inventory
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))

# One item with every key of the shape: what a real inventory may hold.
FULL_ITEM = {
    'domain': 'example.com',
    'state': 'present',
    'mode': 'enforce',
    'mx': ['mx1.example.com', '*.mail.example.net'],
    'max_age': 604800,
    'policy_id': 'abc123',
    'tlsrpt_rua': ['mailto:tlsrpt@example.com'],
    'cert_source': 'files',
    'cert_file': '/etc/ssl/mta-sts.pem',
    'key_file': '/etc/ssl/private/mta-sts.key',
    'dns': {'provider': 'rfc2136', 'server': 'ns1.example.com', 'port': 53, 'key_name': 'mta-sts-update',
            'key_algorithm': 'hmac-sha256', 'zone': 'example.com', 'ttl': 300, 'timeout': 5},
    'zone': 'example.com',
    'policy': 'version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmax_age: 604800\r\n',
    'derived_id': False,
}


def test_the_full_item_names_every_key():
    assert set(FULL_ITEM) == set(inventory.KEYS)


@pytest.mark.parametrize('consumer', inventory.CONSUMERS)
def test_every_consumer_accepts_the_full_item_and_reads_only_its_keys(consumer):
    part = inventory.check_item(dict(FULL_ITEM), consumer, 'items[0]')
    assert set(part) == set(inventory.keys_for(consumer))
    assert all(part[key] == FULL_ITEM[key] for key in part)


@pytest.mark.parametrize('consumer, reads, passes_over', [
    ('policy', {'domain', 'mode', 'mx', 'max_age', 'policy_id', 'state'},
     {'tlsrpt_rua', 'cert_source', 'dns', 'zone', 'policy'}),
    ('records', {'domain', 'policy_id', 'tlsrpt_rua', 'state', 'zone', 'dns', 'mode', 'mx', 'max_age'},
     {'cert_source', 'cert_file', 'key_file', 'policy', 'derived_id'}),
    ('verify', {'domain', 'mode', 'mx', 'max_age', 'policy_id', 'tlsrpt_rua', 'policy', 'derived_id'},
     {'state', 'cert_source', 'cert_file', 'key_file', 'dns', 'zone'}),
    ('policy_host', {'domain', 'mode', 'mx', 'max_age', 'policy_id', 'state', 'cert_source', 'cert_file', 'key_file'},
     {'tlsrpt_rua', 'dns', 'zone', 'policy', 'derived_id'}),
])
def test_who_reads_what(consumer, reads, passes_over):
    keys = set(inventory.keys_for(consumer))
    assert reads <= keys
    assert not passes_over & keys


@pytest.mark.parametrize('typo, closest', [
    ('mdoe', 'mode'),
    ('max-age', 'max_age'),
    ('maxage', 'max_age'),
    ('tlsrpt_ura', 'tlsrpt_rua'),
    ('cert_sources', 'cert_source'),
    ('domian', 'domain'),
    ('policyid', 'policy_id'),
    ('MX', 'mx'),
])
@pytest.mark.parametrize('consumer', inventory.CONSUMERS)
def test_a_typo_is_refused_naming_the_closest_key(consumer, typo, closest):
    item = {'domain': 'example.com', 'mode': 'enforce', typo: 'x'}
    if typo == 'domian':
        item = {'domian': 'example.com'}
    with pytest.raises(MtaStsError) as info:
        inventory.check_item(item, consumer, 'policies[2]')
    text = str(info.value)
    assert 'unknown key "%s"' % typo in text
    assert '(did you mean "%s"?)' % closest in text
    assert 'policies[2]' in text


@pytest.mark.parametrize('typo, closest', [('sever', 'server'), ('provder', 'provider'), ('keyname', 'key_name'),
                                           ('TTL', 'ttl'), ('task', 'tasks')])
def test_a_typo_in_dns_names_the_closest_dns_key(typo, closest):
    with pytest.raises(MtaStsError) as info:
        inventory.check_item({'domain': 'example.com', 'dns': {typo: 'x'}}, 'policy_host', 'policy_host_domains[0]')
    assert 'unknown key "dns.%s" (did you mean "dns.%s"?)' % (typo, closest) in str(info.value)
    assert 'policy_host_domains[0].dns' in str(info.value)


def test_a_key_like_nothing_lists_the_valid_keys():
    with pytest.raises(MtaStsError, match='unknown key "colour".*domain, state, mode'):
        inventory.check_item({'domain': 'example.com', 'colour': 'blue'}, 'verify', 'domains[0]')


def test_the_error_names_the_domain():
    with pytest.raises(MtaStsError, match='^example.org, domains.1.: unknown key "mdoe"'):
        inventory.check_item({'domain': 'example.org', 'mdoe': 'testing'}, 'records', 'domains[1]')


@pytest.mark.parametrize('consumer', ['policy', 'records', 'verify', 'policy_host'])
def test_a_secret_in_an_item_is_refused_by_modules_and_not_echoed(consumer):
    item = {'domain': 'example.com', 'dns': {'server': 'ns1.example.com', 'key_secret': 's3cr3t=='}}
    with pytest.raises(MtaStsError) as info:
        inventory.check_item(item, consumer, 'domains[0]')
    assert 'dns.key_secret is refused' in str(info.value) and 'vault' in str(info.value)
    assert 's3cr3t' not in str(info.value)


def test_the_playbooks_may_read_a_secret_from_an_item():
    item = {'domain': 'example.com', 'dns': {'server': 'ns1.example.com', 'key_secret': 's3cr3t=='}}
    assert inventory.check_item(item, 'deploy', 'mta_sts_domains[0]')['dns']['key_secret'] == 's3cr3t=='


@pytest.mark.parametrize('item, text', [
    ('example.com', 'must be a dict'),
    ({'mode': 'enforce'}, 'has no "domain"'),
    ({'domain': ''}, 'has no "domain"'),
    ({'domain': 'example.com', 'state': 'gone'}, 'state is "gone", not one of present, absent'),
    ({'domain': 'example.com', 'cert_source': 'letsencrypt'}, 'cert_source is "letsencrypt", not one of acme'),
    ({'domain': 'example.com', 'dns': {'provider': 'route53'}}, 'dns.provider is "route53", not one of rfc2136'),
    ({'domain': 'example.com', 'dns': {'provider': 'tasks'}}, 'dns.provider tasks needs dns.tasks'),
    ({'domain': 'example.com', 'dns': 'ns1.example.com'}, 'must be a dict (provider, server'),
    ({'domain': 'example.com', 'dns': {'vars': 'zone=Z1'}}, "dns.vars must be a dict"),
])
def test_bad_items(item, text):
    with pytest.raises(MtaStsError, match=re.escape(text)):
        inventory.check_item(item, 'policy', 'policies[0]')


@pytest.mark.parametrize('dns', [{'provider': 'rfc2136', 'server': 'ns1'}, {'provider': 'none'},
                                 {'provider': 'tasks', 'tasks': '/etc/ansible/dns/route53.yml'},
                                 {'provider': 'tasks', 'tasks': '/x.yml', 'vars': {'zone_id': 'Z1', 'anything': [1]}}])
def test_dns_providers(dns):
    assert inventory.check_item({'domain': 'example.com', 'dns': dns}, 'deploy', 'x')['dns'] == dns


def test_check_items_lists_every_bad_item_and_keeps_indexes():
    checked, errors = inventory.check_items(
        [{'domain': 'a.example', 'mode': 'testing'}, {'domain': 'b.example', 'mdoe': 'x'}, {'domian': 'c.example'}],
        'policy', 'policies')
    assert checked[0] == {'domain': 'a.example', 'mode': 'testing'}
    assert checked[1] is None and checked[2] is None
    assert len(errors) == 2
    assert 'policies[1]' in errors[0] and 'policies[2]' in errors[1]
    with pytest.raises(MtaStsError, match='2 invalid domain items in policies'):
        inventory.require_items([{'domain': 'b.example', 'mdoe': 'x'}, {'domian': 'c.example'}], 'policy', 'policies')


# --- records: the derived id ---------------------------------------------------

def test_records_derives_the_id_the_policy_module_writes():
    from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._policy_files import plan_policy
    item = {'domain': 'Example.com', 'mode': 'enforce', 'mx': ['mx1.example.com'], 'tlsrpt_rua': []}
    planned = plan_policy(dict(item, max_age=604800))
    assert inventory.with_policy_id(item)['policy_id'] == planned.policy_id
    assert inventory.with_policy_id(dict(item, max_age=86400))['policy_id'] != planned.policy_id


@pytest.mark.parametrize('item', [
    {'domain': 'example.com', 'mode': 'enforce', 'mx': ['mx1.example.com'], 'policy_id': 'pinned1'},
    {'domain': 'example.com', 'state': 'absent', 'mode': 'enforce', 'mx': ['mx1.example.com']},
    {'domain': 'example.com'},
])
def test_records_keeps_pinned_absent_and_modeless_items(item):
    assert inventory.with_policy_id(item) == item


def test_records_derivation_reports_the_rule():
    with pytest.raises(MtaStsError, match='B5') as info:
        inventory.with_policy_id({'domain': 'example.com', 'mode': 'enforce'})
    assert info.value.domain == 'example.com'


def test_records_items_absent_drops_rua_and_task_policy_id_wins():
    items = [{'domain': 'a.example', 'mode': 'testing', 'mx': ['mx.a.example'], 'tlsrpt_rua': ['mailto:r@a.example']},
             {'domain': 'b.example', 'state': 'absent', 'mode': 'testing', 'mx': ['mx.b.example'],
              'tlsrpt_rua': ['mailto:r@b.example']}]
    derived, absent = inventory.records_items(items, {'state': 'present', 'policy_id': None})
    assert derived['policy_id'] == inventory.with_policy_id(items[0])['policy_id']
    assert 'tlsrpt_rua' not in absent and 'policy_id' not in absent
    pinned, dummy = inventory.records_items(items, {'state': 'present', 'policy_id': 'task1'})
    assert 'policy_id' not in pinned  # the task's policy_id applies, as a default of every item
    with pytest.raises(MtaStsError, match='did you mean "tlsrpt_rua"'):
        inventory.records_items([{'domain': 'a.example', 'tlsrpt-rua': []}], {})


# --- records: the item's DNS keys and the task's connection options ---------

def connection(items, **params):
    base = {'server': None, 'port': 53, 'key_name': None, 'key_secret': None, 'key_algorithm': 'hmac-sha256',
            'ttl': 300, 'timeout': 10}
    base.update(params)
    return inventory.records_connection(base, items)


def test_items_give_the_server_and_key():
    dns = {'server': '192.0.2.53', 'port': '5353', 'key_name': 'k1', 'ttl': '60'}
    settings = connection([{'domain': 'a.example', 'dns': dns}], key_secret='c2VjcmV0')
    assert settings == {'server': '192.0.2.53', 'port': 5353, 'key_name': 'k1', 'key_algorithm': 'hmac-sha256',
                        'ttl': 60, 'timeout': 10}


def test_an_item_overrides_the_task_option():
    settings = connection([{'domain': 'a.example', 'dns': {'server': 'ns2.example'}},
                           {'domain': 'b.example', 'dns': {'server': 'ns2.example'}}], server='ns1.example')
    assert settings['server'] == 'ns2.example'


def test_one_task_one_primary():
    with pytest.raises(MtaStsError, match='dns.server differs between the domains .ns1.example for a.example; '
                                          'ns2.example for b.example'):
        connection([{'domain': 'a.example'}, {'domain': 'b.example', 'dns': {'server': 'ns2.example'}}],
                   server='ns1.example')


@pytest.mark.parametrize('provider', ['none', 'tasks'])
def test_records_refuses_a_domain_published_elsewhere(provider):
    with pytest.raises(MtaStsError, match='b.example, domains.1.: dns.provider is %s' % provider):
        connection([{'domain': 'a.example'}, {'domain': 'b.example', 'dns': {'provider': provider}}],
                   server='ns1.example')


@pytest.mark.parametrize('items, params, text', [
    ([{'domain': 'a.example'}], {}, 'no DNS server'),
    ([{'domain': 'a.example', 'dns': {'key_name': 'k1'}}], {'server': 'ns1'}, 'TSIG key k1 has no secret'),
    ([{'domain': 'a.example'}], {'server': 'ns1', 'key_secret': 'eA=='}, 'key_secret is set but no key name'),
    ([{'domain': 'a.example', 'dns': {'port': 'fiftythree'}}], {'server': 'ns1'}, 'not a whole number'),
])
def test_records_connection_errors(items, params, text):
    with pytest.raises(MtaStsError, match=text):
        connection(items, **params)


def test_records_items_take_the_zone_from_dns():
    (item,) = inventory.records_items([{'domain': 'shop.example.net', 'dns': {'zone': 'example.net'}}],
                                      {'policy_id': 'x'})
    assert item['zone'] == 'example.net'
    with pytest.raises(MtaStsError, match='zone example.org and dns.zone example.net differ'):
        inventory.records_items([{'domain': 'shop.example.net', 'zone': 'example.org', 'dns': {'zone': 'example.net'}}],
                                {'policy_id': 'x'})


# --- the documentation says the same -----------------------------------------

def read(path):
    with open(os.path.join(ROOT, path), encoding='utf-8') as handle:
        return handle.read()


def test_docs_inventory_lists_every_key_with_its_consumers():
    text = read('docs/inventory.md')
    rows = {}
    for line in text.splitlines():
        match = re.match(r'^\| `([a-z_]+)` \|([^|]*)\|([^|]*)\|([^|]*)\|([^|]*)\|([^|]*)\|', line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in match.groups()[1:]]
    assert list(rows) == list(inventory.KEYS)
    header = ['policy', 'records', 'verify', 'policy_host', 'deploy']
    for name, cells in rows.items():
        marked = {consumer for consumer, cell in zip(header, cells) if cell == 'yes'}
        assert marked == set(inventory.KEYS[name].consumers), name


@pytest.mark.parametrize('path, consumer', [
    ('plugins/modules/policy.py', 'policy'),
    ('plugins/modules/records.py', 'records'),
    ('plugins/modules/verify.py', 'verify'),
    ('roles/policy_host/meta/argument_specs.yml', 'policy_host'),
])
def test_ansible_doc_names_the_keys_each_consumer_passes_over(path, consumer):
    text = read(path)
    passes = text[re.search(r'pass(es over| unread)', text).start():]
    for name in inventory.KEYS:
        if consumer not in inventory.KEYS[name].consumers:
            assert 'C(%s)' % name in passes, '%s: %s not named among the keys passed over' % (path, name)
