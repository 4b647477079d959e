"""Reads a Dockerfile into stages and instructions, and decides .dockerignore matches.

There is no Docker engine here, so the image tests read deploy/Dockerfile the
way BuildKit's parser does for the constructs it uses: `\\` line continuations,
`#` comments, here-documents (`<<EOF` / `<<'EOF'` / `<<-EOF`), ARG defaults
before the first FROM substituted into FROM, JSON (exec) and shell forms.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

_HEREDOC = re.compile(r"<<-?(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


@dataclass
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ...
    arguments: str  # the rest of the line, continuations joined
    heredocs: list[str] = field(default_factory=list)

    def exec_form(self) -> list[str] | None:
        """The JSON array of CMD/ENTRYPOINT/RUN in exec form, else None."""
        text = self.arguments.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                return None
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return value
        return None

    def flags_and_words(self) -> tuple[dict[str, str], list[str]]:
        """`--flag=value` options first, then the remaining words (COPY, ADD, FROM)."""
        words = self.arguments.split()
        flags: dict[str, str] = {}
        while words and words[0].startswith("--"):
            key, _, value = words.pop(0)[2:].partition("=")
            flags[key] = value
        return flags, words


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


def parse(path: Path) -> list[Stage]:
    lines = path.read_text().splitlines()
    instructions: list[Instruction] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts = [stripped]
        while parts[-1].endswith("\\") and index < len(lines):
            parts[-1] = parts[-1][:-1]
            following = lines[index].strip()
            index += 1
            if following.startswith("#"):
                parts.append("\\")  # a comment inside a continuation is skipped
                continue
            parts.append(following)
        text = " ".join(p for p in parts if p != "\\").strip()
        keyword, _, arguments = text.partition(" ")
        instruction = Instruction(keyword.upper(), arguments.strip())
        for match in _HEREDOC.finditer(arguments):
            body = []
            while index < len(lines) and lines[index].strip() != match.group(2):
                body.append(lines[index])
                index += 1
            if index == len(lines):
                raise ValueError(f"{path}: here-document {match.group(2)} is not closed")
            index += 1
            instruction.heredocs.append("\n".join(body) + "\n")
        instructions.append(instruction)

    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "ARG" and not stages:
            name, _, default = instruction.arguments.partition("=")
            global_args[name.strip()] = default.strip()
        elif instruction.keyword == "FROM":
            _, words = instruction.flags_and_words()
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=base, name=name, instructions=[]))
        elif stages:
            stages[-1].instructions.append(instruction)
        else:
            raise ValueError(f"{path}: {instruction.keyword} before the first FROM")
    return stages


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Is `path` (relative, with /) left out of the build context?

    Docker's rules: patterns in order, the last one that matches decides, `!`
    re-includes; a pattern matches a path or any of its parent directories;
    `**` matches any number of directories.
    """
    excluded = False
    candidates = [path]
    parts = path.split("/")
    candidates += ["/".join(parts[:i]) for i in range(1, len(parts))]
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        pattern = pattern.strip().strip("/")
        if pattern.startswith("./"):
            pattern = pattern[2:]
        regex = _pattern_regex(pattern)
        if any(regex.fullmatch(candidate) for candidate in candidates):
            excluded = not negate
    return excluded


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            members = pattern[i + 1 : end]
            if members.startswith(("!", "^")):
                members = "^" + members[1:]
            out += "[" + members.replace("\\", "\\\\") + "]"
            i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def read_dockerignore(path: Path) -> list[str]:
    return [
        line.strip()
        for line in path.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
