"""The static gallery: self-contained, safe with any collection name, and filterable and sortable in a real browser."""

from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path

import pytest
from chromium import CHROMIUM, chromium
from conftest import collection_args, run_cli
from PIL import Image

from generator.publish.gallery import gallery_html
from generator.publish.rarity import rank_tokens

CID_URI = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/"
N = 40  # fits on the page's first step of 240 cards
PAGE = 240


def export_collection(config_path: Path, out: Path, n: int) -> Path:
    assert run_cli(*collection_args(config_path, out, n)).exit_code == 0
    result = run_cli("export", out, "--config", config_path, "--base-uri", CID_URI)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def exported(config_path: Path, tmp_path: Path) -> Path:
    return export_collection(config_path, tmp_path / "out", N)


def embedded(page: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="collection">(.*?)</script>', page, re.S).group(1))


def attributes_by_token(out: Path) -> dict[int, dict[str, str]]:
    documents = {int(p.stem): json.loads(p.read_text()) for p in (out / "metadata").glob("*.json")}
    return {token_id: {a["trait_type"]: a["value"] for a in doc["attributes"]} for token_id, doc in documents.items()}


def csv_ranks(out: Path) -> dict[int, int]:
    with (out / "export" / "rarity.csv").open() as stream:
        return {int(row["token_id"]): int(row["rank"]) for row in csv.DictReader(stream)}


def test_the_page_is_self_contained_and_carries_every_token(exported: Path) -> None:
    page = (exported / "index.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "no CDN, nothing fetched from the network"
    assert "image-rendering: pixelated" in page
    data = embedded(page)
    assert data["total"] == N and data["traits"] == ["Background", "Type", "Hair", "Eyes", "Mouth", "Accessory"]
    ranks, attributes = csv_ranks(exported), attributes_by_token(exported)
    for token_id, rank, _score, _unique, picks in data["tokens"]:
        assert rank == ranks[token_id]
        shown = {trait: data["values"][t][v] for t, (trait, v) in enumerate(zip(data["traits"], picks, strict=True)) if v >= 0}
        assert shown == attributes[token_id]


def test_names_cannot_break_out_of_the_page() -> None:
    evil = "</script><script>alert(1)</script> & <b>"
    attributes = {1: [{"trait_type": "Hat", "value": evil}], 2: [{"trait_type": "Hat", "value": "Cap"}]}
    page = gallery_html(evil, evil, attributes, rank_tokens(attributes))
    assert page.count("</script>") == 2 and "<script>alert" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;" in page
    assert embedded(page)["values"][0] == sorted(["Cap", evil])


def cards(dom: str) -> list[tuple[int, int]]:
    """(token id, rank) of every card in the rendered page, in page order."""
    return [(int(t), int(r)) for t, r in re.findall(r'<article class="card[^"]*" data-token-id="(\d+)" data-rank="(\d+)"', dom)]


browser = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)")


@pytest.mark.browser
@browser
def test_filter_and_sort_from_the_address(exported: Path, tmp_path: Path) -> None:
    attributes, ranks = attributes_by_token(exported), csv_ranks(exported)
    eyes = max({a["Eyes"] for a in attributes.values()}, key=lambda v: sum(a["Eyes"] == v for a in attributes.values()))
    dom = chromium(tmp_path, f"{(exported / 'index.html').as_uri()}#sort=rank&Eyes={eyes.replace(' ', '+')}", "--dump-dom")
    wanted = sorted((ranks[t], t) for t, a in attributes.items() if a["Eyes"] == eyes)
    assert 1 < len(wanted) < N
    assert cards(dom) == [(t, rank) for rank, t in wanted], "only that value, rarest first"
    assert f"{len(wanted)} of {N} tokens" in dom


@pytest.mark.browser
@browser
def test_choosing_a_filter_in_the_page(exported: Path, tmp_path: Path) -> None:
    """A script does what a collector does: picks "(none)" for Accessory and the most-common-first sort."""
    attributes, ranks = attributes_by_token(exported), csv_ranks(exported)
    script = """<script>{  // a block: the page's own top-level consts share the global scope
      const accessory = document.querySelector('select[data-trait="Accessory"]');
      accessory.value = accessory.options[1].value;  // "(none)" sorts first
      accessory.dispatchEvent(new Event("change"));
      const sort = document.getElementById("sort");
      sort.value = "rank-desc";
      sort.dispatchEvent(new Event("change"));
      setTimeout(() => {
        const img = document.querySelector(".card img");
        document.body.dataset.loaded = img.complete && img.naturalWidth;
        document.body.dataset.rendering = getComputedStyle(img).imageRendering;
        document.body.dataset.label = accessory.options[accessory.selectedIndex].textContent;
        document.body.dataset.hash = location.hash;
      }, 1000);
    }</script></body>"""
    page = exported / "probe.html"
    page.write_text((exported / "index.html").read_text().replace("</body>", script))
    dom = chromium(tmp_path, page.as_uri(), "--dump-dom")
    bare = sorted(((ranks[t], t) for t, a in attributes.items() if "Accessory" not in a), key=lambda pair: (-pair[0], pair[1]))
    assert cards(dom) == [(t, rank) for rank, t in bare], "tokens without an accessory, most common first"
    assert f'data-label="(none) ({len(bare)})"' in dom
    assert 'data-loaded="24"' in dom, "the 24×24 master loads from images/ beside the page"
    assert 'data-rendering="pixelated"' in dom
    assert 'data-hash="#sort=rank-desc&amp;Accessory=%28none%29"' in dom, "the view is kept in the address"


@pytest.mark.browser
@browser
def test_screenshot(exported: Path, tmp_path: Path) -> None:
    """A real render: the page lays out and paints (open the PNG to judge it as a collector would)."""
    shot = tmp_path / "gallery.png"
    chromium(tmp_path, (exported / "index.html").as_uri() + "#sort=rank", f"--screenshot={shot}", "--window-size=1280,900")
    with Image.open(shot) as image:
        assert image.size == (1280, 900)
        assert len(image.convert("RGB").getcolors(1 << 16) or []) > 40, "cards with punks, not a blank page"


def test_export_rewrites_the_gallery(exported: Path, config_path: Path) -> None:
    """Every export writes its index.html anew. (This test used to change [collection].description after the run and
    see it in the gallery: that mixes the new text with the old in the tokens, and is now refused, see
    test_verify_promises.py.)"""
    page = exported / "index.html"
    fresh = page.read_text()
    page.write_text(fresh.replace('<p class="description">', '<p class="description">Stale ', 1))
    assert run_cli("export", exported, "--config", config_path, "--base-uri", CID_URI).exit_code == 0
    assert page.read_text() == fresh


def probe(exported: Path, tmp_path: Path, script: str) -> str:
    """The gallery with ``script`` run after the page's own (in a block: the page's top-level consts share the
    global scope); returns the DOM Chromium ends with."""
    page = exported / "probe.html"
    page.write_text((exported / "index.html").read_text().replace("</body>", f"<script>{{{script}}}</script></body>"))
    return chromium(tmp_path, page.as_uri(), "--dump-dom")


SHOW_MORE = """
  const more = document.getElementById("more");
  const state = () => `${document.querySelectorAll(".card").length} cards, display ${getComputedStyle(more).display}, `
    + `${more.offsetParent === null ? "not laid out" : "laid out"}`;
  document.body.dataset.before = state();
  more.click();
  document.body.dataset.after = state();
"""


@pytest.mark.browser
@browser
def test_show_more_appears_only_when_there_is_more(exported: Path, config_path: Path, tmp_path: Path) -> None:
    dom = probe(exported, tmp_path, SHOW_MORE)
    assert f'data-before="{N} cards, display none, not laid out"' in dom, "every card shown: no button"
    big = export_collection(config_path, tmp_path / "big", PAGE + 60)
    dom = probe(big, tmp_path, SHOW_MORE)
    assert f'data-before="{PAGE} cards, display block, laid out"' in dom, "a first step of cards, and the button"
    assert f'data-after="{PAGE + 60} cards, display none, not laid out"' in dom, "a click shows the rest; the button goes"


def option_counts(dom: str) -> dict[str, dict[str, int]]:
    """Each filter's options as the page labels them: trait → {"All" or value or "(none)": count}."""
    selects = re.findall(r'<select data-trait="([^"]*)">(.*?)</select>', dom, re.S)
    counts: dict[str, dict[str, int]] = {}
    for trait, options in selects:
        labels = [html.unescape(label).rsplit(" (", 1) for label in re.findall(r"<option[^>]*>(.*?)</option>", options)]
        counts[html.unescape(trait)] = {name: int(count.rstrip(")").replace(",", "")) for name, count in labels}
    return counts


def faceted(attributes: dict[int, dict[str, str]], traits: list[str], chosen: dict[str, str]) -> dict[str, dict[str, int]]:
    """What each option should say: tokens matching every OTHER chosen filter, with that value."""
    expected = {}
    for trait in traits:
        others = [a for a in attributes.values() if all(a.get(t, "(none)") == v for t, v in chosen.items() if t != trait)]
        present = {a.get(trait, "(none)") for a in attributes.values()}
        tally = {value: sum(a.get(trait, "(none)") == value for a in others) for value in present}
        expected[trait] = {"All": len(others), **tally}
    return expected


@pytest.mark.browser
@browser
def test_filter_counts_follow_the_other_filters(exported: Path, tmp_path: Path) -> None:
    attributes = attributes_by_token(exported)
    traits = embedded((exported / "index.html").read_text())["traits"]
    kind = max({a["Type"] for a in attributes.values()}, key=lambda v: sum(a["Type"] == v for a in attributes.values()))
    of_kind = [a for a in attributes.values() if a["Type"] == kind]
    eyes = max({a["Eyes"] for a in of_kind}, key=lambda v: sum(a["Eyes"] == v for a in of_kind))
    chosen = {"Type": kind, "Eyes": eyes}
    choose = "".join(
        f"""{{ const s = document.querySelector('select[data-trait="{trait}"]'); s.value = {json.dumps(value)};
        s.dispatchEvent(new Event("change")); }}"""
        for trait, value in chosen.items()
    )
    dom = probe(exported, tmp_path, choose)
    shown = option_counts(dom)
    expected = faceted(attributes, traits, chosen)
    assert shown == expected
    assert shown["Eyes"] != faceted(attributes, traits, {})["Eyes"], "the Type filter changed the Eyes counts"
    assert shown["Hair"]["All"] == len(cards(dom)) == sum(a["Type"] == kind and a["Eyes"] == eyes for a in attributes.values())
    assert option_counts(chromium(tmp_path, (exported / "index.html").as_uri(), "--dump-dom")) == faceted(attributes, traits, {})


CURATE = """
  const cards = [...document.querySelectorAll(".card")];
  cards.find(card => card.dataset.tokenId === "5").click();
  cards.find(card => card.dataset.tokenId === "3").click();
  cards.find(card => card.dataset.tokenId === "9").click();
  cards.find(card => card.dataset.tokenId === "9").click();  // a second click unselects
  document.body.dataset.command = document.getElementById("command").value;
  document.body.dataset.bar = getComputedStyle(document.getElementById("curate")).display;
  document.body.dataset.selected = document.querySelectorAll(".card.selected").length;
  document.body.dataset.note = cards.find(card => card.dataset.tokenId === "2").querySelector(".note")?.textContent;
"""


@pytest.mark.browser
@browser
def test_selected_cards_give_the_reroll_command_and_cards_tell_their_story(
    config_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "curated"
    assert run_cli(*collection_args(config_path, out, N)).exit_code == 0
    assert run_cli("reroll", out, 2, "--config", config_path, "--backend", "sprites", "--traits").exit_code == 0
    monkeypatch.chdir(tmp_path)
    assert run_cli("export", "curated", "--config", config_path, "--base-uri", CID_URI).exit_code == 0
    dom = probe(out, tmp_path, CURATE)
    assert f'data-command="punkgen reroll curated 3 5 --config {config_path}"' in dom
    assert 'data-bar="flex"' in dom and 'data-selected="2"' in dom
    assert 'data-note="2 renders · rerolled"' in dom
