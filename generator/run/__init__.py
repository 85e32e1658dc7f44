"""Run: the plan and a renderer in, a collection folder out, resumable at any moment.

``collection`` drives rounds of attempts in fixed blocks; ``finish`` turns one render into a
token (pixels → quality → files); ``folder`` owns the folder's layout, fingerprint and
``--force``; ``manifest`` is the append-only record resume reads; ``repair`` re-creates finished
tokens whose files went missing; ``lock`` keeps one process per folder; ``team`` shares the work
between several processes; ``sheet`` draws the contact sheet.
"""
