# The runtime controller's image: the kafka-cdk8s CLI, run as `kafka-cdk8s controller ...`
# by the Deployment that `synth` emits. Build it from the repo root:
#   docker build -t ghcr.io/kafka-cdk8s/kafka-cdk8s:<version> .
# Node 24 is the LTS line the tests run on (versions.json "node24"); test/unit/operator.test.ts
# checks the facts of this file, since CI cannot build images.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No scripts: `prepare` compiles, and the sources are not here yet.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json versions.json ./
COPY bin ./bin
COPY lib ./lib
COPY imports ./imports
RUN npm run build

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only. No scripts: `prepare` needs TypeScript, a dev dependency. No
# optional ones: the only one is cdk8s-plus-27's release tool `backport` and its large tree.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force
# What the published package holds (package.json "files"); the shim runs build/bin/main.js.
COPY --from=build /app/build ./build
COPY bin/kafka-cdk8s.js ./bin/kafka-cdk8s.js
COPY versions.json README.md ./
COPY schema ./schema
# The image's `node` user, by number so that the kubelet can check runAsNonRoot.
USER 1000:1000
ENTRYPOINT ["node", "/app/bin/kafka-cdk8s.js"]
