"""Fully on-chain art, encoded the Nouns way: one palette, each image as run-length-encoded palette indices.

The encoding is Nouns' (``@nouns/sdk`` 1.2.0's ``PNGCollectionEncoder``, decoded on chain by
``SVGRenderer.sol``), so a renderer contract that reads Nouns parts reads ours and a Nouns-fork
creator can use ``image-data.json`` as it is (:mod:`.rle`, :mod:`.nouns`). Each trait value's layer
is stored once and a layered token is one trait-index byte per trait, CryptoPunks-style; a token with
pixels of its own is stored whole (:mod:`.layout`). :mod:`.report` counts the bytes and the
EIP-170 data contracts they fill; docs/onchain.md says how a renderer reads them.
"""
