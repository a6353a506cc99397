#!/bin/sh
# Make sure a program the course needs from the system is installed: `graphviz` (dot) for
# figure scripts run by hand and the benchmark (the build brings its own), `chromium` for the
# browser tests, `libreoffice` (its SVG importer) and `librsvg` (rsvg-convert) for the
# slide-tool tests, `impress` (LibreOffice Impress) and `poppler` (pdfinfo, pdftoppm) for the
# PowerPoint deck tests. Installs it with apt-get (as root or with password-less sudo) or
# Homebrew; otherwise stops with the exact command to run.
set -eu

case "${1:-}" in
  graphviz) programs="dot"; apt_packages="graphviz fonts-dejavu-core"; brew_args="graphviz" ;;
  chromium) programs="chromium chromium-browser google-chrome"; apt_packages="chromium fonts-dejavu-core"; brew_args="--cask chromium" ;;
  libreoffice) programs="soffice libreoffice"; apt_packages="libreoffice-draw fonts-dejavu-core"; brew_args="--cask libreoffice" ;;
  librsvg) programs="rsvg-convert"; apt_packages="librsvg2-bin fonts-dejavu-core"; brew_args="librsvg" ;;
  # Impress opens the PowerPoint decks in their tests; Debian packages it apart from Draw.
  impress) programs="loimpress simpress"; apt_packages="libreoffice-impress fonts-dejavu-core"; brew_args="--cask libreoffice" ;;
  # pdfinfo and pdftoppm count and draw the pages Impress prints.
  poppler) programs="pdftoppm"; apt_packages="poppler-utils"; brew_args="poppler" ;;
  *) echo "usage: $0 graphviz|chromium|libreoffice|librsvg|impress|poppler" >&2; exit 2 ;;
esac

for program in $programs; do
  if command -v "$program" >/dev/null 2>&1; then exit 0; fi
done
if [ "$1" = chromium ] && [ -n "${COURSE_ASSETS_CHROMIUM:-}" ] && [ -x "$COURSE_ASSETS_CHROMIUM" ]; then
  exit 0
fi

echo "$1 is not installed; installing it..." >&2
if [ "$(uname -s)" = Darwin ]; then
  if command -v brew >/dev/null 2>&1; then
    # shellcheck disable=SC2086 # brew_args is a word list on purpose
    exec brew install $brew_args
  fi
  echo "Install Homebrew (https://brew.sh), then run: brew install $brew_args" >&2
  exit 1
fi
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    sudo=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo"
  else
    echo "Run this, then try again: sudo apt-get install -y $apt_packages" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  # shellcheck disable=SC2086 # apt_packages is a word list on purpose
  $sudo apt-get install -y -qq --no-install-recommends $apt_packages >/dev/null
  exit 0
fi
echo "Install $1 with your package manager (the package is usually named $1), then try again." >&2
exit 1
