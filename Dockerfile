# gosnn on the pure-Go backend: no cgo libraries and no plugin downloads.
#   docker build -t gosnn .
#   docker run --rm -v "$PWD/results:/results" gosnn train yinyang --out /results
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# cgo stays on: the xla backend (PJRT plugins mounted at run time) needs it.
RUN go build -trimpath -o /out/gosnn ./cmd/gosnn

FROM debian:bookworm-slim
ENV GOMLX_NO_AUTO_INSTALL=1
COPY --from=build /out/gosnn /usr/local/bin/gosnn
ENTRYPOINT ["gosnn"]
CMD ["train", "yinyang", "--out", "/results"]
