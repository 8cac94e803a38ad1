#!/usr/bin/env bash
# Build the one-folder desktop app from a clean clone, then check that it starts.
#
#   packaging/build.sh            # uses ./.venv, creating it (CPU torch) if missing
#   VENV=/path/to/venv packaging/build.sh
#
# Output: dist/cleftlip/ (run dist/cleftlip/cleftlip). On Windows run the same PyInstaller
# command from a venv in PowerShell; on macOS the recipe also makes "dist/Cleft Lip Inpainting.app".
# Registries (PyPI) are used only to create a missing venv; the build itself is offline.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'setuptools<81' wheel
  "$VENV/bin/pip" install -q torch==2.13.0
  "$VENV/bin/pip" install -q -e '.[package]'
fi
. "$VENV/bin/activate"
python -c "import PyInstaller" 2>/dev/null || pip install -q -e '.[package]'

pyinstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/cleftlip.spec

# Smoke test: the frozen app opens its window and quits (offscreen, throw-away data folder).
check_dir="$(mktemp -d)"
trap 'rm -rf "$check_dir"' EXIT
QT_QPA_PLATFORM=offscreen timeout 120 dist/cleftlip/cleftlip --quit-after-show \
  --data-dir "$check_dir/data" --settings "$check_dir/settings.json"
echo "Built dist/cleftlip ($(du -sh dist/cleftlip | cut -f1)); start-up check passed."
