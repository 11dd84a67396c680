# The accountservice image built offline: no base image, no registry, only a static binary.
# The build context is a directory holding that binary, named `accountservice`:
#
#   RUSTFLAGS="-C target-feature=+crt-static" cargo build --release \
#       --target x86_64-unknown-linux-gnu -p accountservice --example accountservice
#   mkdir -p /tmp/accountservice-image
#   cp target/x86_64-unknown-linux-gnu/release/examples/accountservice /tmp/accountservice-image/
#   docker build -f deploy/static/accountservice.Dockerfile -t accountservice /tmp/accountservice-image
#
# With a registry at hand, deploy/Dockerfile builds the same service from source instead.
FROM scratch
COPY accountservice /accountservice
EXPOSE 6767
# Inside a container the service must listen on every interface, not only loopback.
ENV ACCOUNTSERVICE_ADDR=0.0.0.0:6767
ENTRYPOINT ["/accountservice"]
