"""Publish: a finished, verified collection folder in, what a creator uploads and mints from out.

``export`` builds ``export/`` (upscaled images, token metadata with the base URI, ``collection.json``,
provenance, rarity), ``uri`` checks base URIs, ``documents`` builds the contract and Metaplex
documents, ``rarity`` ranks tokens the OpenRarity way, ``gallery`` writes ``index.html``.
"""
