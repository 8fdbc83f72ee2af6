"""The code examples of the docs run as they are written.

Every literal block (after a line ending in ``::``) of the landing page and
of the guide that imports the package is an example, run here in a fresh
namespace from an empty folder.  A block whose first line is
``# mpiexec -n 2 python <file>`` is saved as that file and run under
``mpiexec -n 2`` (skipped without mpi4py or mpiexec, as in
test_distribute.py).
"""
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

from conftest import mpiexec

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
INDEX, GUIDE = DOCS / "index.rst", DOCS / "guide.rst"
MPI_COMMAND = re.compile(r"# mpiexec -n (\d+) python (\S+\.py)$")

# The examples each page must have, by section title.
GUIDE_EXAMPLES = [
    "Training an embedding model",
    "Logistic regression on sparse features with Ftrl",
    "Learning-rate schedules",
    "Complex variables",
    "Mixed precision",
    "Threads",
    "Several processes (MPI)",
    "Saving and resuming training",
    "Moving averages and gradient accumulation",
    "Writing an optimizer as in TensorFlow 2.4",
]
INDEX_EXAMPLES = ["Quick start"]

needs_docs = pytest.mark.skipif(not GUIDE.exists(), reason="the docs are not beside the tests")


def examples(path):
    """``[(section title, code)]``: the literal blocks that import the package."""
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    found, title, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        if (i + 1 < len(lines) and line.strip() and not line.startswith(" ")
                and re.fullmatch(r"([-=~^])\1+", lines[i + 1].strip())
                and len(lines[i + 1].strip()) >= len(line.strip())):
            title = line.strip()
        if line.rstrip().endswith("::") and not line.lstrip().startswith(".."):
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            body = []
            while j < len(lines) and (not lines[j].strip() or lines[j].startswith("    ")):
                body.append(lines[j])
                j += 1
            code = textwrap.dedent("\n".join(body)).strip("\n") + "\n"
            if "import optimizers" in code:
                found.append((title, code))
            i = j
        else:
            i += 1
    return found


def _params(path):
    return [pytest.param(title, code, id=re.sub(r"\W+", "-", title).strip("-").lower())
            for title, code in examples(path)]


def run_under_mpiexec(code, folder):
    """Save ``code`` as the file its first line names and run it as that line says."""
    ranks, filename = MPI_COMMAND.match(code.splitlines()[0]).groups()
    (folder / filename).write_text(code)
    import optimizers

    env = dict(os.environ, OMP_NUM_THREADS="1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(optimizers.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    command = [mpiexec(), "-n", ranks, sys.executable, filename]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env,
                          cwd=folder)
    assert proc.returncode == 0, f"{' '.join(command)}\n{proc.stdout}\n{proc.stderr}"
    return int(ranks), proc.stdout


@pytest.fixture(autouse=True)
def default_threads():
    """The threads example sets the kernels' thread count; put the default back."""
    yield
    import optimizers

    optimizers.set_num_threads(None)


def run(code, path):
    namespace = {"__name__": "__main__"}
    exec(compile(code, str(path), "exec"), namespace)
    return namespace


@needs_docs
def test_every_example_is_found():
    assert [title for title, _ in examples(GUIDE)] == GUIDE_EXAMPLES
    assert [title for title, _ in examples(INDEX)] == INDEX_EXAMPLES


@needs_docs
@pytest.mark.parametrize("title, code", _params(INDEX))
def test_landing_page_example(title, code, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run(code, INDEX)
    printed = capsys.readouterr().out.strip()
    shown = re.search(r"print\(.*\)\s+# (.*)$", code.strip().splitlines()[-1]).group(1)
    assert printed.split() == shown.split()          # prints what the comment says


@needs_docs
@pytest.mark.parametrize("title, code", _params(GUIDE))
def test_guide_example(title, code, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    if MPI_COMMAND.match(code.splitlines()[0]):
        ranks, out = run_under_mpiexec(code, tmp_path)
        assert out.startswith(f"{ranks} ranks: loss "), out
        assert out.strip().endswith("identical replicas"), out
        return
    namespace = run(code, GUIDE)
    printed = capsys.readouterr().out
    if title == "Saving and resuming training":
        manager = namespace["manager"]
        assert [p.rsplit("/", 1)[-1] for p in manager.checkpoints] == [
            "ckpt-8", "ckpt-9", "ckpt-10"]
    elif title == "Training an embedding model":
        assert len(namespace["losses"]) == 5 and printed.count("mean squared error") == 5
    elif title == "Moving averages and gradient accumulation":
        assert printed.startswith("optimizer steps: 5 after 20 calls")
    elif title == "Writing an optimizer as in TensorFlow 2.4":
        assert printed.startswith("custom optimizer == optimizers.SGD:")
    elif title == "Logistic regression on sparse features with Ftrl":
        assert printed.count("log loss") == 3
    elif title == "Mixed precision":
        losses = namespace["losses"]
        assert losses[-1] < losses[0] / 2
        assert printed.strip().splitlines()[-1] == "skipped: True scale 16384.0 iterations 1"


# ---------------------------------------------------------------------- #
# The machinery of the docs build: the MathML renderer and the inventories
def _load(path, name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_docs
def test_math_is_rendered_as_mathml_and_unknown_tex_is_an_error():
    pytest.importorskip("latex2mathml", reason='latex2mathml is not installed '
                        '(pip install ".[docs]")')
    pytest.importorskip("sphinx", reason='Sphinx is not installed (pip install ".[docs]")')
    mathml = _load(DOCS / "_ext" / "mathml.py", "docs_mathml")
    markup = mathml.tex_to_mathml(r"\frac{\eta\, m}{\sqrt{v} + \hat\epsilon}", display=True)
    assert markup.startswith('<math alttext="') and 'display="block"' in markup
    assert "<mfrac>" in markup and "<msqrt>" in markup and "\\" not in markup.split(">", 1)[1]
    lines = mathml.tex_to_mathml(r"\begin{aligned} a &= b \\ c &= d \end{aligned}")
    assert "<mtable" in lines
    for bad in (r"\notacommand{x}", r"a &= b"):
        with pytest.raises(mathml.MathMLError):
            mathml.tex_to_mathml(bad)


def test_intersphinx_inventories_are_current():
    tool = DOCS.parent / "tools" / "make_intersphinx_inventories.py"
    if not tool.exists():
        pytest.skip("the tools are not beside the tests")
    proc = subprocess.run([sys.executable, str(tool), "--check"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
