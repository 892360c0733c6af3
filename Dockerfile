FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 ASYNCREST_VAR_DIR=/var/lib/asyncrest WEB_CONCURRENCY=3
WORKDIR /app
COPY . /app
# media/ exists in the image so that compose's shared volume starts owned by the app's user.
RUN pip install '/app[site]' && mkdir -p /var/lib/asyncrest/media && useradd --system asyncrest \
    && chown -R asyncrest /var/lib/asyncrest
USER asyncrest
EXPOSE 8000
CMD ["gunicorn", "demosite.wsgi:application", "--bind", "0.0.0.0:8000", "--threads", "4", "--worker-class", "gthread"]
