# The leastpriv-ci container action. Runtime dependencies only, installed from the
# hash-pinned lock (regenerate with the command at the top of requirements.lock).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# git reads the pull request's base commit (the base-ref input: the IAM changes it makes).
# Not pinned: Debian's security updates replace a package's version in the archive, and a
# pinned version that is gone breaks the build.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first: this layer is reused while only the project's own code changes.
# Binary wheels only, so no compiler is needed (or left behind) in the slim image.
COPY requirements.lock /app/requirements.lock
RUN pip install --no-cache-dir --require-hashes --only-binary=:all: -r /app/requirements.lock

# The package itself, without dependencies: everything it needs is already pinned above.
# The build backend lives in pip's temporary isolated build environment, not the image.
# Then the Terraform parser's tables, built once here rather than in every run (about 2 s).
COPY pyproject.toml README.md /app/src/
COPY leastpriv_ci /app/src/leastpriv_ci
RUN pip install --no-cache-dir --no-deps /app/src \
    && rm -rf /app/src \
    && python -c "from leastpriv_ci.grants.hcl_parser import parser; parser()"

COPY entrypoint.py /app/entrypoint.py

ENTRYPOINT ["python", "/app/entrypoint.py"]
