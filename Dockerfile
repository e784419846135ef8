# syntax=docker/dockerfile:1.7@sha256:a57df69d0ea827fb7266491f2813635de6f17269be881f696fbfdf2d83dda33e
#
# shardline worker image: `shardline work` by default; any other subcommand as the command
# (`docker run IMAGE forward`, `docker run IMAGE version`).
#
#   docker buildx build --platform linux/arm64 --build-arg VERSION=$(git describe --always --dirty) \
#     -t shardline:dev .
#
# Reproducible: every base image is pinned by tag and by digest (the tag says what it is, the
# digest is what is pulled), modules are verified against go.sum,
# and the binary is built by `make build-shardline` (the production binary only: the lab's
# shardline-lab is not built here), whose BUILD_FLAGS (-trimpath, -ldflags "-s -w -X
# ...Version=...") are the only definition of the release flags. VERSION is passed in because the
# build context has no .git. The final stage is distroless/static: CA certificates, /etc/passwd
# with the nonroot user, no shell, no package manager. The container's health check therefore runs
# the binary itself: `shardline healthcheck --url http://127.0.0.1:9102/healthz` (see the ECS task
# definition in infra/terraform/modules/workers); there is no HEALTHCHECK here because the same
# image also runs `forward`, which serves /healthz on another port.

# Base images: tag@digest, the digest of the multi-platform index (manifest list), so that one
# pin serves every --platform. To update one, resolve the tag's current index digest and replace
# both parts together, e.g.
#   docker buildx imagetools inspect golang:1.26.8-bookworm --format '{{json .Manifest.Digest}}'
#   docker buildx imagetools inspect gcr.io/distroless/static-debian12:nonroot --format '{{json .Manifest.Digest}}'
#   docker buildx imagetools inspect docker/dockerfile:1.7 --format '{{json .Manifest.Digest}}'
# (or `crane digest IMAGE:TAG`). The image's Go only bootstraps: go.mod's toolchain line (go1.27.3,
# which has the standard-library fixes `make vuln` needs) is fetched through the module proxy and
# checked against the checksum database (GOTOOLCHAIN=auto), exactly as `make` does on a developer
# machine, so the binary is built with the same Go whatever this tag is.
ARG GO_IMAGE=golang:1.26.8-bookworm@sha256:a688600ca24f8a4d3ca77f95b0dd40704a9fc787c826660eb7ba0b641b8b175d
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab

# The build runs on the builder's own platform and cross-compiles (CGO is off), which is much
# faster than emulating the target platform.
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
WORKDIR /src
ENV GOTOOLCHAIN=auto GOFLAGS=-mod=readonly

COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download && go mod verify

COPY . .
ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH make build-shardline VERSION=$VERSION

FROM ${RUNTIME_IMAGE}
COPY --from=build /src/bin/shardline /usr/local/bin/shardline
# 65532 is distroless' "nonroot"; numeric so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
# 9102: `work` metrics, /healthz, /readyz. 8085: `forward` webhook.
EXPOSE 9102 8085
ENTRYPOINT ["/usr/local/bin/shardline"]
CMD ["work"]
