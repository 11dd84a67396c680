# Prometheus for the tests, where no registry can be reached: Debian's /usr/bin/prometheus and
# the shared libraries `ldd` lists for it, laid out in the build context at their own paths:
#
#   ctx=/tmp/prometheus-image
#   mkdir -p "$ctx/usr/bin" && cp /usr/bin/prometheus "$ctx/usr/bin/"
#   for lib in $(ldd /usr/bin/prometheus | grep -o '/[^ ]*'); do
#       mkdir -p "$ctx$(dirname "$lib")" && cp -L "$lib" "$ctx$lib"
#   done
#   docker build -f deploy/static/prometheus.Dockerfile -t prometheus-debian "$ctx"
#
# The stack and compose files run prom/prometheus unless PROMETHEUS_IMAGE names this image.
FROM scratch
COPY . /
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
