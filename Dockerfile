# Ampoule's image: the compiled code (npm run build), production dependencies only, on Debian slim — the Temporal
# SDK's native core needs glibc (not Alpine). One image for every process: the command picks it (api, worker,
# migrate, create-user, trust-certificate, investigate).
#
#   docker build -t ampoule .
#   docker run --rm ampoule api    # with DATABASE_URL, TEMPORAL_ADDRESS… (see deploy/)

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY embedded-temporal/package.json embedded-temporal/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    AMPOULE_MODE=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    AMPOULE_DATA_DIR=/var/lib/ampoule \
    NODE_OPTIONS=--conditions=ampoule-compiled
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/embedded-temporal/package.json embedded-temporal/
COPY --from=build /app/embedded-temporal/dist embedded-temporal/dist
RUN mkdir -p /var/lib/ampoule && chown node:node /var/lib/ampoule
USER node
VOLUME ["/var/lib/ampoule"]
EXPOSE 8080
ENTRYPOINT ["node", "dist/bin/ampoule.js"]
CMD ["api"]
