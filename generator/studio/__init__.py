"""The rarity studio (``punkgen studio``): a loopback-only page that edits one trait folder's weights, prompt
fragments, quotas and rules, and shows what each edit does, all through the same library calls as the CLI.

- :mod:`generator.studio.server`: the HTTP layer (loopback, per-session token, ``Host`` check, the folder's lock);
- :mod:`generator.studio.session`: the edited files and what the page gets of them (``traits check``'s figures);
- :mod:`generator.studio.preview`: sample tokens and the rank preview of the edited plan;
- :mod:`generator.studio.save`: cells and rules changed in place, the diff, the atomic save;
- ``static/``: the page (plain HTML, CSS and JavaScript, no build step).
"""
