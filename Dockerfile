# Image for the web process and the django-q2 worker (same image, different command).
# Not built or run in this project's CI (its machines have no Docker engine); kept
# simple and consistent with backtest_project/settings.py. docker-compose.yml puts
# nginx in front of it; docs/operations.md. The Numba kernels are compiled into the image
# (make kernels); a host with another CPU compiles them again on first use.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 NUMBA_CACHE_DIR=/app/var/numba \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus LOG_FORMAT=json METRICS_DISK_PATHS=/app,/pgdata
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN useradd --create-home app \
    && SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v 0 \
    && python -m optimizers.compile_ahead \
    && chown -R app /app/var
USER app
EXPOSE 8000 9108
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "--bind", "0.0.0.0:8000"]
