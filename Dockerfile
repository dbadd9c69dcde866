# The DEE image for docker-compose: one image, two commands (`dee worker`, `dee webhooks`).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md worker.py starter.py ./
COPY interpreter interpreter
COPY workflows workflows
COPY activities activities
COPY adapters adapters
COPY dee dee
RUN pip install --no-cache-dir .
# Plans and templates are content: mounted or baked in, read from the working directory.
COPY plans plans
COPY templates templates
# The worker's data dir (its audit signing key): a volume there keeps this owner.
RUN mkdir -p /var/lib/dee && chown nobody /var/lib/dee
USER nobody
CMD ["dee", "worker"]
