# The image the Helm chart (deploy/helm/pipeline-secrets) names. It is not built or tested
# on the development machines (no container runtime there); see README, "Running at scale".
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STATIC_ROOT=/app/staticfiles \
    DATA_DIR=/tmp/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY pipeline_secrets ./pipeline_secrets
COPY orgs ./orgs
COPY audit ./audit
COPY notifications ./notifications
COPY accounts ./accounts
COPY secrets_app ./secrets_app
COPY clusters ./clusters
COPY pipeline_secrets_agent ./pipeline_secrets_agent
COPY templates ./templates
COPY static ./static
COPY manage.py ./
RUN pip install --no-cache-dir . \
    && DJANGO_SECRET_KEY=build DATA_DIR=/tmp/build python manage.py collectstatic --noinput \
    && rm -rf /tmp/build \
    && useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin app

USER 10001:10001
EXPOSE 8080
# The root filesystem may be read-only: everything written goes to /tmp (an emptyDir).
CMD ["gunicorn", "pipeline_secrets.wsgi:application", \
     "--config=python:pipeline_secrets.gunicorn_conf", "--bind=0.0.0.0:8080", \
     "--workers=2", "--threads=8", "--access-logfile=-"]
