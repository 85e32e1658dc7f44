"""Plan: the trait tables and ``[[rules]]`` in, the collection's plan out.

``traits`` reads the tables (one ``<trait>.csv`` each), ``rules`` compiles ``[[rules]]`` and counts
what they allow, ``plan`` draws N distinct valid trait sets from the seed (weighted or exact)
with each render's seed, ``prompts`` composes each token's prompt, and ``metadata`` gives each
token's ERC-721 document. Nothing here renders or writes a file.
"""
