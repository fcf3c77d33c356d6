# The image behind docker-compose.yml's api and worker services.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
COPY . .
RUN pip install --no-cache-dir .
ENV PYTHONUNBUFFERED=1
