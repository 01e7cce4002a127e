#!/bin/sh
# Validate every Links Notation config under a directory (default: the repository root), as a CI step.
# Needs `link-assistant-router` on PATH (pip install link-assistant-router). Prints `FILE: valid` or every
# problem as `file:line:column: message`; exits non-zero when any file is invalid or none is found.
set -eu
root="${1:-.}"
files=$(find "$root" -name '*.lino' -not -path '*/.git/*' | sort)
if [ -z "$files" ]; then
  echo "no .lino files under $root" >&2
  exit 1
fi
# shellcheck disable=SC2086  # one path per word; the repository's config paths have no spaces
exec link-assistant-router config validate $files
