# One image for every Python service of the full stack: web (gunicorn), GPU and CPU Celery workers,
# Celery beat and the one-shot migration. docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIENET_VAR_DIR=/var/lib/pienet \
    STATIC_ROOT=/app/staticfiles

RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt

# Only what runs in production (tests, benchmarks and local state stay out of the image).
COPY manage.py ./
COPY webapp/ webapp/
COPY studies/ studies/
COPY ml/ ml/
COPY templates/ templates/
COPY static/ static/

RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && useradd --create-home --uid 1000 pienet \
    && mkdir -p /var/lib/pienet/media /var/lib/pienet/private \
    && chown -R pienet /var/lib/pienet
USER pienet

EXPOSE 8000
CMD ["gunicorn", "webapp.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
