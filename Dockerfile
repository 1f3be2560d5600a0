# syntax=docker/dockerfile:1
# Captioner API and CPU worker image (one image, two commands):
#   API (default):  node --max-semi-space-size=8 --heap-growing-percent=50 --no-allocation-site-pretenuring --no-memory-reducer dist/main.js    listens on PORT (3000) (src/bootstrap/node-flags.ts)
#   CPU worker:     node dist/worker.js  serves /health/* on WORKER_HEALTH_PORT (3001), /metrics on MANAGEMENT_PORT (9464)
# The GPU worker has its own image (Dockerfile.gpu). Model bundles are not baked in: mount one at
# MODEL_PATH (the Helm chart uses a PVC, an image volume or the exporter init container, Dockerfile.exporter).
#
# Build args:
#   NODE_IMAGE  base image for build and runtime (Node >= 20.19 on glibc, which sharp 0.35 needs)
# The runtime user is uid/gid 10001 (no name lookups needed); the chart's runAsUser must match.
# Base images are pinned by digest (a tag moves; a digest is one image): refresh them together with
# `docker buildx imagetools inspect <image:tag>` and keep the tag in front for readers.
#
#   docker build -t captioner:0.1.0 .
#   docker run -p 3000:3000 -e JWT_SECRET=... captioner:0.1.0
#   docker run -e REDIS_URL=redis://... -v $PWD/models:/models:ro captioner:0.1.0 node dist/worker.js
ARG NODE_IMAGE=node:22-bookworm-slim@sha256:43ac6c60b8f89723f746e8a92ce91abd5017e627ce1ddfe4238355d3a30b772c

FROM ${NODE_IMAGE} AS build
# No install-time analytics calls home from the build (swagger-ui-dist's @scarf/scarf).
ENV SCARF_ANALYTICS=false
WORKDIR /app
# .npmrc sets onnxruntime-node-install=skip: the CPU binaries ship inside the npm package; only the CUDA
# provider is downloaded by its install script, and this image does not want it.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
# onnxruntime-node ships its macOS and Windows binaries (~220 MB) in the package: a Linux image drops them.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/onnxruntime-node/bin/napi-v6/darwin node_modules/onnxruntime-node/bin/napi-v6/win32 \
 && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
# MALLOC_ARENA_MAX: libvips' decode threads each grow a glibc malloc arena that keeps freed image buffers;
# two arenas cut the API's peak RSS under a c=8 upload load from 340 to 306 MB (docs/decisions.md).
ENV NODE_ENV=production \
    SCARF_ANALYTICS=false \
    MALLOC_ARENA_MAX=2 \
    PORT=3000 \
    WORKER_HEALTH_PORT=3001 \
    MODEL_PATH=/models/blip-base \
    EXECUTION_PROVIDER=cpu
RUN groupadd --system --gid 10001 captioner \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
      --shell /usr/sbin/nologin captioner
WORKDIR /app
# Code and dependencies stay owned by root and read-only to the app user (the chart also mounts the root
# filesystem read-only, with an emptyDir on /tmp).
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# A volume, so that runtimes that mount nothing there (ECS on Fargate with a read-only root filesystem)
# still give the app a writable /tmp with the image's 1777 mode; Kubernetes mounts its emptyDir over it.
VOLUME /tmp
USER 10001:10001
EXPOSE 3000 3001
CMD ["node", "--max-semi-space-size=8", "--heap-growing-percent=50", "--no-allocation-site-pretenuring", "--no-memory-reducer", "dist/main.js"]
