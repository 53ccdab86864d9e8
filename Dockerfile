# agentgate — one image for every service; the command picks the service.
#   docker build -t agentgate .
#   docker run agentgate start                        # all five in one process
#   docker run agentgate node services/proxy/dist/main.js
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY packages ./packages
COPY services ./services
COPY test/package.json ./test/package.json
RUN npm ci --no-audit --no-fund && npx turbo run build --filter='./packages/*' --filter='./services/*' \
 && npm prune --omit=dev

FROM node:20-bookworm-slim
# git is needed by the git adapter (ancestry checks against the upstream mirror).
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 --home /var/lib/agentgate agentgate \
 && mkdir -p /var/lib/agentgate /etc/agentgate && chown agentgate /var/lib/agentgate
WORKDIR /app
COPY --from=build /app /app
COPY agentgate.example.yaml /etc/agentgate/agentgate.yaml
ENV NODE_ENV=production AGENTGATE_CONFIG=/etc/agentgate/agentgate.yaml AGENTGATE_DATA_DIR=/var/lib/agentgate
USER agentgate
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "packages/cli/dist/bin.js", "start"]
