"""The base-URI rule and its message agree: each broken rule is named as it is, and URIs that keep every rule pass.

A token's URI is the base with ``<id>.png`` appended verbatim, so a query or fragment would swallow the id (issue
27: ``https://x/p/?v=1&x=/`` ends in '/', yet was told to end in '/')."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import collection_args, folder_bytes, refused, run_cli

from generator.errors import UserError
from generator.publish.uri import check_base_uri

CIDV1 = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"


@pytest.mark.parametrize(
    ("uri", "rule"),
    [
        ("https://x/p/?v=1&x=/", "has a query (?…); each token's URI is the base with '<id>.png' appended"),
        ("https://x/p/?v=1", "has a query (?…)"),
        ("https://x/p/#/", "has a fragment (#…)"),
        (f"ipfs://{CIDV1}/?filename=a/", "has a query (?…)"),
        ("https://x/p", "must end with '/', so '<id>.png' names a file in that folder: https://x/p/"),
        (f"ipfs://{CIDV1}", f"must end with '/', so '<id>.png' names a file in that folder: ipfs://{CIDV1}/"),
        ("ar://tx", "must end with '/'"),
        ("data:application/json,", "must start with ipfs://, ar://, https://"),
        ("http://x/p/", "must start with ipfs://, ar://, https://"),
        ("ar:///", "nothing follows ar://"),
        ("https://x/a b/", "cannot hold spaces"),
    ],
)
def test_each_broken_rule_is_named_as_it_is(uri: str, rule: str) -> None:
    with pytest.raises(UserError) as raised:
        check_base_uri(uri, "--base-uri")
    shown = uri.split("?")[0] + ("?…" if "?" in uri else "")  # a query may carry an access token: never repeated
    assert str(raised.value).startswith(f"--base-uri {shown!r}: ") and rule in str(raised.value), raised.value
    if "?" in uri or "#" in uri:  # the defect: a rule it keeps (the final '/') was the one named
        assert "must end with" not in str(raised.value)


@pytest.mark.parametrize(
    "uri", [f"ipfs://{CIDV1}/", f"ipfs://{CIDV1}/v1/", "ar://tx-123_abc/", "https://cdn.example.com/p/", "https://x/%20a/"]
)
def test_uris_that_keep_every_rule_pass(uri: str) -> None:
    assert check_base_uri(uri, "--base-uri") == uri


def test_a_query_base_uri_is_refused_by_export_naming_the_real_rule(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli(*collection_args(config_path, out, 4)).exit_code == 0
    before = folder_bytes(out)
    line = refused("export", out, "--config", config_path, "--base-uri", "https://x/p/?v=1&x=/")
    assert "has a query" in line and "https://example.com/punks/v1/" in line
    assert folder_bytes(out) == before
    result = run_cli("export", out, "--config", config_path, "--base-uri", "https://x/p/v1/")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "export" / "metadata" / "2").read_text())["image"] == "https://x/p/v1/2.png"
