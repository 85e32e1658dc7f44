"""Curate: a finished collection folder in, what it holds (checked against its manifest) out.

``finished`` reads a folder back as untrusted input (for export and rarity); ``verify`` lists
every difference between its files, its manifest and the schemas.
"""
