# The image every service of docker-compose.yml runs from: Debian 12 with the project's own
# pinned installs, the same as the native path's (stack/install.sh: the Debian packages of
# stack/apt-packages.txt, the venvs of stack/requirements/*.lock, the jars and versions of
# stack/versions.env, librdkafka, libdq and dq). One change of a version moves both paths.
# Each container runs one service: stack/service.sh NAME.
FROM debian:bookworm-slim

# Only for a build behind a TLS-inspecting proxy (stack/containers.sh passes them, with the
# host's certificates mounted): the proxy's CA for pip, Maven, curl and npm. Unset otherwise.
ARG PIP_CERT
ARG MAVEN_OPTS
ARG CURL_CA_BUNDLE
ARG NODE_EXTRA_CA_CERTS

ENV DQ_ROOT=/opt/dq DQ_CACHE=/opt/dq-cache DQ_RUN=/var/lib/dq DQ_PACKAGES=runtime \
    DQ_BIND=0.0.0.0 DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 PATH=/opt/dq/build:$PATH
WORKDIR /opt/dq

# What the native path finds on a machine already: Python 3.11, Node.js with npm (the
# dashboards' uPlot), CA certificates. Then the Debian packages, venvs and jars, in a layer of
# their own: it is built again only when their installers or pins change. The venvs take the
# project's package (python/) editable, which needs only its pyproject.toml and a package
# folder with an __init__.py here (the real one, and the code, come with the sources below).
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends python3 python3-venv ca-certificates nodejs npm procps >/dev/null \
    && rm -rf /var/lib/apt/lists/*
COPY stack/lib.sh stack/deps.sh stack/venv.sh stack/patch_flink_python.py stack/jars.sh stack/versions.env stack/apt-packages.txt stack/
COPY stack/requirements/ stack/requirements/
COPY stack/maven/ stack/maven/
COPY python/pyproject.toml python/
RUN mkdir python/dq && touch python/dq/__init__.py \
    && stack/deps.sh \
    && for v in core flink spark ml; do stack/venv.sh "$v" >/dev/null; done \
    && for j in kafka cassandra flink spark jmx; do stack/jars.sh "$j" >/dev/null; done \
    && rm -rf /var/lib/apt/lists/* /root/.m2 /root/.cache/pip

COPY . .
RUN stack/install.sh && rm -rf /root/.npm /root/.cache/pip

ENTRYPOINT ["/opt/dq/stack/service.sh"]
