# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The record filters offer the strict and the lenient reading of the
grammar (see test_abnf.py for the grammar itself). Filters run on the
controller, so this test lives beside them: ansible-test runs the
module_utils tests where only ansible.module_utils exists."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.mailsec.mta_sts.plugins.filter.mta_sts import parse_sts_record as sts_filter
from ansible_collections.mailsec.mta_sts.plugins.filter.mta_sts import parse_tlsrpt_record as tlsrpt_filter

MAILTO = 'mailto:tlsrpt@example.com'


def test_record_filters_offer_both_readings():
    with pytest.raises(AnsibleFilterError, match='A5'):
        sts_filter('v=STSv1; id=abc123; x=a b')
    assert sts_filter('v=STSv1; id=abc123; x=a b', strict=False)['id'] == 'abc123'
    with pytest.raises(AnsibleFilterError, match='F1'):
        tlsrpt_filter('v=TLSRPTv1; rua=%s ' % MAILTO)
    assert tlsrpt_filter('v=TLSRPTv1; rua=%s ' % MAILTO, strict=False)['rua'] == [MAILTO]
