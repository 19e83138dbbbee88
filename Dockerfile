# One image for every process kind of Saga; docker-compose.temporal.yml chooses the kind by its command.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
# postinstall generates the Prisma clients: it needs the schemas, their configs and the generate script.
COPY package.json package-lock.json tsconfig.json ./
COPY prisma ./prisma
COPY shared ./shared
COPY scripts/prisma ./scripts/prisma
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/activities ./activities
COPY . .
USER node
EXPOSE 3000
# The API by default; workers: `node --import tsx worker/main.ts <orchestrator|orders|payments|shipments>`.
CMD ["node", "--import", "tsx", "api/main.ts"]
