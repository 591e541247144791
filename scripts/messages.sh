#!/usr/bin/env bash
# Re-extract translatable strings into locale/<lang>/LC_MESSAGES/django.po and compile them.
# Usage: scripts/messages.sh [LOCALE ...]   (default: zh_Hans)
# Then fill the new empty msgstr entries and re-run this script to rebuild the .mo files.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
# A developer's tool, on the development settings (DEBUG is off unless set).
export DEBUG="${DEBUG:-1}"
if [ "$#" -gt 0 ]; then locales=("$@"); else locales=(zh_Hans); fi

mkdir -p locale
IGNORES=(--ignore=.venv --ignore=wechat --ignore=bench --ignore=tests --ignore=staticfiles)

for lang in "${locales[@]}"; do
  "$PYTHON" manage.py makemessages -l "$lang" "${IGNORES[@]}" --no-obsolete
  "$PYTHON" manage.py compilemessages -l "$lang" --ignore=.venv
  msgfmt --statistics -o /dev/null "locale/$lang/LC_MESSAGES/django.po"
done
