# The server image: built on Debian bookworm with the project's own dependency script, run from
# an image holding only the stripped binary, the libraries it links (glibc), CA certificates and
# a non-root user (image/rootfs.sh; CI builds the same root filesystem without a daemon,
# image/build-oci.sh).
#   docker build -t mcp-kubernetes:0.1.0 .
#   docker run --rm -p 8080:8080 -v ~/.kube/config:/kubeconfig:ro -e KUBECONFIG=/kubeconfig \
#     mcp-kubernetes:0.1.0 serve --transport=streamable-http --http-addr=:8080
FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY CMakeLists.txt LICENSE README.md CHANGELOG.md ./
COPY cmake cmake
COPY src src
COPY image image
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMCPK_BUILD_TESTS=OFF \
 && cmake --build /build --target mcp-kubernetes \
 && DESTDIR=/install cmake --install /build --strip --prefix /usr \
 && image/rootfs.sh /install/usr/bin/mcp-kubernetes /rootfs

FROM scratch
COPY --from=build /rootfs/ /
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/usr/bin/mcp-kubernetes"]
CMD ["serve", "--transport=streamable-http", "--http-addr=:8080", "--in-cluster"]
