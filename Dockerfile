# The petition bot as one image: the project installed editable in /app, catalogs compiled,
# running as an unprivileged user with its SQLite file on the /app/var volume.
#
#   docker build -t petition-bot .
#   docker run --rm -e PETITION_BOT_TOKEN=... -v petition-data:/app/var petition-bot
#   docker run --rm -e PETITION_CONFIG=/config/deployment.toml -v "$PWD/config:/config:ro" \
#       petition-bot petition-bot check-config
#
# Every setting is an environment variable (docs/configuration.md). The project is installed
# editable on purpose: bot/i18n.py finds the catalogs at ../locales next to bot/, and the
# migrations live in storage/, so the code must run from the source tree in /app.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The time zone database for zoneinfo (deadlines, the config check); kept explicit rather than
# relying on what the base image happens to contain.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so a source change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
RUN pip install --no-deps -e . \
    && pybabel compile -d locales -D messages \
    && python -m compileall -q bot handlers storage

# An unprivileged user that owns only the data directory; the code stays read-only to it.
# A named volume inherits this ownership; a bind-mounted directory must be writable by 10001.
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home petition \
    && mkdir -p /app/var \
    && chown petition:petition /app/var
USER petition
VOLUME ["/app/var"]

ENV PETITION_CONFIG=/app/examples/deployment.toml \
    PETITION_DATABASE_URL=sqlite+aiosqlite:////app/var/petition-bot.db \
    PETITION_LOG_LEVEL=INFO

CMD ["petition-bot", "run"]
