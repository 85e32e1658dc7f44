"""Bitcoin Ordinals: each trait layer inscribed once, each token a recursive SVG a few hundred bytes long.

On Bitcoin every byte is paid for, and inscription ids exist only once a batch is inscribed, so
``punkgen export FOLDER --ordinals`` runs in the phases the chain imposes, each answering the JSON
``ord wallet batch`` printed for the one before (:mod:`.phases`):

1. the layers (:mod:`.layers`) and the provenance parent, with ``layers.batch.yaml`` (:mod:`.batch`);
2. with the layers' ids: ``tokens/`` (:mod:`.svg`, or a token's own PNG) and ``tokens.batch.yaml``;
3. with the tokens' ids: the marketplace registry files (:mod:`.registry`).

Every phase prints what its inscriptions cost (:mod:`.cost`) against inscribing every token as a PNG.

Ordinals is its own export target, not an :class:`~generator.publish.formats.base.ExportFormat`: a format
publishes every token in one pass to a base URI, while here what a phase writes depends on ids only the
chain hands back, there is no base URI, and the files are the on-chain content itself.
"""
