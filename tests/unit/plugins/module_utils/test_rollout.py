# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rollout plan of the deploy and retire playbooks (model/_rollout.py)."""

from __future__ import annotations

import pytest

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._policy import policy_id, render_policy
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._rollout import (
    merge_states,
    parse_now,
    plan_rollout,
    published_state,
    verify_expectations,
)

DAY = 86400
WEEK = 7 * DAY
T0 = 1796083200  # 2026-12-01T00:00:00Z
DNS = {'provider': 'rfc2136', 'server': '192.0.2.53', 'key_name': 'k', 'key_secret': 'c2VjcmV0'}


def domains(**overrides):
    base = [
        {'domain': 'a.example', 'mode': 'enforce', 'mx': ['mx1.a.example'], 'tlsrpt_rua': ['mailto:r@a.example']},
        {'domain': 'b.example', 'mode': 'testing', 'mx': ['mx.b.example'], 'max_age': DAY},
    ]
    for item in base:
        item.update(overrides.get(item['domain'], {}))
    return base


def run(items, state=None, now=T0, **kwargs):
    """Plan, then the state after publishing, as two runs of the playbook would."""
    kwargs.setdefault('dns_default', DNS)
    plan = plan_rollout(items, [state] if state else [], now, **kwargs)
    return plan, published_state(plan['state'], plan['publish'], now)


def by_domain(plan, key):
    return {item['domain']: item for item in plan[key]}


@pytest.mark.parametrize('value, expected', [
    (T0, T0), (str(T0), T0), (float(T0) + 0.7, T0), ('2026-12-01T00:00:00Z', T0),
    ('2026-12-01T01:00:00+01:00', T0), ('2026-12-01', T0), ('2026-12-01 00:00:00', T0),
])
def test_parse_now(value, expected):
    assert parse_now(value) == expected


@pytest.mark.parametrize('value', [None, True, 'tomorrow', '', [1]])
def test_parse_now_refuses(value):
    with pytest.raises(MtaStsError, match='mta_sts_now'):
        parse_now(value)


def test_first_deploy_serves_the_exact_policy_and_publishes_its_id():
    plan, state = run(domains())
    served = by_domain(plan, 'served')
    text = render_policy('enforce', ['mx1.a.example'], WEEK)
    assert served['a.example']['text'] == text
    assert served['a.example']['policy_id'] == policy_id(text)
    publish = by_domain(plan, 'publish')
    assert publish['a.example']['sts_record']['value'] == 'v=STSv1; id=%s' % policy_id(text)
    assert publish['a.example']['tlsrpt_record']['value'] == 'v=TLSRPTv1; rua=mailto:r@a.example'
    assert publish['b.example']['tlsrpt_record'] is None
    assert plan['enforce'] == ['a.example'] and plan['to_enforce'] == []
    assert state['domains']['a.example']['published'] == {'policy_id': policy_id(text), 'at': T0}
    assert [n['kind'] for n in plan['notes']] == ['new', 'new']


def test_the_secret_never_enters_the_plan_but_its_place_does():
    items = domains()
    items[1]['dns'] = {'key_name': 'other', 'key_secret': 'b3RoZXI='}
    plan, _state = run(items)
    assert 'c2VjcmV0' not in repr(plan) and 'b3RoZXI=' not in repr(plan)
    batches = sorted(plan['rfc2136'], key=lambda b: b['secret_from'])
    assert [(b['secret_from'], b['settings']['key_name']) for b in batches] == [(-1, 'k'), (1, 'other')]


def test_a_second_run_changes_nothing():
    plan1, state1 = run(domains())
    plan2, state2 = run(domains(), state1, now=T0 + 3600)
    assert plan2['served'] == plan1['served']
    assert state2 == state1
    assert plan2['notes'] == []


def test_every_bad_input_is_named_at_once():
    items = domains(**{'a.example': {'mode': 'enforced'}, 'b.example': {'max_age': -1}})
    items.append({'domain': 'c.example', 'mode': 'enforce', 'mx': []})
    items.append({'domain': 'd.example', 'mode': 'testing', 'mx': ['x.d.example']})
    items.append({'domain': 'D.example.', 'mode': 'testing', 'mx': ['x.d.example']})
    with pytest.raises(MtaStsError) as info:
        run(items)
    text = str(info.value)
    assert "a.example, mta_sts_domains[0].mode: mode 'enforced' is not one of" in text
    assert 'b.example, mta_sts_domains[1].max_age: max_age -1' in text
    assert 'c.example, mta_sts_domains[2].mx: mode enforce needs at least one mx pattern' in text
    assert 'd.example: listed twice' in text
    assert '4 problems' in text and 'nothing changed' in text


