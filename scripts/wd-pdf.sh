#!/usr/bin/env bash
# Build the PDF of the Working Draft, docs/_build/latex/openlic-wd.pdf: the normative
# text of spec/*.rst (the toctree of docs/wd/index.rst; latex_documents in
# docs/conf.py), without the user guide, which stays HTML only.
#
#   bash scripts/wd-pdf.sh
#
# It installs the TeX packages it needs from Debian when they are missing (as root;
# otherwise it prints the apt-get command and stops): about 110 MB to download, 360 MB
# on disk. It then sets up .venv with the docs extra (scripts/_env.sh), runs the Sphinx
# LaTeX builder with warnings as errors, as for the HTML, and latexmk (xelatex), and
# prints the path and the page count of the PDF. It fails when a character of the WD has
# no glyph in the fonts. The same build by hand, with the packages installed:
#   .venv/bin/python -m sphinx -M latexpdf docs docs/_build
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"

# xelatex (texlive-xetex) with the GNU FreeFont faces (fonts-freefont-otf), Sphinx's
# fonts for xelatex, which have every character of the WD; the LaTeX packages that
# Sphinx's style files load (texlive-latex-recommended, texlive-latex-extra and
# texlive-fonts-recommended, for the pzdr font of hyperref under xelatex); latexmk,
# which runs xelatex as often as the cross-references need.
PACKAGES=(
    latexmk texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended
    texlive-xetex fonts-freefont-otf
)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for pkg in "${PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] || missing+=("$pkg")
    done
elif ! command -v xelatex >/dev/null 2>&1 || ! command -v latexmk >/dev/null 2>&1; then
    _say "error: xelatex or latexmk not found, and this is not a Debian system (no dpkg-query)."
    _say "Install TeX Live with xelatex, latexmk and the packages Sphinx needs"
    _say "(https://www.sphinx-doc.org/en/master/usage/builders/#sphinx.builders.latex.LaTeXBuilder)"
    _say "and the GNU FreeFont fonts (FreeSerif, FreeSans, FreeMono), then run this again."
    exit 1
fi
if ((${#missing[@]})); then
    install="apt-get install -y --no-install-recommends ${missing[*]}"
    if [ "$(id -u)" != 0 ]; then
        _say "error: the PDF needs these Debian packages, which are not installed:"
        _say "  ${missing[*]}"
        _say "Install them as root, then run this script again:"
        _say "  sudo apt-get update && sudo $install"
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        _say "error: apt-get not found; install these packages: ${missing[*]}"
        exit 1
    fi
    _say "Installing the TeX packages with apt-get (about 110 MB): ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; }; then
        _say "error: $install failed"
        exit 1
    fi
fi

openlic_env docs
cd "$ROOT"
OUT=docs/_build/latex
NAME=openlic-wd

# -E: read every source again, since the generated tables also depend on the extensions
# in docs/_ext, which Sphinx does not track. nice: the build leaves the CPU to other
# work on the machine (a training run, say).
_say "== sphinx-build -b latex ($OUT)"
nice -n 10 "$VENV/bin/python" -m sphinx -W -E -q -b latex -d docs/_build/doctrees docs "$OUT"

_say "== latexmk (xelatex) $OUT/$NAME.tex"
rm -f "$OUT/$NAME.pdf"
# The options of Sphinx's docs/_build/latex/Makefile; LATEXOPTS and XINDYOPTS are read by
# the latexmkrc that Sphinx writes there (no index, so xindy does not run).
if ! (cd "$OUT" && LATEXOPTS="-interaction=nonstopmode -halt-on-error" XINDYOPTS="" \
    nice -n 10 latexmk -pdf -dvi- -ps- -silent "$NAME.tex" >/dev/null); then
    grep -A8 '^!' "$OUT/$NAME.log" >&2 || true
    _say "error: the LaTeX build failed; see $OUT/$NAME.log"
    exit 1
fi
if grep -q '^Missing character' "$OUT/$NAME.log"; then
    grep '^Missing character' "$OUT/$NAME.log" | sort | uniq -c >&2
    _say "error: the fonts lack the characters above; see docs/conf.py (latex_elements)"
    exit 1
fi

pages=$(sed -n 's/^Output written on .*(\([0-9]*\) pages\{0,1\}.*/\1/p' "$OUT/$NAME.log" | tail -n 1)
echo "$ROOT/$OUT/$NAME.pdf: ${pages:-?} pages"
