# csp-ops: compiled to JavaScript in a build stage, run by node directly as a non-root user.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY scripts/build.mjs scripts/build.mjs
COPY db db
COPY src src
# npm ci ends by building dist/ (postinstall, scripts/build.mjs): the JavaScript and the embedded database's template.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=3000 DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# The embedded database's folder (unused with DATABASE_URL), owned by the unprivileged node user.
RUN mkdir /data && chown node:node /data
USER node
EXPOSE 3000
VOLUME /data
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1's only process, so SIGTERM from the runtime reaches csp-ops itself.
CMD ["node", "dist/src/main.js"]
