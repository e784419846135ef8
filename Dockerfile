# syntax=docker/dockerfile:1.7
#
# shardline worker image: `shardline work` by default; any other subcommand as the command
# (`docker run IMAGE forward`, `docker run IMAGE version`).
#
#   docker buildx build --platform linux/arm64 --build-arg VERSION=$(git describe --always --dirty) \
#     -t shardline:dev .
#
# Reproducible: the Go toolchain is pinned (GO_IMAGE; pin it by digest too with
# --build-arg GO_IMAGE=golang:1.26.8-bookworm@sha256:...), modules are verified against go.sum,
# and the binary is built by `make build`, whose BUILD_FLAGS (-trimpath, -ldflags "-s -w -X
# ...Version=...") are the only definition of the release flags. VERSION is passed in because the
# build context has no .git. The final stage is distroless/static: CA certificates, /etc/passwd
# with the nonroot user, no shell, no package manager. The container's health check therefore runs
# the binary itself: `shardline healthcheck --url http://127.0.0.1:9102/healthz` (see the ECS task
# definition in infra/terraform/modules/workers); there is no HEALTHCHECK here because the same
# image also runs `forward`, which serves /healthz on another port.

ARG GO_IMAGE=golang:1.26.8-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

# The build runs on the builder's own platform and cross-compiles (CGO is off), which is much
# faster than emulating the target platform.
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
WORKDIR /src
ENV GOTOOLCHAIN=local GOFLAGS=-mod=readonly

COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download && go mod verify

COPY . .
ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH make build VERSION=$VERSION

FROM ${RUNTIME_IMAGE}
COPY --from=build /src/bin/shardline /usr/local/bin/shardline
# 65532 is distroless' "nonroot"; numeric so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
# 9102: `work` metrics, /healthz, /readyz. 8085: `forward` webhook.
EXPOSE 9102 8085
ENTRYPOINT ["/usr/local/bin/shardline"]
CMD ["work"]
