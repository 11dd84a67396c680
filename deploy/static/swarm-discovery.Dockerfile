# The swarm-discovery image built offline: no base image, no registry, only a static binary.
# The build context is a directory holding that binary, named `swarm-discovery`:
#
#   RUSTFLAGS="-C target-feature=+crt-static" cargo build --release \
#       --target x86_64-unknown-linux-gnu -p swarm-discovery --bin swarm-discovery
#   mkdir -p /tmp/swarm-discovery-image
#   cp target/x86_64-unknown-linux-gnu/release/swarm-discovery /tmp/swarm-discovery-image/
#   docker build -f deploy/static/swarm-discovery.Dockerfile -t swarm-discovery /tmp/swarm-discovery-image
#
# With a registry at hand, discovery/Dockerfile builds the same program from source instead.
FROM scratch
COPY swarm-discovery /swarm-discovery
# Root, as in discovery/Dockerfile: /var/run/docker.sock is root:docker 0660 on the host.
ENTRYPOINT ["/swarm-discovery"]
# The original deployment's flags; the stack file's `command` replaces them.
CMD ["--network", "my_network", "--ignored-services", "prometheus,grafana"]
