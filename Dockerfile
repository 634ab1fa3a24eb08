# The service image: Node 22 (what NestJS 12's ecosystem targets), production dependencies only.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
# --omit=optional: the one optional package is the Bun binary the SDK 3 tests run apps with.
RUN npm run build && npm prune --omit=dev --omit=optional

FROM node:22-bookworm-slim
# espeak-ng: the speech synthesis behind session.audio.speak() (without it every speak() answers 503).
RUN apt-get update && apt-get install -y --no-install-recommends espeak-ng \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production DATA_DIR=/data PORT=8002
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY public ./public
COPY package.json ./
# The runtime user owns its data directory, before VOLUME: a new named volume takes the owner and mode of the
# image's directory (a root-owned one stops the service at its first write). 0700: secrets and the store live there.
RUN install -d -o node -g node -m 0700 /data
VOLUME /data
EXPOSE 8002
USER node
# The flags of `npm start` (README, Operations: "Node flags"); a test keeps the two the same.
CMD ["node", "--max-semi-space-size=64", "dist/main.js"]
