# syntax=docker/dockerfile:1
# Kaiku: one static binary on a distroless base.
#
#   docker build -t kaiku .
#   docker run --rm kaiku --help
#
# compose.yaml builds this image and runs it against PostgreSQL and KurrentDB.

# The go directive in go.mod (1.26.8) is the lowest toolchain that builds Kaiku.
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Dependencies first, so that editing code does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/kaiku ./cmd/kaiku

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/kaiku /kaiku
# Listen on every interface inside the container; the default
# (127.0.0.1:8080) would be unreachable from the host.
ENV KAIKU_ADDR=0.0.0.0:8080
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/kaiku"]
CMD ["serve"]
