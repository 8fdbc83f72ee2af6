"""The guide's code examples run as they are written."""
import pathlib
import textwrap

import pytest

GUIDE = pathlib.Path(__file__).resolve().parent.parent / "docs" / "guide.rst"


def code_blocks(path):
    """The literal blocks (after a line ending in ``::``) that import the package."""
    lines = path.read_text().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].rstrip().endswith("::"):
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            body = []
            while j < len(lines) and (not lines[j].strip() or lines[j].startswith("    ")):
                body.append(lines[j])
                j += 1
            code = textwrap.dedent("\n".join(body))
            if "import optimizers" in code:
                blocks.append(code)
            i = j
        else:
            i += 1
    return blocks


@pytest.mark.skipif(not GUIDE.exists(), reason="the docs are not beside the tests")
def test_guide_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = code_blocks(GUIDE)
    assert blocks, "the guide has no runnable example"
    for code in blocks:
        namespace = {}
        exec(compile(code, str(GUIDE), "exec"), namespace)
    manager = namespace["manager"]
    assert [p.rsplit("/", 1)[-1] for p in manager.checkpoints] == ["ckpt-8", "ckpt-9",
                                                                    "ckpt-10"]
