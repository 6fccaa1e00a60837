"""README.md and docs/*.md are true for the current code (issue 13).

- every ``geospace ...`` command they show (in ``sh`` blocks and inline code) names subcommands and
  flags that exist, and its ``--help`` runs (exit 0) and lists each documented flag; so does every
  ``python -m MODULE`` (the relay process) and ``python bench/SCRIPT.py`` they show;
- every ``make`` target they show exists in the Makefile;
- every output path they document (``OUT/...``, ``out/...``; ``<placeholders>`` as wildcards)
  exists in an output folder like the demo's (the ``demo_products`` fixture), except the few that
  only other commands write (listed with the command in :data:`WRITTEN_ELSEWHERE`);
- every relative link between the documents points at a file;
- the figures of docs/science.md and the team guides are the ones in the rule files and profile.
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from flows.cli import build_parser, main
from flows.progress import JSON_KEYS

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# Paths the docs mention that the demo does not write; each is written by the command named.
WRITTEN_ELSEWHERE = {
    "layers": "geospace layers fetch (network)",
    "bench": "geospace bench",
    "backtest": "geospace backtest",
    ".prefect": "a Prefect run under --out (the fixture runs the flows' bodies without Prefect)",
}


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _blocks(text: str) -> list[str]:
    """Lines of ```sh code blocks."""
    lines: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        lines += block.splitlines()
    return lines


def documented_commands() -> list[tuple[str, list[str]]]:
    """(document, argv) of every geospace command shown in README.md and docs/."""
    found: list[tuple[str, list[str]]] = []
    for path in DOCS:
        text = _text(path)
        candidates = _blocks(text) + re.findall(r"`(geospace [^`]+)`", text)
        for line in candidates:
            line = line.split("#", 1)[0].strip().removeprefix(".venv/bin/")
            if not line.startswith("geospace ") or re.match(r"geospace [\w ]+: ", line):
                continue  # not a command, or a command's output (`geospace run ...: Completed`)
            line = line.split(" | jq", 1)[0]
            head, *alternatives = [part.strip() for part in line.split(" | ")]
            words = shlex.split(head.replace("[", " ").replace("]", " "))[1:]
            if not words or words[0].isupper():
                continue  # `geospace COMMAND --help`: a placeholder
            found.append((path.name, words))
            actions = _subparsers(_subparsers(build_parser()).get(words[0], build_parser()))
            for alternative in alternatives:  # "alerts show ID | approve ID --by NAME"
                more = shlex.split(alternative)
                if more and more[0] in actions:  # else a shell pipe (`| head`)
                    found.append((path.name, [words[0], *more]))
    return found


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


COMMANDS = documented_commands()


def _command_path(argv: list[str]) -> tuple[list[str], argparse.ArgumentParser, list[str]]:
    """The subcommand words of ``argv``, the parser they lead to, and the flags used."""
    parser = build_parser()
    path: list[str] = []
    rest = list(argv)
    while rest and (choices := _subparsers(parser)) and rest[0] in choices:
        parser = choices[rest[0]]
        path.append(rest.pop(0))
    assert path, f"{argv}: no such geospace command"
    choice_args = [a for a in parser._actions if a.choices and not a.option_strings]
    for action in choice_args:  # `run vegetation|heat|deformation`
        if rest and not rest[0].startswith("-"):
            assert rest[0] in action.choices, f"{argv}: {rest[0]!r} not in {list(action.choices)}"
    flags = [w.split("=", 1)[0] for w in rest if w.startswith("--")]
    return path, parser, flags


def test_the_documents_show_commands() -> None:
    shown = {" ".join(_command_path(argv)[0]) for _, argv in COMMANDS}
    for command in ("demo", "run", "alerts list", "alerts approve", "deliver", "serve", "bench"):
        assert command in shown, f"no document shows `geospace {command}`"


@pytest.mark.parametrize(
    ("document", "argv"), COMMANDS, ids=[f"{d}:{' '.join(a)}" for d, a in COMMANDS]
)
def test_documented_command_exists_with_its_flags(
    document: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, parser, flags = _command_path(argv)
    known = {s for a in parser._actions for s in a.option_strings} | {"--debug"}
    for flag in flags:
        assert flag in known, f"{document}: `geospace {' '.join(argv)}`: {flag} does not exist"
    assert main([*path, "--help"]) == 0
    help_text = capsys.readouterr().out
    for flag in set(flags) - {"--debug"}:
        assert flag in help_text, f"{flag} missing from `geospace {' '.join(path)} --help`"


PYTHON_COMMAND = re.compile(r"(?:\.venv/bin/)?python (-m [\w.]+|bench/\w+\.py)([^`\n#]*)")


def documented_python_commands() -> list[tuple[str, str, tuple[str, ...]]]:
    """(document, module or script, flags) of every ``python -m ...`` / ``python bench/...`` shown."""
    found: set[tuple[str, str, tuple[str, ...]]] = set()
    for path in DOCS:
        for target, rest in PYTHON_COMMAND.findall(_text(path)):
            flags = tuple(w.split("=", 1)[0] for w in shlex.split(rest) if w.startswith("--"))
            found.add((path.name, target, flags))
    return sorted(found)


PYTHON_COMMANDS = documented_python_commands()


def test_the_documents_show_the_relay_process() -> None:
    assert any(t == "-m alerts.outbox" for _, t, _ in PYTHON_COMMANDS)


@pytest.mark.parametrize(
    ("document", "target", "flags"), PYTHON_COMMANDS,
    ids=[f"{d}:{t} {' '.join(f)}" for d, t, f in PYTHON_COMMANDS],
)  # fmt: skip
def test_documented_python_command_exists_with_its_flags(
    document: str, target: str, flags: tuple[str, ...]
) -> None:
    import subprocess
    import sys

    argv = [sys.executable, *target.split(), "--help"]
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{document}: python {target} --help: {result.stderr[-500:]}"
    for flag in flags:
        assert flag in result.stdout, f"{document}: python {target}: {flag} does not exist"


def test_documented_make_targets_exist() -> None:
    makefile = _text(REPO / "Makefile")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, flags=re.M))
    for path in DOCS:
        for target in re.findall(r"`make ([a-z][\w-]*)`", _text(path)) + [
            line.split()[1] for line in _blocks(_text(path)) if line.startswith("make ")
        ]:
            assert target in targets, f"{path.name}: make {target} is not a Makefile target"


def documented_paths() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        for match in re.findall(r"\b(?:OUT|out)/(?:[\w.{},/-]|<[^>]*>)*", _text(path)):
            rel = match.split("/", 1)[1].rstrip(".,")
            if rel:
                found.append((path.name, rel))
    return sorted(set(found))


PATHS = documented_paths()


def test_the_documents_name_output_paths() -> None:
    tops = {rel.split("/")[0] for _, rel in PATHS}
    assert {"vegetation", "heat", "deformation", "alerts", "index.html"} <= tops


@pytest.mark.slow
@pytest.mark.parametrize(("document", "rel"), PATHS, ids=[f"{d}:{r}" for d, r in PATHS])
def test_documented_output_path_exists_after_the_demo(
    document: str, rel: str, demo_products: Path
) -> None:
    if rel.split("/")[0] in WRITTEN_ELSEWHERE:
        pytest.skip(f"written by {WRITTEN_ELSEWHERE[rel.split('/')[0]]}")
    pattern = re.sub(r"<[^>]+>", "*", rel).rstrip("/")
    if "{" in pattern:  # {parks,districts}.gpkg
        head, tail = pattern.split("{", 1)
        options, rest = tail.split("}", 1)
        patterns = [head + o.strip() + rest for o in options.split(",")]
    else:
        patterns = [pattern]
    for each in patterns:
        assert list(demo_products.glob(each)), f"{document}: OUT/{rel} is not in a demo's output"


PRODUCT_TABLES = {"parks.md": "vegetation", "health.md": "heat", "infrastructure.md": "deformation"}


@pytest.mark.slow
@pytest.mark.parametrize("document", sorted(PRODUCT_TABLES))
def test_files_in_a_team_guide_exist_in_its_product_folders(
    document: str, demo_products: Path
) -> None:
    text = _text(REPO / "docs" / document)
    names = [n for row in re.findall(r"^\| (`[^|]+`) \|", text, flags=re.M)
             for n in re.findall(r"`([^`]+)`", row)]  # fmt: skip
    assert names, f"{document} has no table of product files"
    folders = [p for p in (demo_products / PRODUCT_TABLES[document]).iterdir() if p.is_dir()]
    for name in names:
        pattern = re.sub(r"<[^>]+>", "*", name)
        assert any(list(f.glob(pattern)) for f in folders), f"{document}: {name} is never written"


def test_relative_links_point_at_files() -> None:
    for path in DOCS:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", _text(path)):
            assert (path.parent / target).exists(), f"{path.name}: link {target} is broken"


def _figure(value: float) -> str:
    return f"{value:.2f}"


def test_science_figures_are_the_rule_files_and_profile() -> None:
    from alerts.decide.policy import load_policy
    from alerts.policies import read_policy
    from core.profile import load_profile

    science = _text(REPO / "docs" / "science.md")
    priority = read_policy("irrigation_priority").raw
    classes = {k: float(str(v).split()[0]) for k, v in priority["classes"].items()}
    assert (
        f"urgent from {_figure(classes['urgent'])}, high from\n  {_figure(classes['high'])}, "
        f"watch from {_figure(classes['watch'])}"
    ) in science
    assert f"`{priority['version']}`" in science
    irrigation = load_policy("irrigation")
    assert f"`{irrigation.version}`: urgent in {irrigation.persistence_k} of the last " in science
    heat = load_policy("heat")
    levels = dict(heat.levels)
    assert f"`{heat.version}`: level 3 from {levels[3]:g} degC" in science
    assert f"level 4 from {levels[4]:g} degC" in science
    deformation = load_policy("deformation")
    levels = dict(deformation.levels)
    assert f"`{deformation.version}` at {levels[3]:g} mm/yr (level 3) and {levels[4]:g}" in science
    distortion = load_policy("deformation_distortion")
    levels = dict(distortion.levels)
    assert f"`{distortion.version}` at angular distortion 1/{1 / levels[3]:.0f}" in science
    assert f"1/{1 / levels[4]:.0f} (level 4)" in science
    hotspots = read_policy("heat_hotspots").raw
    assert f"at most {hotspots['merge_gap']} apart" in science
    assert f"`{hotspots['version']}`" in science
    assert f"under {hotspots['min_area']}" in science
    vienna = load_profile("vienna", out_dir=REPO / "never-written")
    veg = vienna.vegetation
    assert f"clear fraction below {float(veg.min_clear_fraction) * 100:.0f} %" in science
    assert f"fewer than {veg.min_clear_dates} clear dates" in science
    parks = _text(REPO / "docs" / "parks.md")
    assert f"less than {float(veg.min_clear_fraction) * 100:.0f} % of it" in parks
    assert f"on fewer than {veg.min_clear_dates} clear dates" in parks
    years = veg.reference_years
    assert f"reference years ({min(years)}-{max(years)}" in science
    assert f"{int(vienna.heat.lst_window)} days on `vienna`" in science  # type: ignore[union-attr]


def test_operations_lists_the_json_keys() -> None:
    operations = _text(REPO / "docs" / "operations.md")
    for key in JSON_KEYS:
        assert f"`{key}`" in operations
