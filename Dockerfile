# agentgate — one image for every service; the command picks the service.
#   docker build -t agentgate .
#   docker run agentgate                                   # all five in one process (agentgate start)
#   docker run agentgate node services/proxy/dist/main.js  # one service (docker-compose.yml, Helm)
# Runs the compiled code (tsc output in dist/), as uid 10001, with production dependencies
# only: no TypeScript, tsx, turbo, test kit or test packages.
# NODE_IMAGE exists so the compose test can build on a local stand-in; leave it as is.
ARG NODE_IMAGE=node:20-bookworm-slim

# Manifests only (package.json files without their scripts, and the lockfile): the dependency
# layers below are rebuilt only when dependencies change, not on every source or script edit.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /out && cp package.json package-lock.json /out/ \
 && find packages services test -name package.json -not -path '*/node_modules/*' -exec cp --parents {} /out/ \; \
 && find /out -name package.json -exec node -e "const fs=require('fs'); for (const f of process.argv.slice(1)) { \
      const p=JSON.parse(fs.readFileSync(f)); delete p.scripts; fs.writeFileSync(f, JSON.stringify(p)); }" {} +

# Every dependency, installed once: the build and the production dependencies below both
# start from it (the second one prunes instead of downloading everything again).
FROM ${NODE_IMAGE} AS install
WORKDIR /src
COPY --from=manifests /out/ ./
RUN npm ci --no-audit --no-fund --loglevel=error --ignore-scripts && rm -rf /root/.npm

# Build: the TypeScript build of each workspace.
FROM install AS build
ENV TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 NO_UPDATE_NOTIFIER=1
COPY tsconfig.base.json turbo.json ./
COPY packages ./packages
COPY services ./services
# Every workspace under packages/ and services/ ships, except the test kit (a new package is
# picked up without an edit here; a hand-kept list once left one out).
RUN npx turbo run build --output-logs=errors-only \
 && mkdir /app \
 && for w in packages/*/ services/*/; do \
      w="${w%/}"; [ "$w" = packages/testkit ] && continue; [ -f "$w/package.json" ] || continue; \
      mkdir -p "/app/$w" && cp "$w/package.json" "/app/$w/" \
      && (cd "$w" && find dist -type f ! -name '*.d.ts' ! -name '*.map' -exec cp --parents {} "/app/$w/" \;) ; \
    done

# Production dependencies of the runtime workspaces: the test kit and the end-to-end tests
# are workspaces too, so they are dropped from the workspace list and pruned with what only
# they need (oidc-provider, koa, the LLM SDKs of the tests…).
FROM install AS deps
RUN node -e "const f='package.json',p=JSON.parse(require('fs').readFileSync(f)); \
      p.workspaces=['packages/*','services/*']; \
      delete p.devDependencies; delete p.scripts; delete p.bin; require('fs').writeFileSync(f, JSON.stringify(p, null, 2));" \
 && rm -rf packages/testkit test node_modules/@agentgate/testkit node_modules/@agentgate/e2e \
 && npm prune --omit=dev --no-audit --no-fund --loglevel=error \
 && find node_modules -mindepth 1 -maxdepth 2 -type d -empty -delete \
 && rm -rf /root/.npm

FROM ${NODE_IMAGE}
# git: the git adapter checks ancestry against its mirror of the upstream; tini: signals and zombies.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends git ca-certificates tini >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /usr/local/lib/node_modules/corepack /usr/local/bin/corepack /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/agentgate --shell /usr/sbin/nologin agentgate \
 && mkdir -p /var/lib/agentgate /etc/agentgate /run/agentgate/secrets /run/agentgate/demo-upstream /run/agentgate/demo-agent \
 && chown agentgate:agentgate /var/lib/agentgate /run/agentgate/demo-upstream /run/agentgate/demo-agent
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY --from=deps /src/package.json ./package.json
COPY --from=build /app ./
COPY agentgate.example.yaml ./agentgate.example.yaml
COPY agentgate.example.yaml /etc/agentgate/agentgate.yaml
# Index templates, lifecycle policies and saved objects (the audit writer reads deploy/<kind>/ at start).
COPY deploy/opensearch ./deploy/opensearch
COPY deploy/elasticsearch ./deploy/elasticsearch
COPY deploy/opensearch-dashboards ./deploy/opensearch-dashboards
COPY deploy/kibana ./deploy/kibana
COPY deploy/docker ./deploy/docker
RUN ln -s /app/packages/cli/dist/bin.js /usr/local/bin/agentgate && chmod 0755 /app/packages/cli/dist/bin.js
# HOST: listen on every interface of the container (the sample config says 127.0.0.1 for `npm start`).
ENV NODE_ENV=production HOST=0.0.0.0 AGENTGATE_CONFIG=/etc/agentgate/agentgate.yaml AGENTGATE_DATA_DIR=/var/lib/agentgate
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=6 CMD ["node", "/app/deploy/docker/healthcheck.mjs"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "packages/cli/dist/bin.js", "start"]
