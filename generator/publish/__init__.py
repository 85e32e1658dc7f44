"""Publish: a finished, verified collection folder in, what a creator uploads and mints from out.

``export`` builds ``export/`` (upscaled images, token metadata with the base URI, ``collection.json``,
provenance, rarity) in a staging folder (``staging``) through one flow for every target, whose differences
live in ``formats/`` (one module per export format behind one protocol, and the registry ``--format`` reads);
``uri`` checks base URIs, ``documents`` builds the ERC-7572 contract document, ``rarity`` ranks tokens the
OpenRarity way, ``gallery`` writes ``index.html``. For minting from IPFS with no other tool: ``unixfs`` encodes
blocks and ``car`` packs folders exactly as ``ipfs-car`` does, ``ipfs`` links the metadata to the images' CID;
``reveal`` (starting index), ``hidden`` (the pre-reveal placeholder) and ``provenance`` serve the reveal.
"""
