# syntax=docker/dockerfile:1
# The Promote worker (and CLI) image: `docker build -t registry.example.com/platform/promote:0.1.0 .`
# Stage 1 compiles and bundles the workflow code once, so the worker starts without webpack.
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY activities activities
COPY client client
COPY common common
COPY config config
COPY demo demo
COPY server server
COPY worker worker
COPY workflows workflows
COPY bin bin
# The same two steps as `npm run bundle`; PROMOTE_WORKFLOW_BUNDLE below points at the output (its twin
# workflow-bundle.traced.js, with the OpenTelemetry interceptors, is used when PROMOTE_OTLP_ENDPOINT is set).
RUN npx tsc -p tsconfig.json \
 && node dist/worker/bundle.js dist/workflow-bundle.js \
 && npm prune --omit=dev --no-audit --no-fund

# Stage 2: the deploy tools the worker runs (deploy.type helm / helmfile, or your own command).
FROM ${NODE_IMAGE} AS tools
ARG TARGETARCH=amd64
ARG HELM_VERSION=3.22.0
ARG HELMFILE_VERSION=1.8.0
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
 && curl -fsSL "https://get.helm.sh/helm-v${HELM_VERSION}-linux-${TARGETARCH}.tar.gz" | tar -xz -C /tmp \
 && install -m 0755 "/tmp/linux-${TARGETARCH}/helm" /usr/local/bin/helm \
 && curl -fsSL "https://github.com/helmfile/helmfile/releases/download/v${HELMFILE_VERSION}/helmfile_${HELMFILE_VERSION}_linux_${TARGETARCH}.tar.gz" \
    | tar -xz -C /usr/local/bin helmfile

# Stage 3: the runtime — node, git, ssh, helm, helmfile; no compiler, no dev dependencies, not root.
FROM ${NODE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --user-group --create-home --home-dir /home/promote promote \
 && mkdir -p /var/cache/promote && chown 10001:10001 /var/cache/promote
COPY --from=tools /usr/local/bin/helm /usr/local/bin/helmfile /usr/local/bin/
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/bin bin
COPY --from=build /src/dist dist
RUN rm -rf dist/test && ln -s /app/bin/promote.js /usr/local/bin/promote
# MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_ and the node flags below are `promote worker`'s memory settings (worker/launch.ts,
# docs/performance.md): given here, the worker runs in place instead of relaunching itself with them.
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=65536 \
    PROMOTE_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js \
    PROMOTE_CACHE_DIR=/var/cache/promote \
    PROMOTE_HEALTH_PORT=8080 \
    PROMOTE_LOG_FORMAT=json
USER 10001:10001
EXPOSE 8080 9464
HEALTHCHECK --interval=30s --timeout=3s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PROMOTE_HEALTH_PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# tini forwards SIGTERM to the worker, which then drains for PROMOTE_SHUTDOWN_GRACE_MS.
ENTRYPOINT ["tini", "--", "node", "--max-old-space-size=256", "--max-semi-space-size=4", "/app/bin/promote.js"]
CMD ["worker"]
