"""Run the code blocks of a Markdown page in order, as a reader would, and check the outputs it shows.

Fenced blocks are found with markdown-it-py. ``python`` blocks run in one namespace per page (in this
process, with the page's environment in ``os.environ``); ``bash`` / ``sh`` / ``shell`` blocks run with
``bash -e`` in the page's working directory (where ``.venv`` is the running virtualenv). Other blocks
(``text``, ``toml``, none) are not run.

An HTML comment right before a block (invisible on GitHub) says how to treat it, ``<!-- docs: ... -->``:

* ``skip REASON`` -- not run (the runner does it another way, e.g. starting the server);
* ``fails`` -- the block must fail: the exception's ``Type: message`` (Python) or stderr (shell) is
  its output;
* ``output`` -- on a non-run block: it must match the output of the block run just before it, where
  ``...`` stands for any text; the page's substitutions are undone in the output first
  (``FLOE_DOCS_UPDATE=1 pytest tests/test_docs.py`` writes what the run printed into those that differ);
* ``input TEXT`` -- stdin for a shell block (``\\n`` for new lines);
* ``file NAME`` -- on a non-run block (``json``, ``toml`` ...): the reader saves it as ``NAME``; the runner
  writes it, substitutions applied, to ``NAME`` in the page's working directory;
* ``device-login EMAIL PASSWORD`` -- the block prints a ``/device?user_code=`` link; the runner approves
  it as the person's browser would;
* ``replace OLD => NEW`` -- from here on, ``OLD`` in a block is run as ``NEW`` (``NEW`` may name values
  the test provides, ``{moto}``, ``{bucket}`` ...; other braces are kept): the page shows what a reader
  types, the run uses the local test servers.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt

RUN = {"python": "python", "py": "python", "bash": "shell", "sh": "shell", "shell": "shell"}
_DIRECTIVE = re.compile(r"<!--\s*docs:\s*(.*?)\s*-->", re.S)


@dataclass
class Block:
    """One fenced block: its language, code, 1-based line and the directives before it."""

    lang: str
    code: str
    line: int
    directives: list[str] = field(default_factory=list)
    end: int = 0  # the line after the closing fence

    def directive(self, name: str) -> str | None:
        for d in self.directives:
            word, _, rest = d.partition(" ")
            if word == name:
                return rest.strip()
        return None

    @property
    def kind(self) -> str | None:
        return RUN.get(self.lang)


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, with the ``docs:`` directives that precede each."""
    found: list[Block] = []
    pending: list[str] = []
    for token in MarkdownIt().parse(path.read_text()):
        if token.type == "html_block":
            pending += [m.group(1) for m in _DIRECTIVE.finditer(token.content)]
        elif token.type == "fence":
            start, end = token.map or (0, 0)
            lang = token.info.split()[0] if token.info else ""
            found.append(Block(lang, token.content, start + 1, pending, end))
            pending = []
        elif token.type.endswith("_open"):  # prose between a directive and a block: only `replace` carries on
            pending = [d for d in pending if d.startswith("replace ")]
    return found


def matches(expected: str, actual: str) -> bool:
    """``actual`` matches ``expected``, where ``...`` in ``expected`` stands for any text (new lines too)."""
    parts = [re.escape(p) for p in expected.strip().split("...")]
    return re.fullmatch(r"[\s\S]*?".join(parts), actual.strip()) is not None


