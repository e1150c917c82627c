# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A per-run cache that threads share: each key is computed once.

Used by the resolver (DNS answers, zone cuts) and the SMTP prober (one probe
per MX address per run).

Private module of the mailsec.mta_sts collection.
"""

from __future__ import annotations

import threading


class ReentrantComputation(RuntimeError):
    """``compute`` for a key asked for the same key again on the same thread.

    Waiting would never end (the thread would wait for itself), so the cache
    raises instead. A caller whose data can form cycles (CNAME chains) must
    follow them outside the cache; this error only turns a hang into a bug
    report if one ever slips through.
    """


class OnceCache:
    """Compute each key once per run, even when threads ask concurrently.

    ``get(key, compute)`` returns the cached value, or runs ``compute()``
    while other threads asking for the same key wait for its result. An
    exception raised by ``compute`` is cached like a value (re-raised to
    every caller): a failing server is asked once, not once per domain.

    ``compute`` must not wait, directly or through another thread, for a key
    that is being computed and waits for it in turn: the cache detects the
    simple case (the same thread asks for its own pending key) and raises
    :class:`ReentrantComputation`; cycles across threads are the caller's to
    avoid (the resolver follows alias chains outside the cache).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._values = {}
        self._pending = {}  # key -> (event, owner thread id)
        self.computed = 0

    def get(self, key, compute):
        me = threading.get_ident()
        with self._lock:
            if key in self._values:
                return self._unwrap(self._values[key])
            pending = self._pending.get(key)
            owner = pending is None
            if owner:
                event = threading.Event()
                self._pending[key] = (event, me)
            else:
                event, computing_thread = pending
                if computing_thread == me:
                    raise ReentrantComputation('%r is already being computed by this thread' % (key,))
        if not owner:
            event.wait()
            with self._lock:
                return self._unwrap(self._values[key])
        try:
            value = (True, compute())
        except Exception as exc:  # cached and re-raised to every caller
            value = (False, exc)
        with self._lock:
            self._values[key] = value
            self.computed += 1
            del self._pending[key]
        event.set()
        return self._unwrap(value)

    @staticmethod
    def _unwrap(value):
        ok, payload = value
        if ok:
            return payload
        raise payload

    def __len__(self):
        return len(self._values)
