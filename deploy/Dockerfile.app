# syntax=docker/dockerfile:1
# The Aduan app: one `aduan serve` instance per container (no engine, no migrations inside).
#
#     docker build -f deploy/Dockerfile.app -t registry.example.go.id/aduan/app:0.1.0 .
#     docker run --rm --env-file /etc/aduan/aduan.env registry.example.go.id/aduan/app:0.1.0 aduan migrate
#     docker run -d --init --env-file /etc/aduan/aduan.env -p 127.0.0.1:8001:8000 registry.example.go.id/aduan/app:0.1.0
#
# Built from the repository root (the build context); deploy/Dockerfile.app.dockerignore keeps
# .env, .venv, var/ and models/ out of it. Not built on the project's machines (no registry access
# there): docs/deployment.md says what was checked instead.
#
# requirements/app.txt is resolved for Linux x86-64 and CPython 3.11 (scripts/lock.sh), hence the
# base image. Pin it by digest in your registry (FROM python:3.11-slim@sha256:...) for repeatable builds.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

# Exactly the locked versions, each checked against its hash (the lock also holds the test tools:
# the image is the one CI's versions were tested with).
RUN python -m venv /opt/venv
COPY requirements/app.txt /tmp/app.txt
RUN pip install --require-hashes --no-deps -r /tmp/app.txt && rm /tmp/app.txt

# The project itself, installed in place (as scripts/setup.sh does): its data files (bot/data,
# bot/locale, storage/migrations) are read next to the modules.
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY bot ./bot
COPY channels ./channels
COPY storage ./storage
RUN pip install --no-deps --no-build-isolation -e . \
    && python -m compileall -q bot channels storage

# Not root; owns nothing it runs (the code stays root's, read-only).
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin aduan
USER 10001:10001

ENV APP_HOST=0.0.0.0 \
    APP_PORT=8000
EXPOSE 8000
# SIGTERM (docker stop, Kubernetes) is a clean stop: nothing in flight is lost.
STOPSIGNAL SIGTERM
CMD ["aduan", "serve"]
