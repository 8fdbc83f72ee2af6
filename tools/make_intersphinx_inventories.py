"""Write the intersphinx inventories of NumPy, SciPy and mpi4py under docs/_intersphinx/.

The documentation links to NumPy, SciPy and mpi4py objects (and a few of
Python's standard library), and builds with no
network (CI has none): instead of downloading each project's ``objects.inv``,
``docs/conf.py`` reads these small files, which list only the objects the
docs refer to, at the addresses of those projects' published documentation
(``numpy.org/doc/stable``, ``docs.scipy.org/doc/scipy``,
``mpi4py.readthedocs.io/en/stable``, ``docs.python.org/3``).

The files are in Sphinx's inventory format, version 2: four header lines,
then zlib-compressed lines ``name domain:role priority uri display-name``,
where a ``uri`` ending in ``$`` means "followed by the name" and a display
name ``-`` means "the name itself".

To link to one more object, add it to ``INVENTORIES`` below and run::

    python tools/make_intersphinx_inventories.py          # rewrites docs/_intersphinx/*.inv
    python tools/make_intersphinx_inventories.py --check  # fails if a file is out of date

``--check`` also reads each file back with Sphinx's own parser when Sphinx is
installed.
"""
import argparse
import io
import os
import posixpath
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(os.path.dirname(HERE), "docs", "_intersphinx")

def _generated(name):
    """An object with a page of its own: ``reference/generated/<name>.html#<name>``."""
    return f"reference/generated/{name}.html#$"


def _on_page(page):
    """An object documented on ``page`` (a class's members, NumPy's scalar types)."""
    return f"{page}.html#$"


_NP_SCALARS = _on_page("reference/arrays.scalars")
_NP_RANDOM = _on_page("reference/random/generator")
_COMM = _on_page("reference/mpi4py.MPI.Comm")


# project -> (version, [(name, domain:role, uri)])
INVENTORIES = {
    "python": ("3", [
        ("abc.ABC", "py:class", _on_page("library/abc")),
        ("copy.deepcopy", "py:function", _on_page("library/copy")),
        ("json.dumps", "py:function", _on_page("library/json")),
        ("pickle", "py:module", "library/pickle.html#module-pickle"),
        ("threading.Thread", "py:class", _on_page("library/threading")),
    ]),
    "numpy": ("2.4", [
        ("numpy", "py:module", "reference/index.html#module-numpy"),
        ("numpy.ndarray", "py:class", _generated("numpy.ndarray")),
        ("numpy.dtype", "py:class", _generated("numpy.dtype")),
        ("numpy.generic", "py:class", _NP_SCALARS),
        ("numpy.floating", "py:class", _NP_SCALARS),
        ("numpy.float16", "py:class", _NP_SCALARS),
        ("numpy.float32", "py:class", _NP_SCALARS),
        ("numpy.float64", "py:class", _NP_SCALARS),
        ("numpy.int64", "py:class", _NP_SCALARS),
        ("numpy.asarray", "py:function", _generated("numpy.asarray")),
        ("numpy.load", "py:function", _generated("numpy.load")),
        ("numpy.save", "py:function", _generated("numpy.save")),
        ("numpy.add", "py:data", _generated("numpy.add")),
        ("numpy.ufunc.at", "py:method", _generated("numpy.ufunc.at")),
        ("numpy.unique", "py:function", _generated("numpy.unique")),
        ("numpy.random.default_rng", "py:function", _NP_RANDOM),
        ("numpy.random.Generator", "py:class", _NP_RANDOM),
        ("numpy.lib.mixins.NDArrayOperatorsMixin", "py:class",
         _generated("numpy.lib.mixins.NDArrayOperatorsMixin")),
        ("numpy.lib.format", "py:module",
         "reference/generated/numpy.lib.format.html#module-numpy.lib.format"),
        ("array_like", "std:term", "glossary.html#term-array_like"),
    ]),
    "scipy": ("1.17", [
        ("scipy.sparse", "py:module", "reference/sparse.html#module-scipy.sparse"),
        ("scipy.sparse.csr_matrix", "py:class", _generated("scipy.sparse.csr_matrix")),
        ("scipy.sparse.csr_array", "py:class", _generated("scipy.sparse.csr_array")),
        ("scipy.sparse.csc_matrix", "py:class", _generated("scipy.sparse.csc_matrix")),
        ("scipy.sparse.coo_matrix", "py:class", _generated("scipy.sparse.coo_matrix")),
        ("scipy.sparse.coo_array", "py:class", _generated("scipy.sparse.coo_array")),
        ("scipy.sparse.issparse", "py:function", _generated("scipy.sparse.issparse")),
        ("scipy.sparse.random", "py:function", _generated("scipy.sparse.random")),
        ("scipy.optimize.minimize", "py:function", _generated("scipy.optimize.minimize")),
        ("scipy.special.expit", "py:data", _generated("scipy.special.expit")),
    ]),
    "mpi4py": ("4.1", [
        ("mpi4py", "py:module", "mpi4py.html#module-mpi4py"),
        ("mpi4py.MPI", "py:module", "reference/mpi4py.MPI.html#module-mpi4py.MPI"),
        ("mpi4py.MPI.Comm", "py:class", _COMM),
        ("mpi4py.MPI.Intracomm", "py:class", _on_page("reference/mpi4py.MPI.Intracomm")),
        ("mpi4py.MPI.Comm.Allreduce", "py:method", _COMM),
        ("mpi4py.MPI.Comm.Allgatherv", "py:method", _COMM),
        ("mpi4py.MPI.Comm.Bcast", "py:method", _COMM),
        ("mpi4py.MPI.Comm.Get_rank", "py:method", _COMM),
        ("mpi4py.MPI.Comm.Get_size", "py:method", _COMM),
        ("mpi4py.MPI.COMM_WORLD", "py:data", _on_page("reference/mpi4py.MPI.COMM_WORLD")),
    ]),
}

