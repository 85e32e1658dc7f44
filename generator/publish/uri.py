"""Base URIs: where the published images will be served, checked before an export writes anything.

A token's ``image`` is the base URI with ``<id>.png`` appended verbatim, and a wrong one is
minted on-chain for good, so an unfinished URI must be refused, not published. The rules, each
with its own message:

- no user name or password (``https://user:pass@host/``): every token's metadata would publish it for good, and no
  message ever repeats it (nor a query, where access tokens ride);
- ``ipfs://``, ``ar://`` or ``https://``, something after it, no space, no query (``?``) or
  fragment (``#``): the id is appended after the last character, so it would land inside them;
  and a final ``/``, so the id names a file in that folder;
- no character a URI cannot hold (``<`` ``>`` ``"`` …): ``ipfs://<CID>/`` copied from the docs;
- ``https://`` names a host; on a gateway (``https://host/ipfs/<CID>/`` or
  ``https://<CID>.ipfs.host/``) the CID is checked as below;
- ``ipfs://``: the first path segment parses as a CIDv0 (``Qm…``) or CIDv1 (``bafy…``) of a
  dag-pb folder; ``ipfs://ipfs/<CID>/`` (a gateway path) and the CID of a single file are refused.

:data:`PLACEHOLDER` is the one unfinished value let through: it is the documented default, and
the export prints what to do next whenever the published files still carry it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from multiformats import CID

from generator.config import holds_credentials, without_secrets
from generator.errors import UserError

SCHEMES = ("ipfs://", "ar://", "https://")
PLACEHOLDER = "REPLACE_WITH_CID"  # [metadata].base_uri's default: ipfs://REPLACE_WITH_CID/
FOLDER_CODEC = "dag-pb"  # UnixFS directories; `ipfs add -r` and `ipfs-car pack` make them
_NOT_IN_URIS = re.compile(r'[<>"{}|\\^`]')  # RFC 3986 leaves these out: a sign of a template placeholder
_SUBDOMAIN_GATEWAY = re.compile(r"^([^.]+)\.ipfs\.", re.IGNORECASE)  # https://<CID>.ipfs.dweb.link/


def check_base_uri(uri: str, source: str) -> str:
    """``uri`` when it can prefix ``<id>.png``; otherwise a :class:`UserError` that names ``source`` and the rule broken."""
    problem = _credentials_problem(uri) or _shape_problem(uri) or _characters_problem(uri) or _location_problem(uri)
    if problem:
        raise UserError(f"{source} {without_secrets(uri)!r}: {problem}")
    return uri


def _credentials_problem(uri: str) -> str | None:
    if holds_credentials(uri):
        return (
            "the base URI holds a user name or password (…@host): every token's metadata would publish it for good; "
            "serve the images from an address that needs no credentials"
        )
    return None


def cid_problem(text: str) -> str | None:
    """Why ``text`` is not the CID of an IPFS folder (one clause), or None; the placeholder passes."""
    if text == PLACEHOLDER:
        return None
    if text.lower() in ("ipfs", "ipns"):
        return f"{text!r} is not a CID: ipfs://{text}/<CID>/ is a gateway path; use ipfs://<CID>/"
    try:
        cid = CID.decode(text)
    except (ValueError, LookupError, TypeError):  # multiformats signals bad input with all three
        return f"{text!r} is not a CID: use the one printed for the uploaded folder, Qm… (CIDv0, 46 characters) or bafy… (CIDv1)"
    if cid.codec.name != FOLDER_CODEC:
        return (
            f"{text!r} is a CID of a single {cid.codec.name} block, not of a folder: "
            "upload the whole images/ folder (ipfs add -r, ipfs-car pack) and use the folder's CID"
        )
    return None


def _shape_problem(uri: str) -> str | None:
    """The rules every base URI keeps, whatever its scheme, each with its own message: a token's URI is the base with
    ``<id>.png`` (or ``<id>``) appended verbatim, so the base must end where a file name can follow."""
    body = next((uri[len(scheme) :] for scheme in SCHEMES if uri.startswith(scheme)), None)
    if body is None:
        return f"the base URI must start with {', '.join(SCHEMES)} (e.g. ipfs://<CID>/ or https://example.com/punks/)"
    if body.strip("/") == "":
        return f"nothing follows {uri.split('//')[0]}//: name the folder (e.g. ipfs://<CID>/ or https://example.com/punks/)"
    if re.search(r"\s", uri):
        return "a URI cannot hold spaces or line breaks: copy the address again, or encode a space as %20"
    if "?" in uri or "#" in uri:
        part = "a query (?…)" if "?" in uri else "a fragment (#…)"
        return (
            f"the base URI has {part}; each token's URI is the base with '<id>.png' appended, which would land inside it, "
            "not in the path: put the folder in the path (e.g. https://example.com/punks/v1/)"
        )
    if not uri.endswith("/"):
        return f"the base URI must end with '/', so '<id>.png' names a file in that folder: {uri}/"
    return None


def _characters_problem(uri: str) -> str | None:
    found = _NOT_IN_URIS.search(uri)
    if found:
        return f"{found.group()!r} cannot appear in a URI: replace the placeholder with the real value (e.g. ipfs://bafy…/)"
    return None


def _location_problem(uri: str) -> str | None:
    """The scheme-specific rule: a CID for IPFS, a host for HTTPS (and a CID on an IPFS gateway)."""
    if uri.startswith("ipfs://"):
        return cid_problem(uri[len("ipfs://") :].split("/")[0])
    if uri.startswith("https://"):
        try:
            parts = urlsplit(uri)
            parts.port  # noqa: B018 - parsed on access; a bad one raises here, not later
        except ValueError as error:
            return f"not a valid https:// URL ({error})"
        if not parts.hostname:
            return "an https:// URI needs a host (https://example.com/punks/)"
        segments = parts.path.split("/")
        if len(segments) > 2 and segments[1] == "ipfs":  # a path gateway: https://ipfs.io/ipfs/<CID>/
            return cid_problem(segments[2])
        subdomain = _SUBDOMAIN_GATEWAY.match(parts.hostname)
        if subdomain:  # hostnames are case-insensitive, so these gateways carry base32 CIDv1s
            return cid_problem(subdomain.group(1))
    return None
