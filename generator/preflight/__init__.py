"""Preflight: what ``punkgen traits check`` runs before anything renders, across every stage.

``report`` validates the tables, rules, palette and plan and compares each value's configured
share with the share a run is expected to realise; ``layers`` warns about layer art the quality
filter will reject. It reads from every stage and nothing reads from it.
"""
