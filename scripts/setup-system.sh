#!/usr/bin/env bash
# System packages the platform needs that PyPI cannot give: the embedded CJK font for PDFs,
# poppler (pdffonts/pdftoppm, used by tests to check PDFs), PostgreSQL 15 for the CI tests, and
# Chromium with its driver and a CJK font for the pages' browser tests and screenshots.
set -euo pipefail
missing=()
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
command -v pdffonts >/dev/null || missing+=(poppler-utils)
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-noto-cjk)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "setup-system: please install: ${missing[*]} (needs root)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# Another install on the machine (a second checkout's setup) holds dpkg's lock: wait for it.
wait_lock=(-o DPkg::Lock::Timeout=900)
apt-get "${wait_lock[@]}" update -qq
apt-get "${wait_lock[@]}" install -y -qq "${missing[@]}" >/dev/null
