# roster peer image. Builds offline: FROM scratch, no base image to pull.
#
# Build with `make image`: it compiles a static binary (CGO_ENABLED=0) into
# bin/image/ and prepares bin/image/rootfs/ (an empty /tmp, mode 1777, for the
# peer's temporary data directory), then runs `docker build -t roster .`.
# .dockerignore keeps the build context to these files and hostsfile.txt.
FROM scratch

# `make image` removes the untagged images of earlier builds by this label.
LABEL org.opencontainers.image.title=roster

COPY bin/image/rootfs/ /
COPY bin/image/roster /roster
COPY hostsfile.txt /hostsfile.txt

WORKDIR /
# Non-root; scratch has no /etc/passwd, so the user is numeric.
USER 65532:65532

# 8080 Raft, 8081 memberlist (UDP probes, TCP push/pull), 8082 HTTP API.
EXPOSE 8080/tcp 8081/tcp 8081/udp 8082/tcp

# The image has no shell or curl: the binary checks its own API.
HEALTHCHECK --interval=5s --timeout=3s --start-period=15s --retries=3 \
    CMD ["/roster", "health"]

ENTRYPOINT ["/roster"]
CMD ["--help"]
