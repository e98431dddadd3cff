# tana-edge: a single compiled binary on a small Debian base, running as a non-root user.
#
#   docker build -t tana-edge .
#   docker run -p 8180:8180 tana-edge                       # embedded SQLite under /data
#   docker run -p 8180:8180 -e DATABASE_URL=postgres://… tana-edge
#
# The build stage needs network access to the npm registry (packages) and to Deno's release
# downloads (the `denort` runtime that `deno compile` embeds).

FROM node:22-bookworm-slim AS build
WORKDIR /src
RUN npm install -g deno@2.9.6
COPY deno.json deno.lock ./
COPY main.ts ./
COPY src ./src
COPY sql ./sql
COPY examples ./examples
COPY types ./types
RUN deno task compile

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin tana \
  && mkdir -p /data && chown tana /data
COPY --from=build /src/dist/tana-edge /usr/local/bin/tana-edge
USER tana
WORKDIR /app
ENV PORT=8180 DATA_DIR=/data LOG_FORMAT=json
EXPOSE 8180
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/tana-edge", "health"]
ENTRYPOINT ["/usr/local/bin/tana-edge"]
CMD ["serve"]
