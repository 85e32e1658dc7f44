"""The issue's "done when", in a real browser: load the shipped tables, change a weight and a rule, see the expected
shares and a sample token change, save, and the files differ only in the edited cells and lines; a change on disk
before saving is detected; a request without the token is refused."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from studio_running import studio

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
HOOD_RULE = 'when = { hair = "Hoodie" }\nforbid = { accessory = ["Earring", "Pipe"] }'


def changed_lines(before: bytes, after: bytes) -> list[str]:
    diff = difflib.unified_diff(before.decode().splitlines(True), after.decode().splitlines(True), n=0)
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def row(page, table: str, value: str):
    return page.locator(f'tr[data-table="{table}"][data-value="{value}"]')


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)")
def test_edit_see_save_and_refusals_in_a_real_browser(config_path: Path) -> None:
    expect = sync_api.expect
    folder = config_path.parent
    original = {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}
    with studio(config_path) as server, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(server.url)
        mask, pipe = row(page, "accessory", "Medical Mask"), row(page, "accessory", "Pipe")
        expect(mask.locator(".expected")).to_have_text("2.16%")  # traits check's figure for the shipped tables
        expect(page.locator("#samples img")).to_have_count(12)
        faces = page.locator("#samples img").evaluate_all("images => images.map(image => image.src)")

        mask.locator('input[data-col="weight"]').fill("40")
        mask.locator('input[data-col="weight"]').press("Tab")
        expect(mask.locator(".expected")).not_to_have_text("2.16%")
        expect(mask.locator(".configured")).to_have_text("29.63%")  # 40 of 135
        assert page.locator("#samples img").evaluate_all("images => images.map(image => image.src)") != faces

        pipe_before = pipe.locator(".expected").inner_text()
        page.locator('textarea[data-rule="0"]').fill(HOOD_RULE)
        page.locator("#folder").click()  # leaving the rule sends it
        expect(pipe.locator(".expected")).not_to_have_text(pipe_before)
        expect(page.locator("#error")).to_be_hidden()

        page.locator("#review").click()
        expect(page.locator("#diff")).to_contain_text("+Medical Mask,40,medical mask")
        page.locator("#confirm-save").click()
        expect(page.locator("#unsaved")).to_have_text("saved: 2 file(s)")
        now = {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}
        assert sorted(name for name in original if now[name] != original[name]) == ["accessory.csv", "collection.toml"]
        assert changed_lines(original["accessory.csv"], now["accessory.csv"]) == [
            "-Medical Mask,5,medical mask\n",
            "+Medical Mask,40,medical mask\n",
        ]
        assert changed_lines(original["collection.toml"], now["collection.toml"]) == [
            '-forbid = { accessory = ["Earring"] }\n',
            '+forbid = { accessory = ["Earring", "Pipe"] }\n',
        ]

        blue = row(page, "eyes", "Blue").locator('input[data-col="weight"]')
        blue.fill("20")
        blue.press("Tab")
        expect(page.locator("#unsaved")).to_have_text("edited: eyes.csv")
        theirs = original["eyes.csv"].replace(b"Green,12,", b"Green,24,")
        (folder / "eyes.csv").write_bytes(theirs)  # someone else edits the table
        page.locator("#review").click()
        page.locator("#confirm-save").click()
        expect(page.locator("#save-error")).to_contain_text(f"{folder / 'eyes.csv'} changed on disk since the studio loaded them")
        assert (folder / "eyes.csv").read_bytes() == theirs
        page.locator("#reload").click()  # the other edit is read in, this one dropped
        expect(row(page, "eyes", "Green").locator(".configured")).to_have_text("24.00%")  # 24 of 100
        expect(page.locator("#unsaved")).to_have_text("")

        assert page.evaluate("fetch('/api/state').then(response => response.status)") == 403  # the page's own origin
        assert page.request.get(server.url.split("?")[0]).status == 403
        browser.close()
