# Gantry's action image: a fully static binary in an empty image (DESIGN.md "Static binary").
# The build stage compiles a minimal static libcurl (mbedTLS) and a read-only static libgit2 from
# Debian's sources and links gantry with -static-executable; the final image holds only the
# binary and the CA bundle.
# Runs as root, as GitHub's container actions require (no USER).
# The toolchain the tests run with (scripts/test on Swift 6.3.1).
FROM swift:6.3.1-bookworm AS build
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential pkg-config libmbedtls-dev libnghttp2-dev zlib1g-dev dpkg-dev file ca-certificates \
      cmake libhttp-parser-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN scripts/build-static

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /src/.build-static/gantry /gantry
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/gantry"]
