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

# The image has no shell or curl: the binary checks its own API. Healthy
# means ready (GET /ready): the peer has a leader it heard from in the last
# 3 s, has applied every view committed so far, and can write its data dir.
# A peer still waiting to be added, cut off from the majority, or on a full
# disk is marked unhealthy (docker ps); compose stops nothing for it. With
# --api-token-reads the check sends $ROSTER_API_TOKEN.
#
# A group client (`roster client`) run from this image answers the same
# check for itself: ROSTER_CLIENT_HEALTH makes it serve GET /health and
# /ready on 127.0.0.1:8082 inside its container (nothing else listens there:
# a container runs one process), ready when it is in its group. A peer
# ignores the variable.
#
# Every 30 s, as Docker's default: each check is a process started in the
# container (runc's and the binary's start), about 27 ms of CPU charged to
# it; every 5 s that was 0.5 % of a core for an idle peer, more than the
# peer's own 0.3 %. Two failures in a row (about a minute) mark a peer
# unhealthy.
ENV ROSTER_CLIENT_HEALTH=127.0.0.1:8082
HEALTHCHECK --interval=30s --timeout=3s --start-period=15s --retries=2 \
    CMD ["/roster", "health"]

ENTRYPOINT ["/roster"]
CMD ["--help"]
