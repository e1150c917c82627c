# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What to change in the TXT records at one name: the pure part of the
``records`` module, with no network and no dnspython.

A TXT record is a tuple of character-strings (bytes, each at most 255
octets). ``plan_txt`` compares the records read from the primary with the
record we want and says which records to delete and which to add; the
``_rfc2136`` module turns a list of plans into UPDATE messages.

Private module of the mailsec.mta_sts collection: its interface may change
without notice.
"""

from __future__ import annotations

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._records import join_txt, split_txt


def txt_from_value(value):
    """The record for ``value``, split into strings of at most 255 octets
    (the value is read back as their concatenation, A2)."""
    return tuple(part.encode('ascii') for part in split_txt(value))


def txt_presentation(record):
    """A record in zone-file form: each string quoted, ``"`` and ``\\``
    escaped, bytes outside printable ASCII as ``\\DDD``."""
    out = []
    for string in record:
        chars = []
        for byte in string:
            if byte in (0x22, 0x5c):
                chars.append('\\' + chr(byte))
            elif 0x20 <= byte < 0x7f:
                chars.append(chr(byte))
            else:
                chars.append('\\%03d' % byte)
        out.append('"%s"' % ''.join(chars))
    return ' '.join(out)


def is_own_record(record, prefix):
    """Is this one of the records the module manages at the name?

    A sender only counts records that begin with ``<prefix>;`` (A1, F2);
    we also claim ``<prefix>`` alone and ``<prefix>`` followed by blanks,
    which are broken attempts at the same record and must not linger next
    to the right one. ``v=STSv10`` or ``V=STSV1`` are someone else's.
    """
    text = b''.join(record)
    head = prefix.encode('ascii')
    if not text.startswith(head):
        return False
    rest = text[len(head):]
    return rest == b'' or rest[:1] in (b';', b' ', b'\t')


class TxtPlan:
    """The change at one name for one kind of record (``sts``/``tlsrpt``).

    ``before`` and ``after`` are every TXT record at the name (ours and
    others'), ``remove`` and ``add`` the difference; ``retime`` says that
    the TTL of the whole TXT RRset changes, in which case the UPDATE
    replaces the RRset (one TTL per RRset, RFC 2181 section 5.2).
    """

    __slots__ = ('name', 'kind', 'before', 'ttl_before', 'after', 'ttl_after', 'remove', 'add', 'retime')

    def __init__(self, name, kind, before, ttl_before, after, ttl_after, remove, add, retime):
        self.name = name
        self.kind = kind
        self.before = before
        self.ttl_before = ttl_before
        self.after = after
        self.ttl_after = ttl_after
        self.remove = remove
        self.add = add
        self.retime = retime

    @property
    def changed(self):
        return bool(self.remove or self.add or self.retime)

    def zone_lines(self, which):
        """The records before/after in zone-file lines, for diff mode."""
        records, ttl = (self.before, self.ttl_before) if which == 'before' else (self.after, self.ttl_after)
        return ['%s. %d IN TXT %s' % (self.name, ttl, txt_presentation(record)) for record in records]

    def as_dict(self):
        return {
            'name': self.name,
            'changed': self.changed,
            'before': [join_txt(r, lenient=True) for r in self.before],
            'after': [join_txt(r, lenient=True) for r in self.after],
            'removed': [join_txt(r, lenient=True) for r in self.remove],
            'added': [join_txt(r, lenient=True) for r in self.add],
            'ttl': self.ttl_after,
        }

    def __repr__(self):
        return 'TxtPlan(%r, remove=%r, add=%r, retime=%r)' % (self.name, self.remove, self.add, self.retime)


def plan_txt(name, kind, prefix, current, current_ttl, desired, ttl):
    """Plan the TXT records at ``name``.

    ``current`` is the list of records at the name (tuples of bytes) and
    ``current_ttl`` their TTL (None when there are none). ``desired`` is the
    value we want (a str, split into 255-octet strings here) or None to
    remove every record of ours. Records that are not ours (see
    ``is_own_record``) are kept as they are. Of our records, one whose joined
    value equals ``desired`` is kept and every other one is deleted: a second
    ``v=STSv1`` record switches the policy off (A1), a second ``v=TLSRPTv1``
    record the reports (F2).

    ``ttl`` is applied when records are added; when the wanted record is
    already there but the RRset has another TTL, the RRset is re-timed. A
    removal never re-times what stays.
    """
    current = [tuple(record) for record in current]
    others = [record for record in current if not is_own_record(record, prefix)]
    ours = [record for record in current if is_own_record(record, prefix)]
    remove = []
    add = []
    if desired is None:
        remove = ours
        after = others
        ttl_after = current_ttl if after else None
        retime = False
    else:
        wanted = desired.encode('ascii')
        keep = None
        for record in ours:
            if keep is None and b''.join(record) == wanted:
                keep = record
            else:
                remove.append(record)
        if keep is None:
            keep = txt_from_value(desired)
            add.append(keep)
        after = others + [keep]
        ttl_after = ttl
        retime = current_ttl is not None and current_ttl != ttl
    return TxtPlan(name, kind, current, current_ttl, after, ttl_after, remove, add, retime)
