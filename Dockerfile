# The WhatsApp <-> Rocket.Chat Omnichannel bridge: `python -m bridge run` on port 8080.
#
#   docker compose build            (or: docker build -t rocketchat-whatsapp-bridge .)
#
# Two stages so the runtime image holds the installed virtualenv only: no build context,
# no pip cache, no setuptools build environment. Both stages use the same base image, so
# the virtualenv's interpreter path (/usr/local/bin/python3.11) is valid in the second one.
# Pin the base by digest (python:3.11-slim@sha256:...) if your change policy needs
# byte-for-byte rebuilds; the tag follows Debian security updates.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Only what `pip install .` reads: pyproject.toml names README.md as the long description.
COPY pyproject.toml README.md ./
COPY bridge/ bridge/
COPY bot/ bot/
RUN pip install --no-cache-dir ".[report]"

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BRIDGE_DB=/data/bridge.db \
    BRIDGE_HOST=0.0.0.0 \
    BRIDGE_PORT=8080
# A fixed, unprivileged uid so the /data volume's ownership survives image upgrades.
RUN groupadd --system --gid 10001 bridge \
    && useradd --system --uid 10001 --gid bridge --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin bridge \
    && mkdir -p /data \
    && chown bridge:bridge /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The flow and the citizen-facing texts are read at run time from config/ (relative to
# WORKDIR); docker-compose.yml mounts ./config over this copy so IT can edit them.
COPY config/ /app/config/
USER 10001:10001
# SQLite database (WAL files next to it): keep it on a volume, back it up (docs/deployment.md).
VOLUME ["/data"]
EXPOSE 8080
# The slim image has no curl: ask Python. urlopen raises (exit 1) on a refused connection,
# a timeout or any non-2xx answer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('BRIDGE_PORT', '8080'), timeout=4)"]
CMD ["python", "-m", "bridge", "run"]