@pytest.mark.parametrize('dns, message', [
    ({'provider': 'route53'}, 'dns.provider is "route53", not one of rfc2136, none, tasks'),
    ({'provider': 'rfc2136', 'server': None}, 'needs dns.server'),
    ({'provider': 'tasks'}, 'needs dns.tasks'),
])
def test_dns_settings_are_checked(dns, message):
    with pytest.raises(MtaStsError, match=message):
        run(domains(), dns_default=dns)


def test_testing_to_enforce_is_flagged_for_a_clean_verify():
    _plan, state = run(domains())
    plan, _state = run(domains(**{'b.example': {'mode': 'enforce', 'max_age': WEEK}}), state)
    assert plan['to_enforce'] == ['b.example']
    assert sorted(plan['enforce']) == ['a.example', 'b.example']


def test_an_added_mx_is_served_and_named_as_the_next_step():
    _plan, state = run(domains())
    plan, state2 = run(domains(**{'a.example': {'mx': ['mx1.a.example', 'mx2.a.example']}}), state, now=T0 + 10)
    assert by_domain(plan, 'served')['a.example']['mx'] == ['mx1.a.example', 'mx2.a.example']
    notes = {n['kind']: n for n in plan['notes']}
    assert notes['mx_added']['mx'] == 'mx2.a.example' and 'next step' in notes['mx_added']['message']
    assert notes['policy_changed']['policy_id'] == by_domain(plan, 'served')['a.example']['policy_id']
    assert state2['domains']['a.example']['mx']['mx2.a.example'] == {'since': T0 + 10, 'removal_requested': None}


def test_a_removed_mx_is_held_for_the_largest_max_age_then_dropped():
    start = domains(**{'a.example': {'mx': ['mx1.a.example', 'mx2.a.example'], 'max_age': 2 * WEEK}})
    _plan, state = run(start)
    # max_age shrinks to a week, but two weeks were served: the hold is two weeks.
    fewer = domains(**{'a.example': {'mx': ['mx1.a.example'], 'max_age': WEEK}})
    plan, state = run(fewer, state, now=T0 + DAY)
    assert by_domain(plan, 'served')['a.example']['mx'] == ['mx1.a.example', 'mx2.a.example']
    held = [n for n in plan['notes'] if n['kind'] == 'mx_held']
    assert held[0]['until'] == T0 + DAY + 2 * WEEK
    plan, state = run(fewer, state, now=T0 + DAY + 2 * WEEK - 1)
    assert by_domain(plan, 'served')['a.example']['mx'] == ['mx1.a.example', 'mx2.a.example']
    plan, state = run(fewer, state, now=T0 + DAY + 2 * WEEK)
    assert by_domain(plan, 'served')['a.example']['mx'] == ['mx1.a.example']
    assert 'mx2.a.example' not in state['domains']['a.example']['mx']


def test_a_held_mx_put_back_is_no_longer_pending_and_force_drops_at_once():
    start = domains(**{'a.example': {'mx': ['mx1.a.example', 'mx2.a.example']}})
    _plan, state = run(start)
    fewer = domains()
    _plan, state = run(fewer, state, now=T0 + 10)
    _plan, state = run(start, state, now=T0 + 20)
    assert state['domains']['a.example']['mx']['mx2.a.example']['removal_requested'] is None
    plan, _state = run(fewer, state, now=T0 + 30, force_mx_removal=True)
    assert by_domain(plan, 'served')['a.example']['mx'] == ['mx1.a.example']


