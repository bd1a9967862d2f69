# aifwd: docker build -t aifwd .   then   docker run -p 8000:8000 -e OPENAI_API_KEY=... aifwd

# ---- build: compile TypeScript, then keep production dependencies only ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Dependencies first, in their own layer: editing src/ does not download them again.
# --ignore-scripts: no dependency install script runs (only esbuild, the build's bundler, has one:
# a check of the binary its platform package brings), and the project's own `prepare` (the build)
# would fail here because src/ is not copied yet.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY wasm ./wasm
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime ----
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Code stays owned by root: the gateway's user can read it but not change it.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/wasm/build ./wasm/build
COPY --from=build /app/bin ./bin
# The version is read from package.json, in the directory above dist/ (src/package-root.ts).
COPY --from=build /app/package.json ./
# The chat log (log_dir ./Log) is the only place the gateway writes.
RUN mkdir /app/Log && chown 1000:1000 /app/Log
VOLUME /app/Log
# uid 1000 is the image's `node` user; numeric so Kubernetes runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8000
# Slim images have no curl: node checks /healthz (it never calls the upstream). Follows PORT;
# a port set by flag or config file, or HTTPS, needs its own --health-cmd.
# `aifwd health` reads the settings `run` reads (environment, config file named by AIFWD_CONFIG),
# so it follows PORT, HOST and HTTPS.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "bin/aifwd.js", "health", "--timeout", "4"]
# node is PID 1: aifwd handles SIGTERM itself (drains in-flight requests, flushes the chat log,
# exits 0), so no init wrapper is needed.
ENTRYPOINT ["node", "bin/aifwd.js"]
CMD ["run"]
