# The dev-only tools (devkit/: SMS sink, mail sink, embedded broker) for the compose stack.
# The services' image (deploy/Dockerfile) leaves devkit/ and the dev extra out.
#
#   docker build -f deploy/devtools.Dockerfile -t account-center-devtools .
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

WORKDIR /src
COPY . .
RUN pip install '.[dev]'

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /app \
        --shell /usr/sbin/nologin app
USER app
CMD ["account-center-sms-sink", "--host", "0.0.0.0", "--port", "8026"]
