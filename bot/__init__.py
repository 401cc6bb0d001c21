"""The petition bot application: use cases by domain concept, settings, i18n and the wiring."""
