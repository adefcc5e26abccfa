# gosnn on the pure-Go backend: no cgo libraries and no plugin downloads.
#   docker build -t gosnn .
#   docker run --rm -v "$PWD/results:/results" gosnn train yinyang --out /results
#
# BrainScaleS-2 variant (target "bss2"): built FROM the vendor container
# image (a visionary/yashchiki image holding grenade, hxcomm, stadls and
# calix; its name is a build argument), it compiles the C shim
# (bss2/shim) against the vendor libraries and gosnn with -tags bss2:
#   docker build --target bss2 --build-arg BSS2_IMAGE=<vendor image> \
#     --build-arg BSS2_PREFIX=<install prefix of the BSS-2 libraries> -t gosnn-bss2 .
# The vendor images are Singularity images on the Heidelberg/EBRAINS
# systems; convert one to a Docker image (or build the same steps with
# `singularity exec --app dls`), see README "BrainScaleS-2". Untested here:
# the vendor stack is not reachable from gosnn's build machines.
ARG BSS2_IMAGE=bss2-vendor-image-not-set

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# cgo stays on: the xla backend (PJRT plugins mounted at run time) needs it.
RUN go build -trimpath -o /out/gosnn ./cmd/gosnn

FROM debian:bookworm-slim AS plain
ENV GOMLX_NO_AUTO_INSTALL=1
COPY --from=build /out/gosnn /usr/local/bin/gosnn
ENTRYPOINT ["gosnn"]
CMD ["train", "yinyang", "--out", "/results"]

# The hardware variant: Go from the official image, everything else from
# the vendor's.
FROM ${BSS2_IMAGE} AS bss2
ARG BSS2_PREFIX=/opt/bss2
COPY --from=build /usr/local/go /usr/local/go
ENV PATH=/usr/local/go/bin:$PATH GOMLX_NO_AUTO_INSTALL=1 GOFLAGS=-mod=mod
WORKDIR /src
COPY --from=build /root/go/pkg/mod /root/go/pkg/mod
COPY . .
RUN make -C bss2/shim PREFIX=${BSS2_PREFIX} \
 && go build -tags bss2 -trimpath -o /usr/local/bin/gosnn ./cmd/gosnn
ENV LD_LIBRARY_PATH=/src/bss2/shim/build:${BSS2_PREFIX}/lib
ENTRYPOINT ["gosnn"]
CMD ["hw", "train", "yinyang", "--backend", "chip", "--calibration", "/results/calibration.json", "--out", "/results"]

# The default target stays the plain image.
FROM plain