def test_retire_serves_none_then_refuses_removal_until_the_largest_max_age_passed():
    _plan, state = run(domains(**{'a.example': {'max_age': 4 * WEEK}}))
    plan, state = run(domains(), state, now=T0 + DAY, action='retire', retire=['a.example'])
    served = by_domain(plan, 'served')['a.example']
    assert served['mode'] == 'none' and served['max_age'] == DAY and served['mx'] == ['mx1.a.example']
    assert served['policy_id'] != by_domain(run(domains())[0], 'served')['a.example']['policy_id']
    retire = state['domains']['a.example']['retire']
    assert retire['published_at'] == T0 + DAY and retire['max_age_largest'] == 4 * WEEK
    assert plan['removed'] == []
    # Before the time: refused, with the time it will be allowed.
    plan, state = run(domains(), state, now=T0 + DAY + 4 * WEEK - 1, action='retire', retire=['a.example'])
    wait = [n for n in plan['notes'] if n['kind'] == 'retire_wait'][0]
    assert wait['until'] == T0 + DAY + 4 * WEEK and plan['removed'] == []
    assert by_domain(plan, 'role_domains')['a.example']['mode'] == 'none'
    # deploy never removes, even when allowed.
    plan, _state = run(domains(), state, now=T0 + 9 * WEEK, action='deploy', retire=['a.example'])
    assert plan['removed'] == []
    # Once passed: records and policy removed.
    plan, state = run(domains(), state, now=T0 + DAY + 4 * WEEK, action='retire', retire=['a.example'])
    assert plan['removed'] == ['a.example']
    assert by_domain(plan, 'role_domains')['a.example'] == {'domain': 'a.example', 'state': 'absent'}
    assert by_domain(plan, 'publish')['a.example']['state'] == 'absent'
    assert 'a.example' not in by_domain(plan, 'served')
    assert state['domains']['a.example']['retire']['removed_at'] == T0 + DAY + 4 * WEEK


def test_retire_removal_can_be_forced():
    _plan, state = run(domains())
    _plan, state = run(domains(), state, action='retire', retire=['b.example'])
    plan, _state = run(domains(), state, now=T0 + 60, action='retire', retire=['b.example'], force_removal=True)
    assert plan['removed'] == ['b.example']


def test_a_retiring_domain_left_out_of_mta_sts_retire_is_refused_unless_unretired():
    _plan, state = run(domains())
    _plan, state = run(domains(), state, action='retire', retire=['b.example'])
    with pytest.raises(MtaStsError, match='b.example: is being retired'):
        run(domains(), state, now=T0 + 60)
    plan, state = run(domains(), state, now=T0 + 60, unretire=['b.example'])
    assert by_domain(plan, 'served')['b.example']['mode'] == 'testing'
    assert 'retire' not in state['domains']['b.example']


def test_domains_served_before_but_not_listed_are_named_and_kept_in_the_state():
    _plan, state = run(domains())
    plan, state2 = run(domains()[:1], state, now=T0 + 5)
    assert [n['kind'] for n in plan['notes']] == ['unmanaged']
    assert state2['domains']['b.example'] == state['domains']['b.example']


def test_states_of_several_hosts_merge_to_the_longest_waits():
    _plan, state = run(domains())
    other = {'version': 1, 'domains': {'a.example': dict(state['domains']['a.example'], max_age_largest=9 * WEEK)}}
    merged = merge_states([state, None, {}, other])
    assert merged['domains']['a.example']['max_age_largest'] == 9 * WEEK
    assert merged['domains']['b.example'] == state['domains']['b.example']
    with pytest.raises(MtaStsError, match='not a version 1 state'):
        merge_states([{'version': 7}])


def test_verify_expectations_follow_the_inventory():
    items = domains()
    items[0]['policy_id'] = '20261201'
    assert verify_expectations(items, retire=['b.example']) == [
        {'domain': 'a.example', 'mode': 'enforce', 'tlsrpt_rua': ['mailto:r@a.example'], 'policy_id': '20261201'},
        {'domain': 'b.example', 'mode': 'none'},
    ]


def test_a_typo_in_a_key_is_refused_naming_the_closest_key():
    items = domains()
    items[1]['mdoe'] = items[1].pop('mode')
    with pytest.raises(MtaStsError, match=r'b.example, mta_sts_domains\[1\]: unknown key "mdoe" \(did you mean "mode"\?\)'):
        run(items)
    with pytest.raises(MtaStsError, match=r'mta_sts_dns: unknown key "dns.sever" \(did you mean "dns.server"\?\)'):
        run(domains(), dns_default={'provider': 'rfc2136', 'sever': 'ns1.example'})
