# syntax=docker/dockerfile:1
#
# One image for every process kind of Saga. The command chooses the kind (docker-compose.temporal.yml):
#   node --import tsx api/main.ts                                              the API (default)
#   node --import tsx worker/main.ts <orchestrator|orders|payments|shipments>  a worker
#   node --import tsx scripts/db/prepare.ts                                    create + migrate the databases
# (`npm run worker -- payments` works as well; running node directly spares an npm process and lets
# SIGTERM reach the worker, which then drains its in-flight tasks.)
# TypeScript runs through tsx, as in development: there is no separate build.

ARG NODE_IMAGE=node:20-bookworm-slim

##### dependencies: npm ci, whose postinstall generates the Prisma clients #####
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV SCARF_ANALYTICS=false \
    NPM_CONFIG_UPDATE_NOTIFIER=false
# postinstall (`tsx scripts/prisma/generate.ts`) reads the schemas and prisma.config.ts of prisma/<service>/,
# which import shared/config.ts; it writes the clients to activities/<service>/generated/. Only these are
# copied before `npm ci`, so editing any other source file keeps the dependency layer cached.
COPY package.json package-lock.json tsconfig.json ./
COPY scripts/prisma ./scripts/prisma
COPY shared ./shared
COPY prisma ./prisma
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund

##### build: the source, a prebuilt workflow bundle, production dependencies only #####
FROM deps AS build
COPY . .
# The orchestrator loads this bundle (WORKFLOW_BUNDLE_PATH) instead of running webpack at every start; a
# workflow that cannot be bundled (e.g. it imports a Node module) fails the image build, not the deployment.
RUN node -e "require('@temporalio/worker').bundleWorkflowCode({ workflowsPath: require.resolve('./workflows/index.ts'), workflowInterceptorModules: [require.resolve('./workflows/interceptors.ts')], failureConverterPath: require.resolve('./shared/encryption/failure-converter.ts') }).then(({ code }) => require('node:fs').writeFileSync('workflow-bundle.js', code))"
# tsx and everything the processes import are dependencies; the Prisma CLI (devDependency) is not needed at
# run time: scripts/db/prepare.ts applies migrations with pg.
RUN npm prune --omit=dev --no-audit --no-fund --ignore-scripts

##### runtime #####
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    WORKFLOW_BUNDLE_PATH=/app/workflow-bundle.js
WORKDIR /app
# Owned by root, read-only for the process: the app cannot rewrite its own code. tsx caches in /tmp.
COPY --from=build /app /app
USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "api/main.ts"]