# Sphinx's search priorities: modules 0, glossary terms -1, other objects 1.
PRIORITY = {"py:module": 0, "std:term": -1}
NAMES = {"python": "Python", "numpy": "NumPy", "scipy": "SciPy", "mpi4py": "MPI for Python"}


def inventory_bytes(project, version, entries):
    """The ``objects.inv`` file of ``entries`` (Sphinx inventory version 2)."""
    header = io.StringIO()
    header.write("# Sphinx inventory version 2\n")
    header.write(f"# Project: {NAMES[project]}\n")
    header.write(f"# Version: {version}\n")
    header.write("# The remainder of this file is compressed using zlib.\n")
    body = "".join(f"{name} {role} {PRIORITY.get(role, 1)} {uri} -\n"
                   for name, role, uri in sorted(entries, key=lambda e: (e[1], e[0])))
    return header.getvalue().encode("utf-8") + zlib.compress(body.encode("utf-8"), 9)


def entries_of(data):
    """The header and the uncompressed lines of an inventory file's bytes."""
    lines = data.split(b"\n", 4)
    return b"\n".join(lines[:4]).decode("utf-8"), zlib.decompress(lines[4]).decode("utf-8")


def check_with_sphinx(path, base):
    """Read ``path`` with Sphinx's parser; return {(role, name): url}."""
    from sphinx.util.inventory import InventoryFile

    with open(path, "rb") as f:
        inventory = InventoryFile.load(f, base, posixpath.join)
    return {(role, name): item.uri if hasattr(item, "uri") else item[2]    # Sphinx < 8.2
            for role, objects in inventory.items() for name, item in objects.items()}


BASES = {"python": "https://docs.python.org/3",
         "numpy": "https://numpy.org/doc/stable",
         "scipy": "https://docs.scipy.org/doc/scipy",
         "mpi4py": "https://mpi4py.readthedocs.io/en/stable"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="folder of the .inv files")
    parser.add_argument("--check", action="store_true",
                        help="compare the files with what this script writes; change nothing")
    args = parser.parse_args(argv)
    stale = []
    for project, (version, entries) in INVENTORIES.items():
        path = os.path.join(args.out, f"{project}.inv")
        data = inventory_bytes(project, version, entries)
        if args.check:
            try:
                with open(path, "rb") as f:
                    current = f.read()
            except FileNotFoundError:
                stale.append(f"{path}: missing")
                continue
            if entries_of(current) != entries_of(data):
                stale.append(f"{path}: out of date")
                continue
            try:
                found = check_with_sphinx(path, BASES[project])
            except ImportError:
                continue
            if len(found) != len(entries):
                stale.append(f"{path}: Sphinx reads {len(found)} of {len(entries)} objects")
            continue
        os.makedirs(args.out, exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        print(f"{path}: {len(entries)} objects")
    if stale:
        print("\n".join(stale), file=sys.stderr)
        print("run: python tools/make_intersphinx_inventories.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
