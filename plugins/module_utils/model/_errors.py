# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Errors and problems of the MTA-STS model.

This is a private module of the mailsec.mta_sts collection: its interface may
change without notice. Standard library only (it runs on managed hosts).

Both name their rule with ``_rules.cite``: ``rule B5 (RFC 8461 §3.2)``.
"""

from __future__ import annotations

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._rules import cite

ERROR = 'error'
WARNING = 'warning'
INFO = 'info'


class Problem:
    """One deviation from a rule of the catalogue (``_rules``): its id, a severity and a message.

    ``line`` is the 1-based line of a policy file when it applies.
    """

    __slots__ = ('rule', 'severity', 'message', 'line', 'hint')

    def __init__(self, rule, severity, message, line=None, hint=None):
        self.rule = rule
        self.severity = severity
        self.message = message
        self.line = line
        self.hint = hint

    def __repr__(self):
        return 'Problem(%r, %r, %r, line=%r)' % (self.rule, self.severity, self.message, self.line)

    def __str__(self):
        where = 'line %d: ' % self.line if self.line else ''
        text = '%s: %s%s' % (cite(self.rule), where, self.message)
        if self.hint:
            text += '%s Fix: %s' % ('' if text.endswith('.') else '.', self.hint)
        return text

    def as_dict(self):
        return {
            'rule': self.rule,
            'severity': self.severity,
            'message': self.message,
            'line': self.line,
            'hint': self.hint,
        }


class MtaStsError(ValueError):
    """Bad input or bad data, with the rule it breaks.

    ``domain`` and ``field`` say where (either may be None), ``rule`` is the
    id of the rule in the catalogue (``B5``...; ``_rules``), ``hint`` says how to fix it. ``problems`` holds
    every problem found when several were collected (a policy parse).
    """

    def __init__(self, message, rule=None, domain=None, field=None, hint=None, problems=None):
        self.message = message
        self.rule = rule
        self.domain = domain
        self.field = field
        self.hint = hint
        self.problems = list(problems or [])
        super().__init__(self.format())

    def format(self):
        where = []
        if self.domain:
            where.append(self.domain)
        if self.field:
            where.append(self.field)
        text = ''
        if where:
            text = ', '.join(where) + ': '
        text += self.message
        if self.rule:
            text += '; %s' % cite(self.rule)
        if self.hint:
            text += '. Fix: %s' % self.hint
        return text

    def with_context(self, domain=None, field=None):
        """Return the same error with the domain and/or field filled in."""
        return MtaStsError(
            self.message,
            rule=self.rule,
            domain=self.domain or domain,
            field=self.field or field,
            hint=self.hint,
            problems=self.problems,
        )