@dataclass
class Page:
    """Runs one page's blocks in order: ``env`` for shell blocks and ``os.environ`` of Python ones,
    ``cwd`` as the working directory, ``values`` for ``replace`` directives, ``approve`` for
    ``device-login``."""

    path: Path
    env: dict[str, str]
    cwd: Path
    values: Mapping[str, str] = field(default_factory=dict)
    approve: Callable[[str, str, str], None] | None = None
    namespace: dict = field(default_factory=dict)
    replacements: list[tuple[str, str]] = field(default_factory=list)
    ran: list[Block] = field(default_factory=list)

    def run(self, *, update: bool = False) -> None:
        """Run every block; raise AssertionError naming the page and line of the first that misbehaves.
        With ``update``, output blocks that do not match are rewritten with what the run printed."""
        last: tuple[Block, str] | None = None
        rewrites: list[tuple[Block, str]] = []
        for block in blocks(self.path):
            for d in block.directives:
                if d.startswith("replace "):
                    old, _, new = d[len("replace ") :].partition(" => ")
                    self.replacements.append((old.strip(), self.fill(new.strip(), where=block.line)))
            where = f"{self.path.name}:{block.line}"
            if block.directive("output") is not None:
                assert last is not None, f"{where}: an output block with no block run before it"
                shown = self.undo(last[1])
                if update and not matches(block.code, shown):
                    rewrites.append((block, shown))
                    continue
                assert matches(block.code, shown), (
                    f"{where}: the page shows\n{block.code}\nbut {self.path.name}:{last[0].line} printed\n{shown}"
                )
                continue
            if block.directive("skip") is not None:
                continue
            code = block.code
            for old, new in self.replacements:
                code = code.replace(old, new)
            saved_as = block.directive("file")
            if saved_as:
                (self.cwd / saved_as).write_text(code)
                self.ran.append(block)
                continue
            if block.kind is None:
                continue
            out = self.python(block, code) if block.kind == "python" else self.shell(block, code)
            last = (block, out)
            self.ran.append(block)
        if rewrites:
            lines = self.path.read_text().splitlines(keepends=True)
            for block, shown in reversed(rewrites):
                lines[block.line : block.end - 1] = [shown.strip() + "\n"]
            self.path.write_text("".join(lines))

    def fill(self, text: str, *, where: int) -> str:
        """``text`` with each ``{name}`` replaced by the test's value; other braces (a dict) stay as they are."""

        def value(match: re.Match) -> str:
            name = match.group(1)
            assert name in self.values, (
                f"{self.path.name}:{where}: `replace` names {{{name}}}, which the test does not provide"
            )
            return self.values[name]

        return re.sub(r"\{(\w+)\}", value, text)

    def undo(self, text: str) -> str:
        for old, new in reversed(self.replacements):
            text = text.replace(new, old)
        return text

    def _fail(self, block: Block, what: str) -> AssertionError:
        return AssertionError(f"{self.path.name}:{block.line}: {what}\n--- block ---\n{block.code}")

    def python(self, block: Block, code: str) -> str:
        out = io.StringIO()
        fails = block.directive("fails") is not None
        with _environ(self.env), _chdir(self.cwd), contextlib.redirect_stdout(out):
            try:
                exec(compile(code, f"{self.path.name}:{block.line}", "exec"), self.namespace)
            except Exception as exc:
                if not fails:
                    raise self._fail(block, f"raised {type(exc).__name__}: {exc}") from exc
                return f"{type(exc).__name__}: {exc}"
        if fails:
            raise self._fail(block, f"was expected to fail, but printed\n{out.getvalue()}")
        return out.getvalue()

    def shell(self, block: Block, code: str) -> str:
        fails = block.directive("fails") is not None
        stdin = (block.directive("input") or "").replace("\\n", "\n")
        login = block.directive("device-login")
        proc = subprocess.Popen(
            ["bash", "-e", "-c", code],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if login else subprocess.PIPE,  # the sign-in link is on stderr
            text=True,
            start_new_session=True,  # no controlling terminal
        )
        watchdog = threading.Timer(180, proc.kill)
        watchdog.start()
        try:
            if login:
                out, err = self._device_login(proc, stdin, *shlex.split(login)), ""
            else:
                out, err = proc.communicate(stdin)
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if fails != (proc.returncode != 0):
            raise self._fail(
                block, f"exited with {proc.returncode}\n--- stdout ---\n{out}\n--- stderr ---\n{err}"
            )
        return err if fails else out

    def _device_login(self, proc: subprocess.Popen, stdin: str, email: str, password: str) -> str:
        """Feed ``stdin``, wait for the sign-in link in the output, approve it, return all output."""
        assert self.approve is not None and proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
        lines: list[str] = []
        for line in proc.stdout:
            lines.append(line)
            link = re.search(r"https?://\S+/device\?user_code=[\w-]+", line)
            if link:
                self.approve(link.group(0), email, password)
                break
        lines.append(proc.stdout.read())
        proc.wait()
        return "".join(lines)


@contextlib.contextmanager
def _environ(env: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _chdir(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)
