# The petition bot as one image: the project installed editable in /app, catalogs compiled,
# running as an unprivileged user with its data (SQLite file, geocoder cache) on the /app/var
# volume. docs/deployment.md#docker explains every step; in short:
#
#   docker build -t petition-bot .
#   docker run --rm -v /etc/petition-bot:/config:ro -e PETITION_CONFIG=/config/deployment.toml \
#       petition-bot petition-bot check-config
#   docker run -d --name petition-bot --stop-timeout 30 --env-file /etc/petition-bot.env \
#       -v petition-data:/app/var -v /etc/petition-bot:/config:ro petition-bot
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
    PETITION_DATA_DIR=/app/var \
    PETITION_LOG_LEVEL=INFO

# The webhook server's port (PETITION_WEBHOOK_LISTEN, default 0.0.0.0:8443), used only by
# `petition-bot run --webhook`; polling needs no port.
EXPOSE 8443

# No HEALTHCHECK: the default command polls, and a polling process serves no HTTP at all. In
# webhook mode add one at `docker run` (--health-cmd, docs/deployment.md#docker) on /healthz.
# `docker stop` sends SIGTERM; give the bot --stop-timeout 30 to finish its updates and sends.
CMD ["petition-bot", "run"]
