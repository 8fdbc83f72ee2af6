"""Render math as MathML at build time, so pages need no script and no network.

A Sphinx HTML math renderer: every ``:math:`` role and ``.. math::`` block is
converted from LaTeX to MathML with ``latex2mathml`` (pure Python) when the
page is written.  Browsers display MathML natively (MathML Core), so a page
works offline, opened from disk, with no JavaScript.

Select it in ``conf.py``::

    extensions = [..., "mathml"]
    html_math_renderer = "mathml"

A formula that ``latex2mathml`` cannot convert, or converts only in part (an
unknown command is passed through as text), is reported as a warning at its
source location, so ``sphinx-build -W`` stops on it instead of publishing raw
TeX.
"""
import html
import re

from docutils import nodes
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

logger = logging.getLogger(__name__)

# ``aligned`` is not one of latex2mathml's environments; ``split`` is, with the
# same meaning inside a display.
_RENAMED_ENVIRONMENTS = {r"\begin{aligned}": r"\begin{split}",
                         r"\end{aligned}": r"\end{split}"}

# Traces of TeX that was not converted: a command kept as an identifier, or an
# alignment mark outside a table.
_UNCONVERTED = re.compile(r"<m[io][^>]*>(\\[A-Za-z]+|&amp;|&)</m[io]>")


class MathMLError(ValueError):
    """A formula that cannot be rendered faithfully."""


def tex_to_mathml(tex, display=False):
    """Return the ``<math>`` element for the LaTeX ``tex``.

    Raises `MathMLError` when the formula cannot be converted, or when the
    result still holds TeX (an unknown command or a stray ``&``).
    """
    from latex2mathml.converter import convert

    source = tex.strip()
    for old, new in _RENAMED_ENVIRONMENTS.items():
        source = source.replace(old, new)
    try:
        markup = convert(source, display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises several exception types
        raise MathMLError(f"cannot convert {tex!r} to MathML: {exc}") from exc
    leftover = _UNCONVERTED.search(markup)
    if leftover:
        raise MathMLError(
            f"{html.unescape(leftover.group(1))!r} is not converted to MathML in {tex!r}")
    # The source as alternative text: read by screen readers, and shown by
    # the few browsers that do not render MathML.
    alt = html.escape(" ".join(tex.split()), quote=True)
    return markup.replace("<math ", f'<math alttext="{alt}" ', 1)


def _parts(text):
    """The equations of a math block: paragraphs separated by blank lines."""
    return [part.strip() for part in re.split(r"\n\s*\n", text) if part.strip()]


def _with_lines(part):
    r"""Wrap an equation written on several lines (``\\``) in ``split``."""
    if "\\\\" in part and r"\begin{" not in part:
        return r"\begin{split}" + part + r"\end{split}"
    return part


def _convert(translator, node, tex, display):
    try:
        return tex_to_mathml(tex, display=display)
    except MathMLError as exc:
        logger.warning("%s", exc, location=node, type="mathml")
        return '<code class="math-error">%s</code>' % translator.encode(tex)


def visit_math(translator, node):
    """``:math:`...``` inside a paragraph."""
    translator.body.append(translator.starttag(node, "span", "", CLASS="math notranslate"))
    translator.body.append(_convert(translator, node, node.astext(), display=False))
    translator.body.append("</span>")
    raise nodes.SkipNode


def visit_math_block(translator, node):
    """``.. math::``: one block equation per paragraph of the directive."""
    translator.body.append(translator.starttag(node, "div", CLASS="math notranslate"))
    if node["number"]:
        number = get_node_equation_number(translator, node)
        translator.body.append('<span class="eqno">(%s)' % number)
        translator.add_permalink_ref(node, _("Link to this equation"))
        translator.body.append("</span>")
    for part in _parts(node.astext()):
        translator.body.append(_convert(translator, node, _with_lines(part), display=True))
    translator.body.append("</div>\n")
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer("mathml", (visit_math, None), (visit_math_block, None))
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
