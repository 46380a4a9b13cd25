#!/usr/bin/env bash
# The container image's whole root filesystem: the (stripped) server binary, the shared
# libraries it links (glibc only with the default MCPK_STATIC_DEPS) and its dynamic loader,
# the CA bundle, passwd/group entries for the non-root user 65532, and an empty /tmp.
# Used by the Dockerfile's build stage and by image/build-oci.sh (no daemon), so both images
# have the same content. Usage: image/rootfs.sh BINARY DIR   (DIR must not exist yet)
set -euo pipefail
[ $# = 2 ] || { sed -n '2,6p' "$0" >&2; exit 2; }
BIN=$1 R=$2
[ ! -e "$R" ] || { echo "$R exists" >&2; exit 1; }
mkdir -p "$R"/usr/bin "$R"/etc/ssl/certs "$R"/usr/lib/ssl "$R"/tmp "$R"/var/run/secrets/kubernetes.io/serviceaccount
install -m 0755 "$BIN" "$R/usr/bin/mcp-kubernetes"
# Every library ldd resolves, and the loader, at the paths the binary asks for (the
# merged-/usr symlinks are not needed in an image this small).
ldd "$BIN" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u | while read -r lib; do
  cp -L --parents "$lib" "$R/"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$R/etc/ssl/certs/"
# OpenSSL's default locations (OPENSSLDIR /usr/lib/ssl) point at the bundle, as on Debian.
ln -s ../../../etc/ssl/certs/ca-certificates.crt "$R/usr/lib/ssl/cert.pem"
ln -s ../../../etc/ssl/certs "$R/usr/lib/ssl/certs"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$R/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$R/etc/group"
printf 'hosts: files dns\n' >"$R/etc/nsswitch.conf"
chmod 1777 "$R/tmp"
