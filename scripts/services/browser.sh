#!/usr/bin/env bash
# A real headless browser for the dashboard's tests (tests/dashboard): Debian's Chromium
# and its ChromeDriver, which the tests drive with Selenium (the test extra).
#
#   scripts/services/browser.sh install   # apt-get install chromium chromium-driver if missing
#
# Nothing is downloaded by the tests themselves.
set -euo pipefail

install() {
    if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
        echo "Chromium is installed: $(chromium --version 2>/dev/null | tail -1)" >&2
        return
    fi
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
        chromium chromium-driver
    echo "Chromium installed: $(chromium --version 2>/dev/null | tail -1)" >&2
}

case "${1:-}" in
    install) install ;;
    *) echo "usage: $0 install" >&2; exit 2 ;;
esac
