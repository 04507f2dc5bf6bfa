"""The README's Layout section names every source file with its job, and
names nothing that does not exist: a file added without a line there, or
removed without its line, fails here."""
import os
import re

from ipt import ROOT

WALKED = ("bpf", "include", "src", "tests", "vmlinux", ".ci", "dist", "docs")
TOP_FILES = ("Makefile",)
# data, not code: listed as a folder
DATA_DIRS = ("tests/fixtures/",)
IGNORED_DIRS = {"__pycache__"}


def _layout_lines():
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    m = re.search(r"^## Layout\n(.*?)^## ", text, re.S | re.M)
    assert m, "README.md has no '## Layout' section"
    block = re.search(r"```\n(.*?)```", m.group(1), re.S)
    assert block, "the Layout section has no code block"
    return [ln for ln in block.group(1).splitlines() if ln.strip()]


def _listed():
    """path -> its job, for the lines that start with a path"""
    out = {}
    for ln in _layout_lines():
        if ln.startswith(" "):
            continue        # a job's continuation line
        path, _, job = ln.partition(" ")
        assert job.strip(), "README Layout: '%s' has no job" % path
        out[path] = job.strip()
    return out


def _tree():
    files = set()
    for top in WALKED:
        for d, dirs, names in os.walk(os.path.join(ROOT, top)):
            dirs[:] = [x for x in dirs if x not in IGNORED_DIRS]
            for n in names:
                files.add(os.path.relpath(os.path.join(d, n), ROOT))
    return files | {f for f in TOP_FILES
                    if os.path.exists(os.path.join(ROOT, f))}


def _covered(path, listed):
    """a file is covered by its own line, a data file by its folder's"""
    return path in listed or any(
        path.startswith(d) and d in listed for d in DATA_DIRS)


def test_layout_lists_no_code_folder():
    folders = [p for p in _listed() if p.endswith("/")]
    assert set(folders) <= set(DATA_DIRS), \
        "a folder stands for its files only for data: %s" % folders


def test_layout_names_every_file():
    listed = _listed()
    missing = sorted(p for p in _tree() if not _covered(p, listed))
    assert not missing, "README Layout lacks: %s" % ", ".join(missing)


def test_layout_names_only_what_exists():
    stale = sorted(p for p in _listed()
                   if not os.path.exists(os.path.join(ROOT, p)))
    assert not stale, "README Layout names missing files: %s" % ", ".join(stale)
