"""Every `colorize` command the README and docs/ show is one the commands accept as written: its flags exist, its
values pass their checks (numbers, choices, the recipe's rules, Beam's option names). What a command reads (a
user's photos/, a gs:// bucket) is not there; the parsing is what a reader copies and what can go stale."""
import glob
import os
import re
import shlex

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = [os.path.join(ROOT, "README.md"), *sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))),
         os.path.join(ROOT, "bench", "train_default_model.sh")]


def shown_commands():
    """(page, line, argv) for every `colorize COMMAND ...` in an indented code block (continued lines joined),
    and inside `a && b` chains; not the synopses, whose [optional] parts and a|b choices are not commands."""
    found = []
    for page in PAGES:
        lines = open(page, encoding="utf-8").read().split("\n")
        i = 0
        while i < len(lines):
            start, text = i, lines[i]
            while text.endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text[:-1] + " " + lines[i].strip().lstrip("#").strip()  # a commented-out command too
            i += 1
            body = text.strip().lstrip("# ")
            indented = text.startswith("    ") or page.endswith(".sh")
            for part in re.split(r"\s*&&\s*", body):
                if indented and part.startswith("colorize ") and not re.search(r"\[|\]|\|", part):
                    found.append((os.path.relpath(page, ROOT), start + 1, shlex.split(part.replace("$", "X"))[1:]))
    return found


COMMANDS = shown_commands()


def test_the_pages_show_every_command():
    assert {argv[0] for _, _, argv in COMMANDS} == {"run", "preprocess", "train", "evaluate"}
    assert len(COMMANDS) >= 20


@pytest.mark.parametrize("page, line, argv", COMMANDS, ids=[f"{p}:{n}" for p, n, _ in COMMANDS])
def test_a_command_the_pages_show_is_accepted_as_written(page, line, argv):
    from commands import evaluate, preprocess, run, train
    command, rest = argv[0], argv[1:]
    if command == "run":
        run.options(rest)
    elif command == "preprocess":
        preprocess.options(rest)
    elif command == "train":
        train.recipe_of(train.parse_args(rest))
    else:
        evaluate.parse_args(rest)
