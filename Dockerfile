# glitter for Raspberry Pi and PC: linux/amd64, linux/arm64, linux/arm/v7 and linux/arm/v6.
#
# Debian's own nodejs package is the base on every platform: official Node.js images drop
# 32-bit ARM after Node 22 (end of life 2027-04-30) and offer ARMv6 only on Alpine, while Debian
# builds nodejs for amd64, arm64, armhf (ARMv7) and armel, which runs on the ARMv6 CPU of the
# Pi Zero and Pi 1. See docs/container.md.
#
#   DOCKER_BUILDKIT=1 docker build --platform linux/arm64 -t glitter .
#
# Where a proxy re-signs HTTPS, give npm its CA bundle for the build only:
#   --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt
ARG BASE=debian:trixie-slim

FROM ${BASE} AS build
# Set only where qemu-user emulates the platform: --build-arg QEMU_CPU=arm1176 makes the RUN
# steps run on the Pi Zero's CPU, because each ARG reaches RUN as an environment variable.
ARG QEMU_CPU
# node-gyp compiles the i2c-bus addon against Debian's Node headers (libnode-dev).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates g++ libnode-dev make nodejs npm python3 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
# npm ci runs the prepare script, which compiles the TypeScript; the test folder is not
# copied, so only src is compiled.
RUN --mount=type=secret,id=ca,required=false \
    --mount=type=cache,target=/root/.npm \
    if [ -s /run/secrets/ca ]; then \
        export NODE_EXTRA_CA_CERTS=/run/secrets/ca npm_config_cafile=/run/secrets/ca; \
    fi \
    && npm ci --no-audit --no-fund \
    && test -f node_modules/i2c-bus/build/Release/i2c.node \
    && npm prune --omit=dev --no-audit --no-fund

FROM ${BASE}
ARG QEMU_CPU
# tini as PID 1 passes docker stop's SIGTERM on to glitter, which clears the LEDs and exits.
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs tini \
    && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin glitter
WORKDIR /opt/glitter
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
# The group of /dev/i2c-1 differs between hosts, so it is added at run time: --group-add GID.
USER glitter
# Under docker run --init, tini is not PID 1 and would warn that it cannot reap zombies.
# Docker's init reaps them then, so TINI_VERBOSITY=0 hides the warning. TINI_SUBREAPER=1 would
# avoid it too, but under qemu-user 7.2, which rejects that prctl call, tini then exits at start.
ENV GLITTER_BUS=1 TINI_VERBOSITY=0 NODE_ENV=production
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/glitter/dist/src/cli.js"]
CMD ["cpu"]
