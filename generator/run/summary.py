"""What a run did, told to people: the lines ``punkgen collection`` (and reroll) prints, and the counts behind the
exit status."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.errors import Arg, plural
from generator.run.folder import REJECTS, TO_RENDER


@dataclass(frozen=True)
class Summary:
    folder: Path
    backend: str
    planned: int
    rendered: int  # attempts rendered by this run
    resumed: int  # tokens an earlier run had finished (accepted, or failed)
    one_of_ones: int  # hand-made tokens: written, not rendered
    failed: tuple[int, ...]  # token ids out of attempts
    waiting: int  # import: jobs whose render is not in the renders folder yet, listed in to-render/
    renders: Path | None  # import: the folder it reads renders from
    attempts: int  # per token: [quality].max_attempts, or 1 for a backend whose every attempt is the same
    deterministic: bool  # the backend renders the same pixels on every attempt
    restored: tuple[int, ...]  # finished tokens whose files were missing or altered, re-created from the manifest
    acceptance: float  # accepted attempts / all attempts, over the whole collection
    top_reasons: tuple[tuple[str, int], ...]
    seconds: float
    main: bool = True  # False in the other processes of a multi-process run: they print nothing

    def report(self) -> list[str]:
        """What the run did, for people; the failed-tokens lines say why the exit status is not 0."""
        done = self.planned - len(self.failed) - self.waiting  # one job waits per waiting token
        if self.rendered == 0 and self.resumed + self.one_of_ones == self.planned:
            lines = [f"nothing new to render: {self.folder} is finished, {done} of {plural(self.planned, 'token')} done"]
        else:
            resumed = f", {self.resumed:,} already done" if self.resumed else ""
            resumed += f", {plural(self.one_of_ones, '1/1')}" if self.one_of_ones else ""
            lines = [
                f"{done:,} of {plural(self.planned, 'token')} in {self.folder} "
                f"({plural(self.rendered, 'render')} with {self.backend}{resumed}) in {self.seconds:.1f} s"
            ]
        if self.restored:
            lines.append(
                f"restored {plural(len(self.restored), 'token')} whose files were missing or altered: {_ids(self.restored)}"
            )
        if self.top_reasons or self.failed:
            reasons = ", ".join(f"{code} ×{count}" for code, count in self.top_reasons)
            lines.append(f"acceptance {self.acceptance:.0%}; top rejection reasons: {reasons or 'none'}")
        if self.waiting:
            lines.append(
                f"waiting for renders: {plural(self.waiting, 'job')} listed in {self.folder / TO_RENDER} "
                "(prompts.txt for AUTOMATIC1111, comfyui/ for ComfyUI, jobs.jsonl for any tool); render them into "
                f"{self.renders}, then run the same command again"
            )
        if self.failed:
            why = (
                f"{self.backend} renders the same pixels on every attempt, so another run changes nothing: fix the "
                f"layers, then start again with {Arg.FORCE} (or reroll them with {Arg.FRESH_TRAITS})"
                if self.deterministic
                else "[quality].max_attempts is spent: look at rejected/, then reroll them (punkgen reroll), or fix the "
                f"cause and start again with {Arg.FORCE}"
            )
            lines.append(
                f"incomplete: {plural(len(self.failed), 'token')} failed after {plural(self.attempts, 'attempt')} "
                f"({_ids(self.failed)}); reasons in {self.folder / REJECTS}. {why}"
            )
        return lines


def _ids(token_ids: tuple[int, ...], shown: int = 20) -> str:
    return ", ".join(map(str, token_ids[:shown])) + (f" … ({len(token_ids) - shown} more)" if len(token_ids) > shown else "")
