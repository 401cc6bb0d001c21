#!/usr/bin/env bash
# The gettext workflow: extract the messages from the source into locales/messages.pot, bring
# every locale's messages.po up to date with it (creating a missing one), compile the .mo files.
#
#   scripts/i18n.sh            extract, update and compile
#   scripts/i18n.sh extract    only write locales/messages.pot
#   scripts/i18n.sh update     only merge the .pot into each locale's .po (init a missing one)
#   scripts/i18n.sh compile    only build the .mo files (not committed; the image builds them)
#
# The .pot and .po files are committed; tests/test_catalogs.py fails until they match the
# source, so run this after changing any user-facing string, then translate the empty entries.
# Keep the extraction keywords in step with KEYWORDS in tests/test_catalogs.py.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

LOCALES=(zh_CN en)
POT=locales/messages.pot

extract() {
    # Locations are kept (sorted by file) to help translators; the test ignores them.
    pybabel extract -F babel.cfg -k N_ -k ngettext:1,2 --sort-by-file \
        --project=petition-bot -o "$POT" .
}

update() {
    local locale
    for locale in "${LOCALES[@]}"; do
        if [[ -f "locales/$locale/LC_MESSAGES/messages.po" ]]; then
            # No fuzzy matching: a changed sentence must be translated again, not guessed.
            # Obsolete entries are dropped rather than kept as `#~` comments (git keeps them).
            pybabel update -i "$POT" -d locales -D messages -l "$locale" \
                --no-fuzzy-matching --ignore-obsolete
        else
            pybabel init -i "$POT" -d locales -D messages -l "$locale"
        fi
    done
}

compile() {
    pybabel compile -d locales -D messages --statistics
}

case "${1:-all}" in
    extract) extract ;;
    update) update ;;
    compile) compile ;;
    all)
        extract
        update
        compile
        ;;
    *)
        echo "usage: $0 [extract|update|compile|all]" >&2
        exit 2
        ;;
esac
