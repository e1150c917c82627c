# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The verify module's refusals before any lookup (verification/_verify.
run_verify through main()): option ranges and bad domain entries. The runs
themselves are tested in the lab (tests/integration/targets/verify)."""

from __future__ import annotations

import pytest

pytest.importorskip('dns')

from ansible_collections.mailsec.mta_sts.plugins.modules.verify import main  # noqa: E402  pylint: disable=wrong-import-position


@pytest.mark.parametrize('option, value, text', [
    ('parallel', 0, 'parallel must be at least 1'),
    ('retries', -1, 'retries must be at least 0'),
    ('delay', -0.5, 'delay must be at least 0'),
    ('timeout', 0.01, 'timeout must be at least 0.1'),
])
def test_out_of_range_options_fail_before_any_lookup(run_module, option, value, text):
    result = run_module(main, {'domains': ['example.com'], option: value})
    assert result['failed'] and result['msg'] == text
    assert 'domains' not in result


def test_a_bad_domain_entry_names_the_entry(run_module):
    result = run_module(main, {'domains': ['example.com', {'domain': 'example.org', 'colour': 'blue'}]})
    assert result['failed']
    assert 'domains[1]' in result['msg'] and 'colour' in result['msg']


def test_an_unknown_report_format_is_refused(run_module, tmp_path):
    result = run_module(main, {'domains': ['example.com'], 'report': str(tmp_path / 'report.txt')})
    assert result['failed'] and 'cannot tell' in result['msg']
    assert not (tmp_path / 'report.txt').exists()
