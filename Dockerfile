# syntax=docker/dockerfile:1
#
# The sidecar image: a static awf-broker-cli and the CA roots, nothing else.
# It replaces the gh-aw api-proxy container: same ports, no credentials
# inside — it only needs the broker's socket mounted at
# /run/awf-broker/broker.sock (see docs/api-proxy.md and deploy/compose/).
#
#   docker build -t awf-broker-sidecar .
#   docker run --rm -v /run/awf-broker:/run/awf-broker -u "$(id -u):$(id -g)" \
#     -p 10000-10004:10000-10004 awf-broker-sidecar

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/awf-broker-cli ./cmd/awf-broker-cli \
    # AWF's compose healthcheck runs `curl -f http://localhost:10000/health`;
    # invoked as curl, the binary answers that probe itself.
    && mkdir -p /out/usr/bin && ln -s /awf-broker-cli /out/usr/bin/curl \
    && mkdir -p /out/etc/ssl/certs && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/

FROM scratch
COPY --from=build /out/ /
ENV AWF_BROKER_SOCKET=/run/awf-broker/broker.sock
# Any uid works that the broker's credentials allow (allow { uids = [...] });
# AWF runs the api-proxy service as the runner's uid:gid.
USER 65532:65532
EXPOSE 10000 10001 10002 10003 10004
ENTRYPOINT ["/awf-broker-cli", "sidecar"]
