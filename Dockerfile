# Cadre: one runtime node. Configure it with DATABASE_URL and NATS_URL (see
# docker-compose.yml); without them it runs embedded, with its data in /data.

# Build stage: isolated-vm compiles a native addon, which needs python3, make and g++.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# tsx is a runtime dependency (it loads the TypeScript sources); tests and tsc are not.
RUN npm ci --omit=dev

# Runtime stage: the built node_modules and the sources, without the compilers.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PORT=3000 \
    CADRE_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY . .
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# `cadre start` stops gracefully on SIGTERM (docker stop) and exits 0.
CMD ["node", "bin/cadre.js", "start"]
